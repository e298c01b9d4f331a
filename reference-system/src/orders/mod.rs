//! Orders: accepts orders over HTTP, stores them in its own SQLite database and announces
//! them through a transactional outbox relayed to RabbitMQ.
//!
//! Configuration (environment, with defaults):
//! - `ORDERS_BIND` (`0.0.0.0:8080`): listen address.
//! - `ORDERS_DB` (`/data/orders.db`): SQLite file, kept across restarts.
//! - `AMQP_URL` (`amqp://guest:guest@rabbitmq:5672/%2f`): the broker.
//! - `OUTBOX_POLL_MS` (`500`): outbox scan interval when nothing wakes the relay.
//! - `RELAY_MAX_BACKOFF_MS` (`2000`): the longest wait between two publish attempts while
//!   the broker is unreachable.
//! - `PAYMENTS_URL` (`http://payments:8080`), `INVENTORY_URL` (`http://inventory:8080`).
//! - `SAGA_CALL_TIMEOUT_MS` (`2000`): timeout of one call to payments or inventory.
//! - `SAGA_DEADLINE_MS` (`8000`): how long a saga retries transient failures before it
//!   compensates and cancels; no order stays PENDING much longer than this.
//! - `SAGA_RECOVERY_MS` (`1000`): how often unfinished sagas are looked for and resumed.
//! - `UNIT_PRICE_CENTS` (`1250`): price of one unit of any SKU.
//!
//! On SIGTERM it stops taking requests, answers those in flight, lets running sagas
//! finish for up to five seconds (`SHUTDOWN_DRAIN` in saga.rs) and stops the relay; anything
//! unfinished is resumed by the recovery loop after the next start.

mod clients;
mod relay;
mod routes;
mod saga;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::server::{Background, stopped};
use tokio::sync::Notify;

pub use relay::{Relay, RelayConfig};
pub use routes::router;
pub use saga::{Saga, SagaConfig};
pub use store::Store;

use crate::config::{ConfigError, parse_or, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: PathBuf,
    pub amqp_url: String,
    pub outbox_poll: Duration,
    pub relay_max_backoff: Duration,
    pub payments_url: String,
    pub inventory_url: String,
    pub call_timeout: Duration,
    pub saga: SagaConfig,
    pub unit_price_cents: u64,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            bind: parse_or("ORDERS_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database: PathBuf::from(var_or("ORDERS_DB", "/data/orders.db")),
            amqp_url: var_or("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/%2f"),
            outbox_poll: Duration::from_millis(parse_or("OUTBOX_POLL_MS", 500u64)?),
            relay_max_backoff: Duration::from_millis(parse_or("RELAY_MAX_BACKOFF_MS", 2000u64)?),
            payments_url: var_or("PAYMENTS_URL", "http://payments:8080"),
            inventory_url: var_or("INVENTORY_URL", "http://inventory:8080"),
            call_timeout: Duration::from_millis(parse_or("SAGA_CALL_TIMEOUT_MS", 2000u64)?),
            saga: SagaConfig {
                deadline: Duration::from_millis(parse_or("SAGA_DEADLINE_MS", 8000u64)?),
                first_backoff: Duration::from_millis(100),
                recovery_interval: Duration::from_millis(parse_or("SAGA_RECOVERY_MS", 1000u64)?),
            },
            unit_price_cents: parse_or("UNIT_PRICE_CENTS", 1250u64)?,
        })
    }
}

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Wakes the outbox relay when a new event was written.
    pub outbox_wake: Arc<Notify>,
    pub saga: Saga,
    pub unit_price_cents: u64,
}

pub use crate::server::Application;

impl crate::server::Service for Config {
    const NAME: &'static str = "orders";

    fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Opens the database; the outbox relay and the saga recovery loop run beside the
    /// HTTP server and stop after it.
    async fn assemble(self) -> anyhow::Result<(axum::Router, Background)> {
        let db = crate::db::Db::open(&self.database, store::SCHEMA)?;
        let store = Store::new(db);
        let wake = Arc::new(Notify::new());
        let relay = Relay::new(
            store.clone(),
            RelayConfig {
                amqp_url: self.amqp_url,
                poll_interval: self.outbox_poll,
                max_backoff: self.relay_max_backoff,
            },
            wake.clone(),
        );
        let clients =
            clients::Clients::new(self.payments_url, self.inventory_url, self.call_timeout)?;
        let saga = Saga::new(store.clone(), clients, self.saga, wake.clone());
        let mut background = Background::default();
        background.add(|stop| relay.run(stopped(stop)));
        let recovering = saga.clone();
        background.add(|stop| recovering.recover(stopped(stop)));
        let state = AppState {
            store,
            outbox_wake: wake,
            saga,
            unit_price_cents: self.unit_price_cents,
        };
        Ok((router(state), background))
    }
}
