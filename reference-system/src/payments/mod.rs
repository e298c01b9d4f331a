//! Payments: charges orders once per idempotency key and refunds them, in its own SQLite
//! database.
//!
//! Rules: an amount is 1 to 10 000 000 cents; a customer whose id starts with `broke` is
//! declined (402, nothing recorded); an order has at most one charge; refunds are
//! idempotent; a charge is read only by its own customer (the `x-client-id` the gateway
//! sets), anyone else gets the 404 of a missing one.
//!
//! Configuration (environment, with defaults):
//! - `PAYMENTS_BIND` (`0.0.0.0:8080`): listen address.
//! - `PAYMENTS_DB` (`/data/payments.db`): SQLite file, kept across restarts.
//! - `PAYMENTS_LATENCY_MS` (`0`): artificial delay in milliseconds added to every charge
//!   request, for "payments is slow" scenarios.

mod domain;
mod error;
mod routes;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use domain::{AmountCents, Customer, IdempotencyKey};
pub use error::PaymentsError;
pub use routes::router;
pub use store::{SCHEMA, Store};

use crate::config::{ConfigError, parse_or, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: PathBuf,
    /// Delay added to every charge request (zero: none).
    pub latency: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            bind: parse_or("PAYMENTS_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database: PathBuf::from(var_or("PAYMENTS_DB", "/data/payments.db")),
            latency: Duration::from_millis(parse_or("PAYMENTS_LATENCY_MS", 0u64)?),
        })
    }
}

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Delay added to every charge request.
    pub latency: Duration,
}

pub use crate::server::Application;

impl crate::server::Service for Config {
    const NAME: &'static str = "payments";

    fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Opens the database.
    async fn assemble(self) -> anyhow::Result<(axum::Router, crate::server::Background)> {
        let db = crate::db::Db::open(&self.database, store::SCHEMA)?;
        let state = AppState {
            store: Store::new(db),
            latency: self.latency,
        };
        Ok((router(state), Default::default()))
    }
}
