//! qalens's reports, made from one record of the run's events. The [`Recorder`] is the
//! cucumber writer that turns events into [`ScenarioRecord`]s (times, steps, errors,
//! attached component logs) and prints the console lines ([`progress`]). From that record
//! come the HTML page ([`html::render`], a pure function) and the Cucumber Messages
//! ([`messages`]); JUnit and Cucumber JSON are cucumber's own writers, shown cancelled
//! scenarios as skipped ([`verdicts`]). [`attach`] adds the components' logs to a failed
//! scenario; [`retime`] starts a scenario's clock when the scheduler granted it.

#![warn(unreachable_pub)]

pub mod attach;
pub mod html;
pub mod messages;
pub mod progress;
mod recorder;
pub mod retime;
pub mod verdicts;

pub use recorder::{Recorder, ScenarioRecord, StepRecord, StepStatus, Verdict};
pub(crate) use recorder::{count, scenario_key, tally};

pub use qalens_engine::faults::FaultSpan;

// The unit tests read every step qalens ships: link the packs' registrations in.
#[cfg(test)]
use qalens_reference_pack as _;
