//! The command identity mode: `x-qalens.identity.command` is an argv (no shell unless it
//! names one) that prints a token for a client. `{client}`, `{tier}` and `{scope}` in its
//! arguments are replaced, and the same values are in its environment as `QALENS_CLIENT`,
//! `QALENS_TIER` and `QALENS_SCOPE`; it runs in the system file's directory. Its trimmed
//! stdout is the token. A non-zero exit, an empty output or a run longer than
//! [`COMMAND_DEADLINE`] is an error naming the command and quoting its stderr.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::Who;

/// How long the command may take to print a token.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(10);

/// The most of its stderr a message quotes.
const STDERR_SHOWN: usize = 2000;

pub(super) struct TokenCommand {
    argv: Vec<String>,
    dir: PathBuf,
    deadline: Duration,
    /// Tokens already printed, by client, tier and scope.
    cache: Mutex<HashMap<(String, String, String), String>>,
}

impl TokenCommand {
    pub(super) fn new(argv: Vec<String>, dir: PathBuf) -> Self {
        Self::with_deadline(argv, dir, COMMAND_DEADLINE)
    }

    pub(super) fn with_deadline(argv: Vec<String>, dir: PathBuf, deadline: Duration) -> Self {
        Self {
            argv,
            dir,
            deadline,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The command as a message shows it.
    pub(super) fn shown(&self) -> String {
        format!(
            "`{}`",
            shlex::try_join(self.argv.iter().map(String::as_str))
                .unwrap_or_else(|_| self.argv.join(" "))
        )
    }

    /// The token for `who`: from the cache, or by running the command once.
    pub(super) fn token(&self, who: &Who, file: &str) -> Result<String, String> {
        let key = (
            who.client.to_string(),
            who.tier_name().to_string(),
            who.scope.to_string(),
        );
        if let Some(t) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(t.clone());
        }
        let token = self.run(who).map_err(|e| {
            format!(
                "the identity command {} (x-qalens.identity.command in {file}) {e}",
                self.shown()
            )
        })?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, token.clone());
        Ok(token)
    }

    /// Runs the command for `who`; the error completes "the identity command ... ".
    fn run(&self, who: &Who) -> Result<String, String> {
        let argv: Vec<String> = self.argv.iter().map(|a| who.fill(a)).collect();
        let (program, args) = argv.split_first().ok_or("is empty")?;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .env("QALENS_CLIENT", who.client)
            .env("QALENS_TIER", who.tier_name())
            .env("QALENS_SCOPE", who.scope)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start: {e}"))?;
        // Both pipes are read to their end on threads of their own, so a chatty stderr
        // cannot block the command; this thread waits for both with the deadline.
        let (tx, rx) = mpsc::channel();
        for (stream, pipe) in [
            (
                0,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
            (
                1,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut bytes = vec![];
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut bytes);
                }
                let _ = tx.send((stream, bytes));
            });
        }
        let until = Instant::now() + self.deadline;
        let mut out = [vec![], vec![]];
        for _ in 0..2 {
            match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok((stream, bytes)) => out[stream] = bytes,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "did not finish within {} s and was killed",
                        self.deadline.as_secs_f64()
                    ));
                }
            }
        }
        // Both pipes are closed: the command has exited or is about to.
        let status = child
            .wait()
            .map_err(|e| format!("could not be waited on: {e}"))?;
        let [stdout, stderr] = out;
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        let stderr: String = stderr.chars().take(STDERR_SHOWN).collect();
        let said = if stderr.is_empty() {
            "its stderr was empty".to_string()
        } else {
            format!("its stderr:\n{stderr}")
        };
        if !status.success() {
            return Err(format!(
                "failed ({status}) for client {}; {said}",
                who.client
            ));
        }
        let token = String::from_utf8_lossy(&stdout).trim().to_string();
        if token.is_empty() {
            return Err(format!(
                "printed no token for client {}; {said}",
                who.client
            ));
        }
        if token.contains(char::is_whitespace) {
            return Err(format!(
                "printed more than one word for client {} (a token has no spaces): {token:?}",
                who.client
            ));
        }
        Ok(token)
    }
}
