//! Step definitions, one module per domain (the same grouping as `features/`). Every
//! step returns `Result<(), String>`: a failure says what was expected, what was seen and
//! the last exchange, instead of panicking.

pub mod backlog;
pub mod claims;
pub mod clock;
pub mod concurrency;
pub mod contracts;
pub mod dead_letter;
pub mod faults;
pub mod http;
pub mod identity;
pub mod policy;
pub mod queue;
pub mod rate_limit;
pub mod routes;
pub mod security;

/// Shorthand for a step's result.
pub type StepResult = Result<(), String>;
