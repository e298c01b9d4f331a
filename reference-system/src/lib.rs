//! The qalens reference system: a compact set of services that does each pattern right
//! (edge routing, a transactional outbox, idempotent consumers with dead-lettering), so
//! that the harness has something real to prove things about.
//!
//! One module per service, each with `Config::from_env`, `Application::build` (binds its
//! own listener, so tests run it on port 0) and `Application::run_until(shutdown)`.

pub mod amqp;
pub mod analytics;
pub mod config;
pub mod consumer;
pub mod db;
pub mod defects;
pub mod domain;
pub mod email;
pub mod error;
pub mod gateway;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod propagation;
pub mod server;
pub mod shutdown;
pub mod telemetry;

/// The line every service prints on stdout once it is ready to take work; the harness
/// waits for it.
pub const READY_LINE: &str = "refsys ready";
