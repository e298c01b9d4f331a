//! Analytics consumer: counts order events by type, in total and per order, each message
//! once (deduplicated by message id in its own SQLite database, in the same transaction
//! as the counts).
//!
//! Configuration (environment, with defaults):
//! - `ANALYTICS_BIND` (`0.0.0.0:8080`), `ANALYTICS_DB` (`/data/analytics.db`), `AMQP_URL`,
//!   `ANALYTICS_QUEUE` (`analytics`), `ANALYTICS_DELIVERY_LIMIT` (`3`),
//!   `ANALYTICS_PREFETCH` (`10`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use contracts::OrderEvent;
use rusqlite::params;

use crate::server::Background;

use crate::amqp::QueueSpec;
use crate::config::{ConfigError, parse_or, var_or};
use crate::consumer::{Consumer, ConsumerConfig, Handler, Outcome, Stats, StatsView};
use crate::db::Db;
use crate::error::ApiError;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS processed_messages (message_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS event_counts (event_type TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS order_event_counts (
    order_id TEXT NOT NULL, event_type TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (order_id, event_type)
);
";

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
            bind: parse_or("ANALYTICS_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database: PathBuf::from(var_or("ANALYTICS_DB", "/data/analytics.db")),
            amqp_url: var_or("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/%2f"),
            queue: var_or("ANALYTICS_QUEUE", contracts::ANALYTICS_QUEUE),
            delivery_limit: parse_or("ANALYTICS_DELIVERY_LIMIT", 3u32)?,
            prefetch: parse_or("ANALYTICS_PREFETCH", 10u16)?,
        })
    }
}

/// Counts one delivery once per message id.
#[derive(Clone)]
pub struct Counter {
    db: Db,
}

impl Counter {
    pub fn open(path: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
        })
    }

    pub async fn counts(&self) -> Result<BTreeMap<String, u64>, crate::db::DbError> {
        self.db
            .call(|conn| {
                crate::db::query_all(
                    conn,
                    "SELECT event_type, count FROM event_counts",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .await
    }

    /// The events counted for one order, by type.
    pub async fn order_counts(
        &self,
        order_id: String,
    ) -> Result<BTreeMap<String, u64>, crate::db::DbError> {
        self.db
            .call(move |conn| {
                crate::db::query_all(
                    conn,
                    "SELECT event_type, count FROM order_event_counts WHERE order_id = ?1",
                    params![order_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .await
    }
}

impl Handler for Counter {
    async fn handle(&self, message_id: Option<&str>, body: &[u8]) -> Outcome {
        let Some(message_id) = message_id.filter(|m| !m.is_empty()).map(str::to_string) else {
            return Outcome::Reject("message has no message-id to deduplicate on".into());
        };
        let event: OrderEvent = match serde_json::from_slice(body) {
            Ok(e) => e,
            Err(e) => return Outcome::Reject(format!("unparseable order event: {e}")),
        };
        let kind = event.type_name();
        let order_id = event.order_id().to_string();
        let result = self
            .db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO processed_messages (message_id) VALUES (?1)",
                    params![message_id],
                )? == 1;
                // DEFECT(analytics-no-dedupe): every delivery counts, seen before or not.
                let fresh = fresh || crate::defects::on(crate::defects::Defect::AnalyticsNoDedupe);
                if fresh {
                    tx.execute(
                        "INSERT INTO event_counts (event_type, count) VALUES (?1, 1)
                         ON CONFLICT(event_type) DO UPDATE SET count = count + 1",
                        params![kind],
                    )?;
                    tx.execute(
                        "INSERT INTO order_event_counts (order_id, event_type, count)
                         VALUES (?1, ?2, 1)
                         ON CONFLICT(order_id, event_type) DO UPDATE SET count = count + 1",
                        params![order_id, kind],
                    )?;
                }
                tx.commit()
            })
            .await;
        match result {
            Ok(()) => Outcome::Ack,
            Err(e) => Outcome::Retry(format!("cannot count event: {e}")),
        }
    }
}

#[derive(Clone)]
struct AppState {
    counter: Counter,
    stats: Arc<Stats>,
}

pub use crate::server::Application;

impl crate::server::Service for Config {
    const NAME: &'static str = "analytics";

    fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Opens the counter's database and connects to the broker (waiting up to 60 s for
    /// it); the consumer runs beside the HTTP server.
    async fn assemble(self) -> anyhow::Result<(Router, Background)> {
        let counter = Counter::open(&self.database)?;
        let stats = Arc::new(Stats::default());
        let consumer = Consumer::connect(
            ConsumerConfig {
                amqp_url: self.amqp_url,
                spec: QueueSpec {
                    name: self.queue,
                    bindings: vec![contracts::routing::ALL_ORDER_EVENTS.to_string()],
                    delivery_limit: self.delivery_limit,
                },
                prefetch: self.prefetch,
                tag: "analytics".into(),
            },
            Arc::new(counter.clone()),
            stats.clone(),
            Duration::from_secs(60),
        )
        .await?;
        let mut background = Background::default();
        background.add(|stop| consumer.run(stop));
        let router = crate::server::with_probes(Router::new())
            .route("/internal/analytics", get(counts))
            .route("/internal/analytics/orders/{order_id}", get(order_counts))
            .route("/internal/consumer", get(consumer_stats))
            .with_state(AppState { counter, stats });
        Ok((router, background))
    }
}

/// `GET /internal/analytics`: event counts by type.
async fn counts(State(state): State<AppState>) -> Result<Json<BTreeMap<String, u64>>, ApiError> {
    Ok(Json(state.counter.counts().await?))
}

/// `GET /internal/analytics/orders/{order_id}`: the events counted for one order, by
/// type (an empty map for an order never seen).
async fn order_counts(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<BTreeMap<String, u64>>, ApiError> {
    Ok(Json(state.counter.order_counts(order_id).await?))
}

async fn consumer_stats(State(state): State<AppState>) -> Json<StatsView> {
    Json(state.stats.view())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_redelivered_event_is_counted_once_per_order_and_in_total() {
        let path = std::env::temp_dir().join(format!("analytics-{}.db", uuid::Uuid::now_v7()));
        let counter = Counter::open(&path).unwrap();
        let order_id = uuid::Uuid::now_v7();
        let event = OrderEvent::OrderPlaced(contracts::OrderPlaced {
            event_id: uuid::Uuid::now_v7(),
            order_id,
            customer: "alice".into(),
            sku: "SKU-1".into(),
            quantity: 1,
        });
        let body = serde_json::to_vec(&event).unwrap();
        for _ in 0..2 {
            assert!(matches!(
                counter.handle(Some("m-1"), &body).await,
                Outcome::Ack
            ));
        }
        let once = BTreeMap::from([("OrderPlaced".to_string(), 1)]);
        assert_eq!(
            counter.order_counts(order_id.to_string()).await.unwrap(),
            once
        );
        assert_eq!(counter.counts().await.unwrap(), once);
        assert!(
            counter
                .order_counts(uuid::Uuid::now_v7().to_string())
                .await
                .unwrap()
                .is_empty()
        );
        let _ = std::fs::remove_file(path);
    }
}
