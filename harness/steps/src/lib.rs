//! qalens's step vocabulary: the cucumber [`QaWorld`] (per-scenario state), the generic
//! step definitions, one module per domain (the same grouping as `features/`), the
//! [`catalog`] of every step with its documentation, and the [`packs`] registry through
//! which domain packs add theirs. Every step returns a [`StepResult`]: a failure
//! ([`StepError`]) says what was expected, what was seen and the last exchange, instead of
//! panicking.
#![warn(unreachable_pub)]

mod backlog;
mod batch;
pub mod catalog;
mod claims;
mod clock;
mod concurrency;
mod consumers;
mod contracts;
mod dead_letter;
mod doc;
mod effects;
mod error;
mod faults;
mod http;
mod identity;
pub mod packs;
mod policy;
mod queue;
mod rate_limit;
mod routes;
mod security;
mod whereabouts;
pub mod world;

pub use error::{Shown, StepError};
pub use world::QaWorld;

/// Shorthand for a step's result.
pub type StepResult = Result<(), StepError>;
