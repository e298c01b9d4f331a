//! Ready checks, each waited on with a deadline: a `healthcheck` run through Docker's exec
//! API (with Compose's interval, timeout, retries and start period), a log line, or just
//! a running container. A container that exits while being waited on fails at once.

use std::time::Duration;

use futures::StreamExt as _;
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::{InspectContainerOptions, LogsOptions};
use tokio::time::Instant;

use super::TopologyError;
use super::components::Ready;
use crate::clients::exec;
use qalens_model::system::{Healthcheck, ReadyLog, Stream};

/// Waits until container `id` (called `name` in messages) is ready, or fails at `deadline`.
/// A log line counts only if printed at or after `since` (Unix seconds; 0 for the whole
/// log), so a container started again is not taken as ready by its previous run's line.
pub(super) async fn wait(
    docker: &Docker,
    id: &str,
    name: &str,
    ready: &Ready,
    deadline: Duration,
    since: i32,
) -> Result<(), TopologyError> {
    let wait = async {
        match ready {
            Ready::Log(log) => wait_log(docker, id, name, log, since).await,
            Ready::Health(h) => wait_healthy(docker, id, name, h).await,
            Ready::Running => ensure_running(docker, id, name).await,
        }
    };
    tokio::time::timeout(deadline, wait)
        .await
        .map_err(|_| TopologyError::NotReady {
            name: name.to_string(),
            deadline,
            waiting: describe(ready),
        })?
}

fn describe(ready: &Ready) -> String {
    match ready {
        Ready::Log(l) => format!("waiting for {:?} on {:?}", l.log, l.stream),
        Ready::Health(h) => format!("healthcheck {:?}", h.test),
        Ready::Running => "waiting for it to run".into(),
    }
}

async fn ensure_running(docker: &Docker, id: &str, name: &str) -> Result<(), TopologyError> {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|cause| TopologyError::Inspecting {
            name: name.to_string(),
            cause,
        })?;
    let state = info.state.unwrap_or_default();
    if state.running != Some(true) {
        return Err(TopologyError::NotRunning {
            name: name.to_string(),
            exit_code: state.exit_code,
        });
    }
    Ok(())
}

/// Follows the container's log from its start until `log.log` appears on its stream.
async fn wait_log(
    docker: &Docker,
    id: &str,
    name: &str,
    log: &ReadyLog,
    since: i32,
) -> Result<(), TopologyError> {
    let mut stream = docker.logs(
        id,
        Some(LogsOptions {
            follow: true,
            stdout: log.stream == Stream::Stdout,
            stderr: log.stream == Stream::Stderr,
            tail: "all".into(),
            since,
            ..Default::default()
        }),
    );
    let mut seen = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|cause| TopologyError::ReadingLog {
            name: name.to_string(),
            cause,
        })?;
        seen.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        if seen.contains(&log.log) {
            return Ok(());
        }
        // Keep only what a line split across chunks needs.
        let keep = seen.len().saturating_sub(log.log.len() * 4 + 4096);
        if keep > 0
            && let Some((at, _)) = seen.char_indices().find(|(i, _)| *i >= keep)
        {
            seen.drain(..at);
        }
    }
    // The log ends when the container stops.
    ensure_running(docker, id, name).await?;
    Err(TopologyError::LogEnded {
        name: name.to_string(),
        log: log.log.clone(),
    })
}

/// Runs the healthcheck every `interval` until it passes; after `start_period`, `retries`
/// failures in a row make the container unhealthy.
async fn wait_healthy(
    docker: &Docker,
    id: &str,
    name: &str,
    h: &Healthcheck,
) -> Result<(), TopologyError> {
    let started = Instant::now();
    let mut failures = 0u32;
    let mut ticks = tokio::time::interval(h.interval.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        ensure_running(docker, id, name).await?;
        let outcome = tokio::time::timeout(h.timeout, exec::run(docker, id, name, &h.test)).await;
        let why = match outcome {
            Ok(Ok(run)) => match run.exit_code {
                Some(0) => return Ok(()),
                Some(code) => format!("exit code {code}{}", said(&run)),
                None => "it finished without an exit code".to_string(),
            },
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {:?}", h.timeout),
        };
        if started.elapsed() >= h.start_period {
            failures += 1;
            if failures >= h.retries.max(1) {
                return Err(TopologyError::Unhealthy {
                    name: name.to_string(),
                    test: h.test.clone(),
                    failures,
                    last: why,
                });
            }
        }
    }
}

/// The last line a failed healthcheck printed (stderr first), for the message.
fn said(run: &exec::Finished) -> String {
    [&run.stderr, &run.stdout]
        .into_iter()
        .find_map(|out| out.lines().rev().map(str::trim).find(|l| !l.is_empty()))
        .map(|line| format!(": {}", line.chars().take(200).collect::<String>()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_healthcheck_quotes_its_last_line_stderr_first() {
        let run = |stdout: &str, stderr: &str| exec::Finished {
            exit_code: Some(1),
            stdout: stdout.into(),
            stderr: stderr.into(),
        };
        assert_eq!(
            said(&run("ok\n", "curl: (7) refused\n\n")),
            ": curl: (7) refused"
        );
        assert_eq!(said(&run("starting\nnot yet\n", "")), ": not yet");
        assert_eq!(said(&run("", " \n")), "");
    }
}
