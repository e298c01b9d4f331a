//! The engine's errors: one enum per role ([`ClientError`], [`TokenError`],
//! [`NemesisError`], [`CheckError`], [`TopologyError`], [`CleanupError`],
//! [`ContractsError`], [`GiveBackError`], the [`Waited`] of a wait) and [`Error`], any of
//! them.
//!
//! Every error's message is complete: the cause is part of the text, as the command line
//! prints it, and no engine error also hands its cause out as
//! [`std::error::Error::source`], so no printer (`{e}`, `{e:#}`, anyhow's chain) shows a
//! cause twice or leaves one out. A cause from another crate (the Docker client, an I/O
//! error) is shown with its own causes (`Chain`) where the message reads as a chain
//! ("starting api: creating container run-api: Docker responded with ...").

use std::fmt;

pub use crate::checks::CheckError;
pub use crate::cleanup::CleanupError;
pub use crate::clients::ClientError;
pub use crate::contracts::ContractsError;
pub use crate::nemesis::NemesisError;
pub use crate::scheduler::GiveBackError;
pub use crate::tokens::TokenError;
pub use crate::topology::TopologyError;
pub use crate::wait::Waited;

/// Any error of the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Nemesis(#[from] NemesisError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
    #[error(transparent)]
    Contracts(#[from] ContractsError),
    #[error(transparent)]
    Scheduler(#[from] GiveBackError),
    #[error(transparent)]
    Waited(#[from] Waited),
}

impl Error {
    /// Whether the run's early stop ended a wait inside what failed.
    pub fn is_cancelled(&self) -> bool {
        match self {
            Error::Client(e) => e.is_cancelled(),
            Error::Nemesis(e) => e.is_cancelled(),
            Error::Check(e) => e.is_cancelled(),
            Error::Waited(e) => e.is_cancelled(),
            Error::Token(_)
            | Error::Topology(_)
            | Error::Cleanup(_)
            | Error::Contracts(_)
            | Error::Scheduler(_) => false,
        }
    }
}

/// An error and its causes, one after the other: `error: cause: cause of the cause`.
pub(crate) struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_shows_every_cause_as_anyhows_alternate_form_does() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(Chain(&e).to_string(), "outer: inner");
        assert_eq!(
            Chain(&e).to_string(),
            format!(
                "{:#}",
                anyhow::Error::new(Outer(std::io::Error::other("inner")))
            )
        );
        let io = std::io::Error::other("alone");
        assert_eq!(Chain(&io).to_string(), "alone");
    }
}
