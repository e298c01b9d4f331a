//! Reports a person reads: a single self-contained HTML page per run (`qalens run
//! --html PATH`), built from the run's own events.
//!
//! Two parts: the [`Recorder`]
//! writer that turns cucumber's events into [`ScenarioRecord`]s (times, steps, errors,
//! attached component logs), and [`html::render`], a pure function from those to the page.

pub mod html;
pub mod matrix;
pub mod messages;
mod recorder;
pub mod verdicts;

pub use recorder::{
    Recorder, ScenarioRecord, StepRecord, StepStatus, Verdict, count, scenario_key, tally,
};

pub use qalens_engine::faults::FaultSpan;
