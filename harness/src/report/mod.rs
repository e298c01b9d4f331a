//! Reports a person reads: a single self-contained HTML page per run (`qalens run
//! --html PATH`), built from the run's own events.
//!
//! Three parts: a run-wide [fault log](fault_applied) that the fault steps append to
//! (which fault touched which component or link, from when to when), the [`Recorder`]
//! writer that turns cucumber's events into [`ScenarioRecord`]s (times, steps, errors,
//! attached component logs), and [`html::render`], a pure function from those to the page.

pub mod html;
pub mod matrix;
pub mod messages;
mod recorder;
pub mod verdicts;

use std::sync::Mutex;
use std::time::SystemTime;

pub use recorder::{
    Recorder, ScenarioRecord, StepRecord, StepStatus, Verdict, count, scenario_key, tally,
};

/// One fault as the run applied it: on what, which kind, from when until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpan {
    /// The component (`ledger`) or link (`api-ledger`) it touched.
    pub target: String,
    /// What was done: `paused`, `stopped`, `latency 300 ms`, `black-holes traffic`...
    pub kind: String,
    pub applied: SystemTime,
    /// `None` while it is in effect (a run that ended without healing it).
    pub healed: Option<SystemTime>,
}

static FAULTS: Mutex<Vec<FaultSpan>> = Mutex::new(Vec::new());

/// Records that a fault of `kind` now acts on `target`; a fault still open on the same
/// target ends here (a link has one fault at a time; a paused container then killed is
/// drawn as two spans).
pub fn fault_applied(target: &str, kind: &str) {
    fault_applied_at(target, kind, SystemTime::now());
}

/// [`fault_applied`], from `now` (when the step began applying it: stopping a container
/// can take seconds).
pub fn fault_applied_at(target: &str, kind: &str, now: SystemTime) {
    let mut log = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    close(&mut log, target, now);
    log.push(FaultSpan {
        target: target.to_string(),
        kind: kind.to_string(),
        applied: now,
        healed: None,
    });
}

/// Records that the faults on `target` were undone.
pub fn fault_healed(target: &str) {
    let mut log = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    close(&mut log, target, SystemTime::now());
}

fn close(log: &mut [FaultSpan], target: &str, at: SystemTime) {
    for f in log.iter_mut() {
        if f.target == target && f.healed.is_none() {
            f.healed = Some(at);
        }
    }
}

/// Every fault recorded since the last call, leaving the log empty.
pub fn take_faults() -> Vec<FaultSpan> {
    std::mem::take(&mut *FAULTS.lock().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The only test that touches the run-wide log.
    #[test]
    fn a_fault_is_open_until_healed_or_replaced_on_the_same_target() {
        take_faults();
        let t0 = SystemTime::now();
        fault_applied_at("ledger", "paused", t0);
        fault_applied("api-ledger", "adds 300 ms of latency");
        fault_applied("api-ledger", "black-holes traffic");
        fault_healed("ledger");
        let log = take_faults();
        assert_eq!(log.len(), 3);
        assert_eq!(log[0].applied, t0);
        assert!(log[0].healed.is_some(), "healed");
        assert_eq!(
            log[1].healed,
            Some(log[2].applied),
            "replaced by the next fault"
        );
        assert_eq!(log[2].healed, None, "still in effect");
        assert!(take_faults().is_empty(), "taking empties the log");
    }
}
