//! Faults scoped to one scenario's requests: they act only on the HTTP requests whose
//! baggage names the scenario ([`crate::mark`]) and on their answers. Every other
//! request on the link, on the same keep-alive connection or not, passes byte for byte.
//! Several scenarios may each have their own scoped fault on one link at once, beside
//! the link-wide fault ([`crate::Fault`]), which acts on everything.
//!
//! Like the link-wide faults, each is data with the direction it acts on, one module
//! each; it is decided when a request's head has passed, and applied to that request or
//! to the start of its answer. [`ScopedFault::None`] heals a scenario.

pub(crate) mod abort;
pub(crate) mod drop_answer;
pub(crate) mod hold_answer;
pub(crate) mod latency;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Direction;

/// A fault on one scenario's requests, in its wire form on the control API
/// (`PUT /internal/fault/scoped/{scenario}` with `{"mode": "abort", "status": 503}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum ScopedFault {
    /// The scenario's requests pass: healed.
    #[default]
    None,
    /// See [`latency`].
    Latency {
        /// Milliseconds each answer is held before it is forwarded.
        ms: u64,
    },
    /// See [`abort`].
    Abort {
        /// The status the proxy answers with, 200 to 599.
        status: u16,
    },
    /// See [`drop_answer`].
    DropAnswer,
    /// See [`hold_answer`].
    HoldAnswer {
        /// Milliseconds an answer is held at most; without it, until healed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ms: Option<u64>,
    },
}

impl ScopedFault {
    /// The direction the fault acts on (none for [`ScopedFault::None`]).
    pub(crate) fn directions(self) -> &'static [Direction] {
        match self {
            ScopedFault::None => &[],
            ScopedFault::Latency { .. } => latency::DIRECTIONS,
            ScopedFault::Abort { .. } => abort::DIRECTIONS,
            ScopedFault::DropAnswer => drop_answer::DIRECTIONS,
            ScopedFault::HoldAnswer { .. } => hold_answer::DIRECTIONS,
        }
    }

    /// Why the fault cannot be applied, if it cannot.
    pub(crate) fn check(self) -> Result<(), abort::BadStatus> {
        match self {
            ScopedFault::Abort { status } => abort::check(status),
            _ => Ok(()),
        }
    }

    /// What becomes of a request of `scenario` and its answer, decided as its head
    /// passes.
    pub(crate) fn plan(self, scenario: &str, now: Instant) -> Plan {
        match self {
            ScopedFault::None => Plan::Pass,
            ScopedFault::Latency { ms } => latency::plan(ms),
            ScopedFault::Abort { status } => abort::plan(status, scenario),
            ScopedFault::DropAnswer => drop_answer::PLAN,
            ScopedFault::HoldAnswer { ms } => hold_answer::plan(scenario, ms, now),
        }
    }
}

/// What the proxy does with one request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Forward both untouched.
    Pass,
    /// Keep the request from the callee and answer it with these bytes.
    Answer(Vec<u8>),
    /// Forward the answer this long after it starts to arrive.
    Delay(Duration),
    /// Cut the connection when the answer starts to arrive.
    Cut,
    /// Keep the answer until the scenario's hold is healed, or until the deadline.
    Hold {
        scenario: String,
        until: Option<Instant>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_faults_have_a_small_json_form() {
        for (json, fault) in [
            (r#"{"mode":"none"}"#, ScopedFault::None),
            (
                r#"{"mode":"latency","ms":250}"#,
                ScopedFault::Latency { ms: 250 },
            ),
            (
                r#"{"mode":"abort","status":503}"#,
                ScopedFault::Abort { status: 503 },
            ),
            (r#"{"mode":"dropanswer"}"#, ScopedFault::DropAnswer),
            (
                r#"{"mode":"holdanswer"}"#,
                ScopedFault::HoldAnswer { ms: None },
            ),
            (
                r#"{"mode":"holdanswer","ms":2000}"#,
                ScopedFault::HoldAnswer { ms: Some(2000) },
            ),
        ] {
            assert_eq!(serde_json::from_str::<ScopedFault>(json).unwrap(), fault);
            assert_eq!(serde_json::to_string(&fault).unwrap(), json);
        }
        assert!(serde_json::from_str::<ScopedFault>(r#"{"mode":"blackhole"}"#).is_err());
    }

    #[test]
    fn only_an_abort_keeps_the_request_from_the_callee() {
        assert_eq!(
            ScopedFault::Abort { status: 503 }.directions(),
            [Direction::Requests]
        );
        for f in [
            ScopedFault::Latency { ms: 1 },
            ScopedFault::DropAnswer,
            ScopedFault::HoldAnswer { ms: None },
        ] {
            assert_eq!(f.directions(), [Direction::Answers], "{f:?}");
        }
        assert!(ScopedFault::None.directions().is_empty());
        assert!(ScopedFault::Abort { status: 99 }.check().is_err());
        assert!(ScopedFault::Abort { status: 600 }.check().is_err());
        assert!(ScopedFault::Abort { status: 503 }.check().is_ok());
    }
}
