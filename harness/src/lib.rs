//! qalens: a chaos and contract test harness for microservice systems.
//!
//! QA engineers write Gherkin feature files; `qalens run` starts the reference system in
//! Docker (through testcontainers), runs the scenarios with the `cucumber` crate and
//! writes reports. The same features run under `cargo test` through the `features` test
//! target.
//!
//! This crate is the `qalens` binary and what only it does: [`cli`] declares the command
//! line, [`commands`] runs each command (and owns signals, crashes and the last-resort
//! cleanup), the runner drives cucumber and writes the reports, [`lint`] checks feature
//! files without Docker; the self-test, shards and the gateway bench are here too. The
//! system model, the run engine, the steps and the reports are crates of their own
//! (`qalens-model`, `qalens-engine`, `qalens-steps`, `qalens-report`).

#![warn(unreachable_pub)]

mod bench;
pub mod cli;
pub mod commands;
mod exit;
pub mod lint;
mod runner;
mod selftest;
mod shard;

#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod reference_pack_tests;

pub use exit::{Exit, Signal};
pub use runner::RunOptions;

// The packs qalens ships register themselves when linked.
use qalens_reference_pack as _;
