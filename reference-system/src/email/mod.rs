//! Email consumer: sends (records) one email per placed order, reading the order events
//! queue with manual acks and deduplicating by AMQP message id in its own SQLite database.
//!
//! Configuration (environment, with defaults):
//! - `EMAIL_BIND` (`0.0.0.0:8080`): inspection API listen address.
//! - `EMAIL_DB` (`/data/email.db`): SQLite file, kept across restarts.
//! - `AMQP_URL` (`amqp://guest:guest@rabbitmq:5672/%2f`): the broker.
//! - `EMAIL_QUEUE` (`email`): queue name; its dead-letter queue is `<name>.dlq`.
//! - `EMAIL_DELIVERY_LIMIT` (`3`): redeliveries before a message is dead-lettered.
//! - `EMAIL_PREFETCH` (`10`): unacknowledged deliveries in flight at most.

mod consumer;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use contracts::EmailRecord;
use tokio::net::TcpListener;
use uuid::Uuid;

pub use consumer::{Outcome, handle_delivery};
pub use store::{SCHEMA, Store};

use crate::amqp::QueueSpec;
use crate::config::{ConfigError, parse_or, var_or};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: PathBuf,
    pub amqp_url: String,
    pub queue: String,
    pub delivery_limit: u32,
    pub prefetch: u16,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            bind: parse_or("EMAIL_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database: PathBuf::from(var_or("EMAIL_DB", "/data/email.db")),
            amqp_url: var_or("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/%2f"),
            queue: var_or("EMAIL_QUEUE", contracts::EMAIL_QUEUE),
            delivery_limit: parse_or("EMAIL_DELIVERY_LIMIT", 3u32)?,
            prefetch: parse_or("EMAIL_PREFETCH", 10u16)?,
        })
    }

    pub fn queue_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.queue.clone(),
            bindings: vec![contracts::routing::ORDER_PLACED.to_string()],
            delivery_limit: self.delivery_limit,
        }
    }
}

pub struct Application {
    listener: TcpListener,
    store: Store,
    consumer: consumer::Consumer,
}

impl Application {
    /// Opens the database, connects to the broker (waiting up to 60 s for it), declares
    /// the queues and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = crate::db::Db::open(&config.database, store::SCHEMA)?;
        let store = Store::new(db);
        let consumer =
            consumer::Consumer::connect(&config, store.clone(), Duration::from_secs(60)).await?;
        let listener = TcpListener::bind(config.bind).await?;
        Ok(Self {
            listener,
            store,
            consumer,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Consumes and serves until `shutdown` resolves; in-flight deliveries are finished
    /// (acked) or left unacked for redelivery, never half-done.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let consumer = tokio::spawn(self.consumer.run(stop_rx));
        crate::telemetry::announce_ready("email", addr);
        axum::serve(self.listener, router(self.store))
            .with_graceful_shutdown(shutdown)
            .await?;
        let _ = stop_tx.send(true);
        let _ = consumer.await;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct EmailQuery {
    order_id: Option<String>,
}

pub fn router(store: Store) -> Router {
    Router::new()
        .route("/internal/emails", get(list_emails))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(|| async { "ok" }))
        .with_state(store)
}

/// `GET /internal/emails[?order_id=ID]`: the emails recorded, oldest first.
async fn list_emails(
    State(store): State<Store>,
    Query(q): Query<EmailQuery>,
) -> Result<Json<Vec<EmailRecord>>, ApiError> {
    let order_id = match q.order_id {
        Some(s) => Some(
            Uuid::parse_str(&s)
                .map_err(|_| ApiError::BadRequest(format!("{s:?} is not an order id")))?,
        ),
        None => None,
    };
    Ok(Json(store.emails(order_id).await?))
}
