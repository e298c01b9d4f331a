//! The run's fault log: which fault touched which component or link, from when to when.
//! The nemesis appends to it; the HTML report draws it as spans over the scenarios.

use std::sync::Mutex;
use std::time::SystemTime;

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

/// The faults a run applied, in the order it applied them ([`crate::context::Run::faults`]).
#[derive(Debug, Default)]
pub struct FaultLog(Mutex<Vec<FaultSpan>>);

impl FaultLog {
    /// Records that a fault of `kind` now acts on `target`; a fault still open on the same
    /// target ends here (a link has one fault at a time; a paused container then killed is
    /// drawn as two spans).
    pub fn applied(&self, target: &str, kind: &str) {
        self.applied_at(target, kind, SystemTime::now());
    }

    /// [`FaultLog::applied`], from `now` (when the step began applying it: stopping a container
    /// can take seconds).
    pub fn applied_at(&self, target: &str, kind: &str, now: SystemTime) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        close(&mut log, target, now);
        log.push(FaultSpan {
            target: target.to_string(),
            kind: kind.to_string(),
            applied: now,
            healed: None,
        });
    }

    /// Records that the faults on `target` were undone.
    pub fn healed(&self, target: &str) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        close(&mut log, target, SystemTime::now());
    }

    /// Every fault recorded since the last call, leaving the log empty.
    pub fn take(&self) -> Vec<FaultSpan> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn close(log: &mut [FaultSpan], target: &str, at: SystemTime) {
    for f in log.iter_mut() {
        if f.target == target && f.healed.is_none() {
            f.healed = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_open_until_healed_or_replaced_on_the_same_target() {
        let log = FaultLog::default();
        let t0 = SystemTime::now();
        log.applied_at("ledger", "paused", t0);
        log.applied("api-ledger", "adds 300 ms of latency");
        log.applied("api-ledger", "black-holes traffic");
        log.healed("ledger");
        let spans = log.take();
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].applied, t0);
        assert!(spans[0].healed.is_some(), "healed");
        assert_eq!(
            spans[1].healed,
            Some(spans[2].applied),
            "replaced by the next fault"
        );
        assert_eq!(spans[2].healed, None, "still in effect");
        assert!(log.take().is_empty(), "taking empties the log");
    }
}
