//! qalens's step vocabulary: the cucumber [`QaWorld`] (per-scenario state), the generic
//! step definitions, one module per domain (the same grouping as `features/`), the
//! [`catalog`] of every step with its documentation, and the [`packs`] registry through
//! which domain packs add theirs. Every step returns a [`StepResult`]: a failure
//! ([`StepError`]) says what was expected, what was seen and the last exchange, instead of
//! panicking.

pub mod backlog;
pub mod catalog;
pub mod claims;
pub mod clock;
pub mod concurrency;
pub mod contracts;
pub mod dead_letter;
pub mod doc;
mod error;
pub mod faults;
pub mod http;
pub mod identity;
pub mod packs;
pub mod policy;
pub mod queue;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod world;

pub use error::{Shown, StepError};
pub use world::QaWorld;

/// Shorthand for a step's result.
pub type StepResult = Result<(), StepError>;
