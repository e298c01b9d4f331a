//! Running a command inside a container, through the Docker exec API: create the exec,
//! start it attached, read its output to the end (the command has finished when its
//! output ends), then ask Docker for its exit code. The nemesis (a broker's clean stop,
//! the clock a container sees) and the topology's healthchecks all run commands this way.

use std::fmt;

use futures::StreamExt as _;
use testcontainers::bollard::Docker;
use testcontainers::bollard::container::LogOutput;
use testcontainers::bollard::exec::StartExecResults;
use testcontainers::bollard::models::ExecConfig;

/// How a command run in a container ended and what it printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Finished {
    /// `None` when Docker knows no exit code (the container stopped under the command).
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Adds one chunk of the command's output to the stream it came from.
    fn push(&mut self, chunk: &LogOutput) {
        match chunk {
            LogOutput::StdErr { .. } => self.stderr.push_str(&chunk.to_string()),
            LogOutput::StdOut { .. } | LogOutput::Console { .. } => {
                self.stdout.push_str(&chunk.to_string());
            }
            LogOutput::StdIn { .. } => {}
        }
    }
}

/// Which part of running a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Create,
    Start,
    /// Reading its output: a container that stops under the command can end it this way.
    Output,
    /// Asking Docker for its exit code once its output ended.
    Inspect,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Create => "creating the exec",
            Stage::Start => "starting it",
            Stage::Output => "reading its output",
            Stage::Inspect => "reading its exit code",
        })
    }
}

/// A command that could not be run (or followed to its end) in a container; the message
/// names the container and the command.
#[derive(Debug, thiserror::Error)]
#[error("running {command} in {container}: {stage}: {cause}")]
pub struct ExecError {
    /// The container's name, as messages show it.
    pub container: String,
    /// The command, quoted as a shell would take it.
    pub command: String,
    pub stage: Stage,
    cause: testcontainers::bollard::errors::Error,
}

/// `cmd` as a message shows it: `` `rabbitmqctl stop` ``.
pub(crate) fn shown(cmd: &[String]) -> String {
    format!(
        "`{}`",
        shlex::try_join(cmd.iter().map(String::as_str)).unwrap_or_else(|_| cmd.join(" "))
    )
}

/// Runs `cmd` (an argv, no shell unless it names one) in container `id`, called `name` in
/// messages, and waits until it ends: its exit code and output. A non-zero exit code is
/// not an error here; the caller decides what it means.
pub(crate) async fn run(
    docker: &Docker,
    id: &str,
    name: &str,
    cmd: &[String],
) -> Result<Finished, ExecError> {
    let fail = |stage| {
        move |cause| ExecError {
            container: name.to_string(),
            command: shown(cmd),
            stage,
            cause,
        }
    };
    let exec = docker
        .create_exec(
            id,
            ExecConfig {
                cmd: Some(cmd.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(fail(Stage::Create))?;
    let mut finished = Finished::default();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&exec.id, None)
        .await
        .map_err(fail(Stage::Start))?
    {
        while let Some(chunk) = output.next().await {
            finished.push(&chunk.map_err(fail(Stage::Output))?);
        }
    }
    finished.exit_code = docker
        .inspect_exec(&exec.id)
        .await
        .map_err(fail(Stage::Inspect))?
        .exit_code;
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_goes_to_the_stream_it_came_from() {
        let mut f = Finished::default();
        for chunk in [
            LogOutput::StdOut {
                message: "17".into(),
            },
            LogOutput::StdErr {
                message: "libfaketime: warning\n".into(),
            },
            LogOutput::Console {
                message: "64\n".into(),
            },
        ] {
            f.push(&chunk);
        }
        assert_eq!(f.stdout, "1764\n");
        assert_eq!(f.stderr, "libfaketime: warning\n");
    }

    #[tokio::test]
    async fn an_error_names_the_container_the_command_and_the_stage() {
        // An engine address on loopback where nothing listens: creating the exec fails.
        let docker = Docker::connect_with_http(
            "http://127.0.0.1:1",
            5,
            testcontainers::bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let cmd = ["sh".to_string(), "-c".into(), "exit 3".into()];
        let e = run(&docker, "0123abcd", "run1-broker", &cmd)
            .await
            .unwrap_err();
        assert_eq!(e.stage, Stage::Create);
        let text = e.to_string();
        assert!(
            text.starts_with("running `sh -c 'exit 3'` in run1-broker: creating the exec: "),
            "{text}"
        );
    }
}
