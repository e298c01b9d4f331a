//! Email consumer: sends (records) one email per confirmed order, reading its queue with
//! manual acks and deduplicating by AMQP message id in its own SQLite database.
//!
//! Configuration (environment, with defaults):
//! - `EMAIL_BIND` (`0.0.0.0:8080`): inspection API listen address.
//! - `EMAIL_DB` (`/data/email.db`): SQLite file, kept across restarts.
//! - `AMQP_URL` (`amqp://guest:guest@rabbitmq:5672/%2f`): the broker.
//! - `EMAIL_QUEUE` (`email`): queue name; its dead-letter queue is `<name>.dlq`.
//! - `EMAIL_DELIVERY_LIMIT` (`3`): redeliveries before a message is dead-lettered.
//! - `EMAIL_PREFETCH` (`10`): unacknowledged deliveries in flight at most.
//! - `EMAIL_FAIL_SUBJECT_MARKER` (unset): test aid; a confirmed order whose customer
//!   contains this marker fails transiently every time (to show retries end in the DLQ).
//! - `EMAIL_CRASH_AFTER_WORK_MARKER` (unset): test aid; the first time the email of a
//!   customer containing this marker is recorded, the process exits before acknowledging
//!   the delivery (a crash between the work and the ack). The broker redelivers it to the
//!   restarted consumer, whose deduplication must keep it at one email.

mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use contracts::{EmailRecord, OrderEvent};

use crate::server::Background;
use uuid::Uuid;

pub use store::{SCHEMA, Store};

use crate::amqp::QueueSpec;
use crate::config::{ConfigError, parse_or, var_or};
pub use crate::consumer::Outcome;
use crate::consumer::{Consumer, ConsumerConfig, Handler, Stats, StatsView};
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

    fn consumer_config(&self) -> ConsumerConfig {
        ConsumerConfig {
            amqp_url: self.amqp_url.clone(),
            spec: QueueSpec {
                name: self.queue.clone(),
                bindings: vec![contracts::routing::ORDER_CONFIRMED.to_string()],
                delivery_limit: self.delivery_limit,
            },
            prefetch: self.prefetch,
            tag: "email".into(),
        }
    }
}

/// Handles one delivery: parses the event and records the email of a confirmed order
/// once per message id. Other order events need no email and are acknowledged.
pub async fn handle_delivery(store: &Store, message_id: Option<&str>, body: &[u8]) -> Outcome {
    let Some(message_id) = message_id.filter(|m| !m.is_empty()) else {
        return Outcome::Reject("message has no message-id to deduplicate on".into());
    };
    let event: OrderEvent = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => return Outcome::Reject(format!("unparseable order event: {e}")),
    };
    let OrderEvent::OrderConfirmed(confirmed) = event else {
        return Outcome::Ack;
    };
    if confirmed.customer.is_empty() {
        return Outcome::Reject("confirmed order without a customer to email".into());
    }
    if let Ok(marker) = std::env::var("EMAIL_FAIL_SUBJECT_MARKER")
        && !marker.is_empty()
        && confirmed.customer.contains(&marker)
    {
        return Outcome::Retry(format!(
            "mail server refuses recipients containing {marker:?}"
        ));
    }
    let to = confirmed.customer.clone();
    let email = EmailRecord {
        message_id: message_id.to_string(),
        order_id: confirmed.order_id,
        to: confirmed.customer,
        subject: format!("Your order {} is confirmed", confirmed.order_id),
    };
    match store.record_once(email).await {
        Ok(true) => {
            if let Ok(marker) = std::env::var("EMAIL_CRASH_AFTER_WORK_MARKER")
                && !marker.is_empty()
                && to.contains(&marker)
            {
                tracing::error!(
                    message_id,
                    "crashing after the work, before the ack (test aid)"
                );
                std::process::exit(70);
            }
            Outcome::Ack
        }
        Ok(false) => {
            tracing::info!(message_id, "duplicate delivery ignored");
            Outcome::Ack
        }
        Err(e) => Outcome::Retry(format!("cannot record email: {e}")),
    }
}

struct EmailHandler {
    store: Store,
}

impl Handler for EmailHandler {
    async fn handle(&self, message_id: Option<&str>, body: &[u8]) -> Outcome {
        handle_delivery(&self.store, message_id, body).await
    }
}

#[derive(Clone)]
struct AppState {
    store: Store,
    stats: Arc<Stats>,
}

pub use crate::server::Application;

impl crate::server::Service for Config {
    const NAME: &'static str = "email";

    fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Opens the database, connects to the broker (waiting up to 60 s for it) and
    /// declares the queues. The consumer runs beside the HTTP server: on shutdown,
    /// in-flight deliveries are finished (acked) or left unacked for redelivery, never
    /// half-done.
    async fn assemble(self) -> anyhow::Result<(Router, Background)> {
        let db = crate::db::Db::open(&self.database, store::SCHEMA)?;
        let store = Store::new(db);
        let stats = Arc::new(Stats::default());
        let consumer = Consumer::connect(
            self.consumer_config(),
            Arc::new(EmailHandler {
                store: store.clone(),
            }),
            stats.clone(),
            Duration::from_secs(60),
        )
        .await?;
        let mut background = Background::default();
        background.add(|stop| consumer.run(stop));
        Ok((router(AppState { store, stats }), background))
    }
}

#[derive(serde::Deserialize)]
struct EmailQuery {
    order_id: Option<String>,
}

fn router(state: AppState) -> Router {
    crate::server::with_probes(Router::new())
        .route("/internal/emails", get(list_emails))
        .route("/internal/consumer", get(consumer_stats))
        .route("/internal/consumer/attempts/{message_id}", get(attempts))
        .with_state(state)
}

/// `GET /internal/emails[?order_id=ID]`: the emails recorded, oldest first.
async fn list_emails(
    State(state): State<AppState>,
    Query(q): Query<EmailQuery>,
) -> Result<Json<Vec<EmailRecord>>, ApiError> {
    let order_id = match q.order_id {
        Some(s) => Some(
            Uuid::parse_str(&s)
                .map_err(|_| ApiError::BadRequest(format!("{s:?} is not an order id")))?,
        ),
        None => None,
    };
    Ok(Json(state.store.emails(order_id).await?))
}

/// `GET /internal/consumer`: deliveries acked, rejected and requeued so far.
async fn consumer_stats(State(state): State<AppState>) -> Json<StatsView> {
    Json(state.stats.view())
}

/// `GET /internal/consumer/attempts/{message_id}`: how often the message was delivered
/// to this consumer (its first delivery and every redelivery), `0` for one never seen.
async fn attempts(
    State(state): State<AppState>,
    axum::extract::Path(message_id): axum::extract::Path<String>,
) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "message_id": message_id,
        "attempts": state.stats.attempts(&message_id),
    }))
}
