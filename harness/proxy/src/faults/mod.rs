//! The faults the proxy injects, one module each, as Toxiproxy has one file per toxic.
//! A fault is data: its parameters, the directions it acts on ([`Fault::directions`]),
//! and what it does to a chunk going one of those ways (an `Action`). A chunk going the
//! other way passes untouched. One fault is in effect at a time; [`Fault::None`] heals.
//! Beside it, each scenario may have a fault on its own requests ([`scoped`]).

mod blackhole;
mod drop_answers;
mod hold_answers;
mod latency;
mod reset;
pub(crate) mod scoped;

pub use scoped::ScopedFault;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The fault the proxy injects now, in its wire form on the control API
/// (`{"mode": "latency", "ms": 250}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Fault {
    /// Everything passes: the link is healed.
    #[default]
    None,
    /// See [`latency`].
    Latency {
        /// Milliseconds each chunk is held, in each direction.
        ms: u64,
    },
    /// See [`blackhole`].
    Blackhole,
    /// See [`reset`].
    Reset,
    /// See [`hold_answers`].
    HoldAnswers,
    /// See [`drop_answers`].
    DropAnswers,
}

/// Which way traffic flows: requests from the caller to the callee, answers back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Requests,
    Answers,
}

/// Both directions, for the faults that act on the whole link.
const BOTH: &[Direction] = &[Direction::Requests, Direction::Answers];

/// What the proxy does with a chunk that arrived while a fault acts on its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Forward it now.
    Forward,
    /// Forward it after this long.
    Delay(Duration),
    /// Keep it until the fault changes, then ask again.
    Hold,
    /// Drop it and cut the connection with a TCP reset.
    Cut,
}

impl Fault {
    /// The directions the fault acts on.
    pub(crate) fn directions(self) -> &'static [Direction] {
        match self {
            Fault::None => &[],
            Fault::Latency { .. } => latency::DIRECTIONS,
            Fault::Blackhole => blackhole::DIRECTIONS,
            Fault::Reset => reset::DIRECTIONS,
            Fault::HoldAnswers => hold_answers::DIRECTIONS,
            Fault::DropAnswers => drop_answers::DIRECTIONS,
        }
    }

    /// What happens to a chunk going `direction` while the fault is in effect.
    pub(crate) fn on_chunk(self, direction: Direction) -> Action {
        if !self.directions().contains(&direction) {
            return Action::Forward;
        }
        match self {
            Fault::None => Action::Forward,
            Fault::Latency { ms } => latency::on_chunk(ms),
            Fault::Blackhole => blackhole::ON_CHUNK,
            Fault::Reset => reset::ON_CHUNK,
            Fault::HoldAnswers => hold_answers::ON_CHUNK,
            Fault::DropAnswers => drop_answers::ON_CHUNK,
        }
    }

    /// Whether connections are cut the moment the fault is set, idle ones too, and new
    /// ones refused.
    pub(crate) fn cuts_connections(self) -> bool {
        self == Fault::Reset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_have_a_small_json_form() {
        let f: Fault = serde_json::from_str(r#"{"mode":"latency","ms":250}"#).unwrap();
        assert_eq!(f, Fault::Latency { ms: 250 });
        assert_eq!(
            serde_json::from_str::<Fault>(r#"{"mode":"reset"}"#).unwrap(),
            Fault::Reset
        );
        assert_eq!(
            serde_json::to_string(&Fault::None).unwrap(),
            r#"{"mode":"none"}"#
        );
        assert_eq!(
            serde_json::from_str::<Fault>(r#"{"mode":"dropanswers"}"#).unwrap(),
            Fault::DropAnswers
        );
        assert_eq!(
            serde_json::to_string(&Fault::HoldAnswers).unwrap(),
            r#"{"mode":"holdanswers"}"#
        );
        assert!(serde_json::from_str::<Fault>(r#"{"mode":"flood"}"#).is_err());
    }

    #[test]
    fn one_way_faults_let_requests_pass() {
        for fault in [Fault::HoldAnswers, Fault::DropAnswers] {
            assert_eq!(fault.directions(), &[Direction::Answers]);
            assert_eq!(fault.on_chunk(Direction::Requests), Action::Forward);
            assert_ne!(fault.on_chunk(Direction::Answers), Action::Forward);
        }
        assert_eq!(Fault::None.on_chunk(Direction::Answers), Action::Forward);
    }
}
