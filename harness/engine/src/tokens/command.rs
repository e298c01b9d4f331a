//! The command identity mode: `x-qalens.identity.command` is an argv (no shell unless it
//! names one) that prints a token for a client. `{client}`, `{tier}` and `{scope}` in its
//! arguments are replaced, and the same values are in its environment as `QALENS_CLIENT`,
//! `QALENS_TIER` and `QALENS_SCOPE`; it runs in the system file's directory. Its trimmed
//! stdout is the token. A non-zero exit, an empty output or a run longer than
//! [`COMMAND_DEADLINE`] is an error naming the command and quoting its stderr.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::process::Command;

use super::{CommandFailure, TokenError, Who};

/// How long the command may take to print a token.
pub(crate) const COMMAND_DEADLINE: Duration = Duration::from_secs(10);

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

    /// The token for `who` if the command already printed it; never runs the command.
    pub(super) fn cached(&self, who: &Who) -> Option<String> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key(who))
            .cloned()
    }

    /// The token for `who`: from the cache, or by running the command once. The command
    /// runs as a tokio child process: the caller's thread is free while it runs.
    pub(super) async fn token(&self, who: &Who<'_>, file: &str) -> Result<String, TokenError> {
        if let Some(t) = self.cached(who) {
            return Ok(t);
        }
        let token = self.run(who).await.map_err(|failure| TokenError::Command {
            command: self.shown(),
            file: file.to_string(),
            failure,
        })?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key(who), token.clone());
        Ok(token)
    }

    /// Runs the command for `who`; the error completes "the identity command ... ".
    async fn run(&self, who: &Who<'_>) -> Result<String, CommandFailure> {
        let argv: Vec<String> = self.argv.iter().map(|a| who.fill(a)).collect();
        let (program, args) = argv.split_first().ok_or(CommandFailure::Empty)?;
        let child = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .env("QALENS_CLIENT", who.client)
            .env("QALENS_TIER", who.tier_name())
            .env("QALENS_SCOPE", who.scope)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Past the deadline the wait below is dropped, and with it the child: killed.
            .kill_on_drop(true)
            .spawn()
            .map_err(CommandFailure::Start)?;
        // Both pipes are read to their end at once, so a chatty stderr cannot block it.
        let output = tokio::time::timeout(self.deadline, child.wait_with_output())
            .await
            .map_err(|_| CommandFailure::Timeout {
                secs: self.deadline.as_secs_f64(),
            })?
            .map_err(CommandFailure::Wait)?;
        let status = output.status;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let stderr: String = stderr.chars().take(STDERR_SHOWN).collect();
        let said = if stderr.is_empty() {
            "its stderr was empty".to_string()
        } else {
            format!("its stderr:\n{stderr}")
        };
        let client = who.client.to_string();
        if !status.success() {
            return Err(CommandFailure::Failed {
                status,
                client,
                said,
            });
        }
        let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if token.is_empty() {
            return Err(CommandFailure::NoToken { client, said });
        }
        if token.contains(char::is_whitespace) {
            return Err(CommandFailure::Words { client, token });
        }
        Ok(token)
    }
}

/// The cache key of `who`'s token: client, tier and scope.
fn key(who: &Who) -> (String, String, String) {
    (
        who.client.to_string(),
        who.tier_name().to_string(),
        who.scope.to_string(),
    )
}
