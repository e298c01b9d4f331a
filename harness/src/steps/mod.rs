//! Step definitions, one module per domain (the same grouping as `features/`). Every
//! step returns `Result<(), String>`: a failure says what was expected, what was seen and
//! the last exchange, instead of panicking.

pub mod http;
pub mod orders;

/// Shorthand for a step's result.
pub type StepResult = Result<(), String>;
