//! qalens's run engine, in Jepsen's roles: [`topology`] starts the system a system file
//! describes and tears it down ([`cleanup`] guarantees no container outlives its run),
//! [`clients`] talk to it (HTTP, AMQP, Docker exec), the [`nemesis`] applies faults with
//! their heals, [`scheduler`] decides which scenarios may run at once, [`tokens`] makes
//! the credentials clients present, and [`checks`] hold the shared verdicts. A run's state
//! is a [`context::Run`], passed in; nothing here is process-wide. Errors are typed, one
//! enum per role, any of them an [`Error`] ([`error`]).
#![warn(unreachable_pub)]

pub mod checks;
pub mod cleanup;
pub mod clients;
pub mod context;
pub mod contracts;
pub mod error;
pub mod faults;
pub mod nemesis;
pub mod scheduler;
pub mod stop;
#[cfg(test)]
mod testing;
pub mod tokens;
pub mod topology;
pub mod wait;

pub use error::Error;
