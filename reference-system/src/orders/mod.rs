//! Orders: accepts orders over HTTP, stores them in its own SQLite database and announces
//! them through a transactional outbox relayed to RabbitMQ.
//!
//! Configuration (environment, with defaults):
//! - `ORDERS_BIND` (`0.0.0.0:8080`): listen address.
//! - `ORDERS_DB` (`/data/orders.db`): SQLite file, kept across restarts.
//! - `AMQP_URL` (`amqp://guest:guest@rabbitmq:5672/%2f`): the broker.
//! - `OUTBOX_POLL_MS` (`500`): outbox scan interval when nothing wakes the relay.

mod domain;
mod relay;
mod routes;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;

pub use domain::{Customer, Quantity, Sku};
pub use relay::{Relay, RelayConfig};
pub use routes::router;
pub use store::Store;

use crate::config::{ConfigError, parse_or, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: PathBuf,
    pub amqp_url: String,
    pub outbox_poll: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            bind: parse_or("ORDERS_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database: PathBuf::from(var_or("ORDERS_DB", "/data/orders.db")),
            amqp_url: var_or("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/%2f"),
            outbox_poll: Duration::from_millis(parse_or("OUTBOX_POLL_MS", 500u64)?),
        })
    }
}

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Wakes the outbox relay when a new event was written.
    pub outbox_wake: Arc<Notify>,
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    relay: Relay,
}

impl Application {
    /// Opens the database and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = crate::db::Db::open(&config.database, store::SCHEMA)?;
        let store = Store::new(db);
        let wake = Arc::new(Notify::new());
        let relay = Relay::new(
            store.clone(),
            RelayConfig {
                amqp_url: config.amqp_url.clone(),
                poll_interval: config.outbox_poll,
            },
            wake.clone(),
        );
        let listener = TcpListener::bind(config.bind).await?;
        Ok(Self {
            listener,
            state: AppState {
                store,
                outbox_wake: wake,
            },
            relay,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then stops taking requests and stops the relay.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut relay_stop = stop_rx.clone();
        let relay = tokio::spawn(self.relay.run(async move {
            let _ = relay_stop.wait_for(|s| *s).await;
        }));
        crate::telemetry::announce_ready("orders", addr);
        axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(shutdown)
            .await?;
        let _ = stop_tx.send(true);
        let _ = relay.await;
        Ok(())
    }
}
