//! A schema registry's compatibility modes, mapped onto the diff's kinds.
//!
//! | mode | the new version is checked against | a change breaks when it | as the kind |
//! |---|---|---|---|
//! | `BACKWARD` | the latest version | narrows (readers on the new schema reject old data) | `request`, `headers` |
//! | `FORWARD` | the latest version | widens (readers on the old schema reject new data) | `response`, `message` |
//! | `FULL` | the latest version | narrows or widens | both at once |
//! | `BACKWARD_TRANSITIVE`, `FORWARD_TRANSITIVE`, `FULL_TRANSITIVE` | every earlier version | as above | as above |
//! | `NONE` | nothing | never | |
//!
//! A change that both narrows and widens breaks in every mode but `NONE`; a neutral one
//! (an unconstrained optional property added to an open object; under the lenient reading
//! any optional one) in none. Under a mode, a version bump
//! does not excuse a breaking change: as in a registry, every new version must be
//! compatible in the mode.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::walk::Effect;
use super::{Change, Compat, Kind, Reading, schema_changes};

/// A compatibility mode (see the module docs for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::Backward,
        Mode::BackwardTransitive,
        Mode::Forward,
        Mode::ForwardTransitive,
        Mode::Full,
        Mode::FullTransitive,
        Mode::None,
    ];

    /// The registry's name, e.g. `BACKWARD_TRANSITIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Backward => "BACKWARD",
            Mode::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Mode::Forward => "FORWARD",
            Mode::ForwardTransitive => "FORWARD_TRANSITIVE",
            Mode::Full => "FULL",
            Mode::FullTransitive => "FULL_TRANSITIVE",
            Mode::None => "NONE",
        }
    }

    /// Whether the new version is checked against every earlier one, not only the latest.
    pub fn transitive(self) -> bool {
        matches!(
            self,
            Mode::BackwardTransitive | Mode::ForwardTransitive | Mode::FullTransitive
        )
    }

    /// The kinds whose verdicts this mode takes: a narrowing breaks under `request`, a
    /// widening under `response`.
    pub fn kinds(self) -> &'static [Kind] {
        match self {
            Mode::Backward | Mode::BackwardTransitive => &[Kind::Request],
            Mode::Forward | Mode::ForwardTransitive => &[Kind::Response],
            Mode::Full | Mode::FullTransitive => &[Kind::Request, Kind::Response],
            Mode::None => &[],
        }
    }

    pub(super) fn compat(self, effect: Effect) -> Compat {
        if self
            .kinds()
            .iter()
            .any(|&k| effect.compat(k) == Compat::Breaking)
        {
            Compat::Breaking
        } else {
            Compat::Compatible
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    /// `BACKWARD`, `backward`, `backward-transitive`, `FULL_TRANSITIVE`, ...
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_uppercase().replace('-', "_");
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
                format!(
                    "unknown compatibility mode {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Compares two schemas of one contract under `mode` (single-file mode: no versions).
pub fn diff_schemas_in_mode(name: &str, mode: Mode, old: &Value, new: &Value) -> Vec<Change> {
    schema_changes(name, Rule::Mode(mode), Reading::EXACT, None, None, old, new)
}

/// Checks a new version of a contract against its history (earlier versions in any
/// order) as a registry would register it under `mode`: against the highest earlier
/// version, or every one when the mode is transitive. Each change names the two versions.
pub fn check_history(
    name: &str,
    mode: Mode,
    history: &[(u32, &Value)],
    new: (u32, &Value),
) -> Vec<Change> {
    let mut earlier: Vec<&(u32, &Value)> = history.iter().filter(|(v, _)| *v < new.0).collect();
    earlier.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
    if !mode.transitive() {
        earlier.truncate(1);
    }
    earlier
        .into_iter()
        .flat_map(|&(v, old)| {
            schema_changes(
                name,
                Rule::Mode(mode),
                Reading::EXACT,
                Some(v),
                Some(new.0),
                old,
                new.1,
            )
        })
        .collect()
}

/// How a change's effect becomes a verdict: by the contract's kind, or by a mode.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rule {
    Kind(Kind),
    Mode(Mode),
}

impl Rule {
    pub(super) fn compat(self, effect: Effect) -> Compat {
        match self {
            Rule::Kind(kind) => effect.compat(kind),
            Rule::Mode(mode) => mode.compat(effect),
        }
    }
}
