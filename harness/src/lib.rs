//! qalens: a chaos and contract test harness for microservice systems.
//!
//! QA engineers write Gherkin feature files; `qalens run` starts the reference system in
//! Docker (through testcontainers), runs the scenarios with the `cucumber` crate and
//! writes reports. The same features run under `cargo test` through the `features` test
//! target.
//!
//! Roles, as in Jepsen: [`system`] reads the system file and [`topology`] turns it into
//! running containers and their endpoints, [`clients`] talk to it (HTTP, AMQP),
//! [`nemesis`] holds the faults with their heals, [`checks`] the shared verdicts, [`steps`]
//! are thin generic steps and [`packs`] the domain steps a system file may enable;
//! [`runner`] drives cucumber and the reports, [`cleanup`] guarantees that no container
//! outlives its run.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod lint;
pub mod runner;
pub mod selftest;
pub mod shard;

#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod reference_pack_tests;

pub use qalens_steps::QaWorld;

// The packs qalens ships register themselves when linked.
use qalens_reference_pack as _;
