//! What a diff reports: each [`Change`] and the verdict over all of them.

use std::fmt;

use serde::Serialize;

/// Whether a change can break a party that still follows the old schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compat {
    Compatible,
    Breaking,
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compat::Compatible => "compatible",
            Compat::Breaking => "BREAKING",
        })
    }
}

/// One difference between the old and the new side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The contract's name, e.g. `ChargeRequest`.
    pub contract: String,
    /// The old side's version (`None` when the contract is new, or in single-schema mode).
    pub old_version: Option<u32>,
    /// The new side's version (`None` when the contract was removed, or in single-schema mode).
    pub new_version: Option<u32>,
    /// JSON pointer into the new schema (into the old one's layout for what no longer
    /// exists), e.g. `/properties/amount_cents/minimum`; empty for the whole contract.
    /// Inside a `$ref` target it points into the target (e.g. `/$defs/Address/...`).
    pub pointer: String,
    /// A sentence saying what changed, naming the instance field, e.g.
    /// "`currency` became required".
    pub what: String,
    pub compat: Compat,
}

impl Change {
    /// Whether the contract's version went up (which allows a breaking change).
    pub fn version_bumped(&self) -> bool {
        matches!((self.old_version, self.new_version), (Some(old), Some(new)) if new > old)
    }

    /// A breaking change without a version bump: it fails CI.
    pub fn is_unbumped_breaking(&self) -> bool {
        self.compat == Compat::Breaking && !self.version_bumped()
    }
}

fn show_version(version: Option<u32>) -> String {
    version.map_or_else(|| "-".to_owned(), |v| format!("v{v}"))
}

impl fmt::Display for Change {
    /// `BREAKING ChargeRequest v1 -> v1 /properties/currency: `currency` became required (bump the version)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} -> {}",
            self.compat,
            self.contract,
            show_version(self.old_version),
            show_version(self.new_version)
        )?;
        if !self.pointer.is_empty() {
            write!(f, " {}", self.pointer)?;
        }
        write!(f, ": {}", self.what)?;
        if self.compat == Compat::Breaking {
            if self.version_bumped() {
                f.write_str(" (allowed: version bumped)")?;
            } else if self.old_version.is_some() && self.new_version.is_some() {
                f.write_str(" (bump the version)")?;
            }
        }
        Ok(())
    }
}

/// Every change between two sides, grouped by contract name (sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub changes: Vec<Change>,
}

impl DiffReport {
    /// Breaking changes of contracts whose version was not bumped (new version <= old, or
    /// no new version at all: a removed contract): these fail CI.
    pub fn unbumped_breaking(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.is_unbumped_breaking())
            .collect()
    }

    /// Every breaking change, allowed by a version bump or not.
    pub fn breaking(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.compat == Compat::Breaking)
            .collect()
    }

    /// The one-line verdict: "2 breaking changes without a version bump: ChargeRequest,
    /// Order" or "no breaking change without a version bump".
    pub fn verdict(&self) -> String {
        let unbumped = self.unbumped_breaking();
        if unbumped.is_empty() {
            return "no breaking change without a version bump".to_owned();
        }
        let mut names: Vec<&str> = Vec::new();
        for change in &unbumped {
            if !names.contains(&change.contract.as_str()) {
                names.push(&change.contract);
            }
        }
        let plural = if unbumped.len() == 1 { "" } else { "s" };
        format!(
            "{} breaking change{plural} without a version bump: {}",
            unbumped.len(),
            names.join(", ")
        )
    }

    /// One line per change, a summary line, and the verdict as the last line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            out.push_str(&change.to_string());
            out.push('\n');
        }
        let breaking = self.breaking().len();
        let allowed = breaking - self.unbumped_breaking().len();
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        } else {
            out.push_str(&format!(
                "{} change{}: {} compatible, {breaking} breaking ({allowed} allowed by a version bump)\n",
                self.changes.len(),
                if self.changes.len() == 1 { "" } else { "s" },
                self.changes.len() - breaking,
            ));
        }
        out.push_str(&self.verdict());
        out
    }
}

impl DiffReport {
    /// The report of [`super::diff_docs_in_mode`]: one line per change (a version bump
    /// excuses nothing under a mode), a summary line, and the verdict as the last line.
    pub fn render_in_mode(&self, mode: super::Mode) -> String {
        let mut out = String::new();
        for c in &self.changes {
            out.push_str(&format!(
                "{} {} {} -> {}",
                c.compat,
                c.contract,
                show_version(c.old_version),
                show_version(c.new_version)
            ));
            if !c.pointer.is_empty() {
                out.push_str(&format!(" {}", c.pointer));
            }
            out.push_str(&format!(": {}\n", c.what));
        }
        let breaking = self.breaking();
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        } else {
            out.push_str(&format!(
                "{} change{}: {} compatible, {} breaking under {mode}\n",
                self.changes.len(),
                if self.changes.len() == 1 { "" } else { "s" },
                self.changes.len() - breaking.len(),
                breaking.len(),
            ));
        }
        if breaking.is_empty() {
            out.push_str(&format!("compatible under {mode}"));
        } else {
            let mut names: Vec<&str> = Vec::new();
            for change in &breaking {
                if !names.contains(&change.contract.as_str()) {
                    names.push(&change.contract);
                }
            }
            let verb = if breaking.len() == 1 {
                "change breaks"
            } else {
                "changes break"
            };
            out.push_str(&format!(
                "{} {verb} {mode} compatibility: {}",
                breaking.len(),
                names.join(", ")
            ));
        }
        out
    }
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}
