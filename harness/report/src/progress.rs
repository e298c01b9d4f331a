//! What a run reports on the console: one line per scenario as it finishes (printed by
//! the [`Recorder`](crate::Recorder), which keeps the run's record), with its
//! duration and, on failure, what was expected, what was seen and where; and the
//! [`Summary`] the runner prints and turns into an exit code.

use std::io::Write as _;
use std::time::Duration;

use cucumber::event;
use cucumber::gherkin;

use crate::{ScenarioRecord, Verdict};

/// Everything a run reports.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub scenarios: Vec<ScenarioRecord>,
    pub parse_errors: Vec<String>,
}

impl Summary {
    /// How many scenarios have this [verdict](ScenarioRecord::verdict).
    pub(crate) fn count(&self, verdict: Verdict) -> usize {
        crate::count(&self.scenarios, verdict)
    }

    pub fn passed(&self) -> usize {
        self.count(Verdict::Passed)
    }

    /// Scenarios that failed by themselves (not [cancelled](Self::cancelled)).
    pub fn failed(&self) -> usize {
        self.count(Verdict::Failed)
    }

    /// Scenarios a fail-fast run stopped before their verdict ([`qalens_engine::stop`]).
    pub fn cancelled(&self) -> usize {
        self.count(Verdict::Cancelled)
    }

    /// True only when at least one scenario ran, every one passed, and every file parsed.
    pub fn success(&self) -> bool {
        !self.scenarios.is_empty()
            && self.passed() == self.scenarios.len()
            && self.parse_errors.is_empty()
    }

    /// `(lens, passed, failed, total time)` per lens, sorted by lens.
    pub fn by_lens(&self) -> Vec<(String, usize, usize, Duration)> {
        crate::tally(&self.scenarios, |s| s.lens.clone())
            .into_iter()
            .map(|(k, (p, f, d))| (k, p, f, d))
            .collect()
    }
}

/// Prints one finished scenario: a line with its verdict and duration, and on failure
/// where and why.
pub(crate) fn print_result(r: &ScenarioRecord) {
    let mut out = std::io::stdout().lock();
    let verdict = r.verdict();
    let _ = writeln!(
        out,
        "{} [{}] {} › {} ({:.2} s)",
        mark(verdict),
        r.lens,
        r.feature,
        r.name,
        r.duration().as_secs_f64()
    );
    match verdict {
        Verdict::Passed => {}
        Verdict::Cancelled => {
            let _ = writeln!(
                out,
                "     at {}: {}",
                r.location,
                qalens_engine::stop::CANCELLED
            );
        }
        Verdict::Failed => {
            if let Some(f) = r.failure() {
                let _ = writeln!(out, "     at {}\n{}", r.location, indent(&f));
            }
        }
    }
    let _ = out.flush();
}

/// A verdict as the console line starts with it.
pub(crate) fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "PASS",
        Verdict::Failed => "FAIL",
        Verdict::Cancelled => "CANCELLED",
    }
}

pub(crate) fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("     {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn panic_text(info: &event::Info) -> String {
    if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "(no message)".into()
    }
}

pub fn step_error(err: &event::StepError) -> String {
    match err {
        event::StepError::Panic(info) => panic_text(info),
        other => other.to_string(),
    }
}

/// The first tag that names a lens (not a scheduling tag: `@serial`, `@uses:`,
/// `@disrupts:`): the scenario's, then the rule's, then the feature's.
pub(crate) fn lens_of(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> String {
    scenario
        .tags
        .iter()
        .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
        .chain(feature.tags.iter())
        .map(|t| t.trim_start_matches('@'))
        .find(|t| !qalens_engine::scheduler::is_scheduling_tag(t))
        .unwrap_or("untagged")
        .to_string()
}
