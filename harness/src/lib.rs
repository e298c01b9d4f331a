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

pub mod attach;
pub mod bench;
pub mod catalog;
pub mod checks;
pub mod cleanup;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod context;
pub mod images;
pub mod input;
pub mod lint;
pub mod nemesis;
pub mod packs;
pub mod parser;
pub mod progress;
pub mod report;
pub mod retime;
pub mod runner;
pub mod scheduler;
pub mod selftest;
pub mod shard;
pub mod steps;
pub mod stop;
pub mod system;
pub mod tokens;
pub mod topology;
pub mod wait;
pub mod world;

pub use world::QaWorld;
