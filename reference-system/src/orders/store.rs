//! Orders' own database: orders, idempotency keys and the transactional outbox.
//!
//! **Invariant:** an order's state change and the event announcing it are written in one
//! transaction, so an event exists if and only if the change happened.

use contracts::{OrderEvent, OrderPlaced, OrderStatus, OrderView};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::domain::{Customer, Quantity, Sku};
use crate::db::{Db, DbError};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    routing_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    published INTEGER NOT NULL DEFAULT 0
);
";

/// An event waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub routing_key: String,
    pub payload: String,
}

pub struct NewOrder {
    pub customer: Customer,
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Whether `place` created the order or found it by its idempotency key.
pub enum Placed {
    Created(OrderView),
    Existing(OrderView),
}

fn status_str(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "PENDING",
        OrderStatus::Confirmed => "CONFIRMED",
        OrderStatus::Cancelled => "CANCELLED",
    }
}

fn parse_status(s: &str) -> OrderStatus {
    match s {
        "CONFIRMED" => OrderStatus::Confirmed,
        "CANCELLED" => OrderStatus::Cancelled,
        _ => OrderStatus::Pending,
    }
}

fn read_order(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<OrderView>> {
    conn.query_row(
        "SELECT id, customer, sku, quantity, status FROM orders WHERE id = ?1",
        params![id],
        |row| {
            let id: String = row.get(0)?;
            let status: String = row.get(4)?;
            Ok(OrderView {
                id: Uuid::parse_str(&id).unwrap_or_default(),
                customer: row.get(1)?,
                sku: row.get(2)?,
                quantity: row.get(3)?,
                status: parse_status(&status),
            })
        },
    )
    .optional()
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates the order and its `OrderPlaced` event in one transaction. With an
    /// idempotency key already seen, returns the order created the first time instead.
    pub async fn place(
        &self,
        order: NewOrder,
        idempotency_key: Option<String>,
    ) -> Result<Placed, DbError> {
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                if let Some(key) = &idempotency_key {
                    let existing: Option<String> = tx
                        .query_row(
                            "SELECT order_id FROM idempotency_keys WHERE key = ?1",
                            params![key],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if let Some(id) = existing {
                        let view = read_order(&tx, &id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                        return Ok(Placed::Existing(view));
                    }
                }
                let id = Uuid::now_v7();
                let view = OrderView {
                    id,
                    customer: order.customer.as_str().to_string(),
                    sku: order.sku.as_str().to_string(),
                    quantity: order.quantity.get(),
                    status: OrderStatus::Confirmed,
                };
                tx.execute(
                    "INSERT INTO orders (id, customer, sku, quantity, status) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id.to_string(), view.customer, view.sku, view.quantity, status_str(view.status)],
                )?;
                if let Some(key) = &idempotency_key {
                    tx.execute(
                        "INSERT INTO idempotency_keys (key, order_id) VALUES (?1, ?2)",
                        params![key, id.to_string()],
                    )?;
                }
                let event = OrderEvent::OrderPlaced(OrderPlaced {
                    event_id: Uuid::now_v7(),
                    order_id: id,
                    customer: view.customer.clone(),
                    sku: view.sku.clone(),
                    quantity: view.quantity,
                });
                insert_event(&tx, &event)?;
                tx.commit()?;
                Ok(Placed::Created(view))
            })
            .await
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<OrderView>, DbError> {
        self.db
            .call(move |conn| read_order(conn, &id.to_string()))
            .await
    }

    /// Up to `limit` unpublished events, oldest first.
    pub async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxRow>, DbError> {
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT seq, event_id, routing_key, payload FROM outbox WHERE published = 0 ORDER BY seq LIMIT ?1",
                )?;
                let rows = stmt.query_map(params![limit as i64], |r| {
                    let payload: String = r.get(3)?;
                    let event_type = serde_json::from_str::<serde_json::Value>(&payload)
                        .ok()
                        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
                        .unwrap_or_default();
                    Ok(OutboxRow {
                        seq: r.get(0)?,
                        event_id: r.get(1)?,
                        event_type,
                        routing_key: r.get(2)?,
                        payload,
                    })
                })?;
                rows.collect()
            })
            .await
    }

    pub async fn mark_published(&self, seq: i64) -> Result<(), DbError> {
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE outbox SET published = 1 WHERE seq = ?1",
                    params![seq],
                )?;
                Ok(())
            })
            .await
    }

    /// Number of events not yet confirmed by the broker.
    pub async fn outbox_backlog(&self) -> Result<i64, DbError> {
        self.db
            .call(|conn| {
                conn.query_row("SELECT COUNT(*) FROM outbox WHERE published = 0", [], |r| {
                    r.get(0)
                })
            })
            .await
    }
}

fn insert_event(tx: &rusqlite::Transaction<'_>, event: &OrderEvent) -> rusqlite::Result<()> {
    let payload = serde_json::to_string(event)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO outbox (event_id, routing_key, payload) VALUES (?1, ?2, ?3)",
        params![event.event_id().to_string(), event.routing_key(), payload],
    )?;
    Ok(())
}
