//! Orders' own database: orders with their saga step, idempotency keys and the
//! transactional outbox. An order and its events keep the trace context of the request
//! that placed it ([`crate::propagation`]), so its saga (recovered or not) and its
//! messages carry it on.
//!
//! **Invariant:** an order's state change and the event announcing it are written in one
//! transaction, so an event exists if and only if the change happened.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use contracts::{OrderCancelled, OrderConfirmed, OrderEvent, OrderPlaced, OrderStatus, OrderView};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::db::{self, Db, DbError};
use crate::domain::{Customer, Quantity, Sku};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    status TEXT NOT NULL,
    step TEXT NOT NULL,
    reason TEXT,
    compensation_pending INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    trace_context TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders(status);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    published INTEGER NOT NULL DEFAULT 0,
    trace_context TEXT NOT NULL DEFAULT '{}'
);
";

/// Where a PENDING order's saga stands. Each step is recorded after its remote call
/// succeeded, so a restarted saga repeats at most one (idempotent) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing done yet: reserve stock next.
    New,
    /// Stock reserved: charge payment next.
    Reserved,
    /// Payment charged: confirm next.
    Charged,
    /// Terminal (the order is CONFIRMED or CANCELLED).
    Done,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::New => "NEW",
            Step::Reserved => "RESERVED",
            Step::Charged => "CHARGED",
            Step::Done => "DONE",
        }
    }
    /// The step `as_str` wrote; `None` for any other text.
    fn parse(s: &str) -> Option<Self> {
        match s {
            "NEW" => Some(Step::New),
            "RESERVED" => Some(Step::Reserved),
            "CHARGED" => Some(Step::Charged),
            "DONE" => Some(Step::Done),
            _ => None,
        }
    }
}

/// An order with its saga bookkeeping.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub view: OrderView,
    pub step: Step,
    pub compensation_pending: bool,
    pub created_ms: u64,
    /// The trace context of the request that placed it, as a text map.
    pub trace_context: HashMap<String, String>,
}

/// An event waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub routing_key: String,
    pub payload: String,
    /// The trace context of the order it is about, as a text map.
    pub trace_context: HashMap<String, String>,
}

pub struct NewOrder {
    pub customer: Customer,
    pub sku: Sku,
    pub quantity: Quantity,
    pub amount_cents: u64,
}

/// Whether `place` created the order or found it by its idempotency key.
pub enum Placed {
    Created(OrderView),
    Existing(OrderView),
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

const SELECT: &str = "SELECT id, customer, sku, quantity, amount_cents, status, step, reason, compensation_pending, created_ms, trace_context FROM orders";

/// A trace context kept as a text map, read back; a value the service never writes
/// fails the read.
fn read_trace(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<HashMap<String, String>> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|_| db::unknown_value(column, "trace context", &text))
}

/// The current trace context as the text it is kept as.
fn current_trace() -> String {
    serde_json::to_string(&crate::propagation::current_map()).unwrap_or_else(|_| "{}".into())
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRecord> {
    let status: String = row.get(5)?;
    let step: String = row.get(6)?;
    Ok(OrderRecord {
        view: OrderView {
            id: db::read_uuid(row, 0, "order id")?,
            customer: row.get(1)?,
            sku: row.get(2)?,
            quantity: row.get(3)?,
            amount_cents: row.get(4)?,
            status: status
                .parse()
                .map_err(|_| db::unknown_value(5, "order status", &status))?,
            reason: row.get(7)?,
        },
        step: Step::parse(&step).ok_or_else(|| db::unknown_value(6, "saga step", &step))?,
        compensation_pending: row.get::<_, i64>(8)? != 0,
        created_ms: row.get(9)?,
        trace_context: read_trace(row, 10)?,
    })
}

fn read(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<OrderRecord>> {
    conn.query_row(
        &format!("{SELECT} WHERE id = ?1"),
        params![id],
        row_to_record,
    )
    .optional()
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    event: &OrderEvent,
    trace: &str,
) -> rusqlite::Result<()> {
    let payload = serde_json::to_string(event)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO outbox (event_id, event_type, routing_key, payload, trace_context) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            event.event_id().to_string(),
            event.type_name(),
            event.routing_key(),
            payload,
            trace
        ],
    )?;
    Ok(())
}

/// The order an idempotency key was first used for.
fn keyed_order(conn: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<OrderView>> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT order_id FROM idempotency_keys WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()?;
    match existing {
        Some(id) => Ok(Some(
            read(conn, &id)?
                .ok_or(rusqlite::Error::QueryReturnedNoRows)?
                .view,
        )),
        None => Ok(None),
    }
}

/// Writes a new PENDING order, its idempotency key (with `insert_key`, the statement that
/// records it: `INSERT`) and its `OrderPlaced` event.
fn insert_order(
    tx: &rusqlite::Transaction<'_>,
    order: &NewOrder,
    idempotency_key: Option<&str>,
    insert_key: &str,
    trace: &str,
) -> rusqlite::Result<OrderView> {
    let id = Uuid::now_v7();
    let view = OrderView {
        id,
        customer: order.customer.as_str().to_string(),
        sku: order.sku.as_str().to_string(),
        quantity: order.quantity.get(),
        amount_cents: order.amount_cents,
        status: OrderStatus::Pending,
        reason: None,
    };
    tx.execute(
        "INSERT INTO orders (id, customer, sku, quantity, amount_cents, status, step, created_ms, trace_context)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id.to_string(),
            view.customer,
            view.sku,
            view.quantity,
            view.amount_cents,
            view.status.as_str(),
            Step::New.as_str(),
            now_ms(),
            trace
        ],
    )?;
    if let Some(key) = idempotency_key {
        tx.execute(
            &format!("{insert_key} INTO idempotency_keys (key, order_id) VALUES (?1, ?2)"),
            params![key, id.to_string()],
        )?;
    }
    insert_event(
        tx,
        &OrderEvent::OrderPlaced(OrderPlaced {
            event_id: Uuid::now_v7(),
            order_id: id,
            customer: view.customer.clone(),
            sku: view.sku.clone(),
            quantity: view.quantity,
        }),
        trace,
    )?;
    Ok(view)
}

/// How a saga ends.
pub enum Outcome {
    Confirmed,
    Cancelled {
        reason: String,
        /// A compensation could not be completed yet; recovery retries it.
        compensation_pending: bool,
    },
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates a PENDING order and its `OrderPlaced` event in one transaction. With an
    /// idempotency key already seen, returns the order created the first time instead:
    /// the look-up and the creation are one transaction, so copies of one request sent
    /// at once create one order.
    pub async fn place(
        &self,
        order: NewOrder,
        idempotency_key: Option<String>,
    ) -> Result<Placed, DbError> {
        // DEFECT(idempotency-check-then-act): looked up in one transaction, created in another.
        if crate::defects::on(crate::defects::Defect::IdempotencyCheckThenAct) {
            return self.place_check_then_act(order, idempotency_key).await;
        }
        let trace = current_trace();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                if let Some(key) = &idempotency_key
                    && let Some(view) = keyed_order(&tx, key)?
                {
                    return Ok(Placed::Existing(view));
                }
                let view = insert_order(&tx, &order, idempotency_key.as_deref(), "INSERT", &trace)?;
                tx.commit()?;
                Ok(Placed::Created(view))
            })
            .await
    }

    /// The `idempotency-check-then-act` defect: the key is looked up in one transaction
    /// and the order created in a second one, which records the key only if it is still
    /// free (`INSERT OR IGNORE`, as a store without the unique key would). Copies of one
    /// request that look the key up before any of them created the order (the two trips
    /// are [`crate::defects::CHECK_TO_ACT`] apart) each create one.
    async fn place_check_then_act(
        &self,
        order: NewOrder,
        idempotency_key: Option<String>,
    ) -> Result<Placed, DbError> {
        if let Some(key) = idempotency_key.clone() {
            let existing = self.db.call(move |conn| keyed_order(conn, &key)).await?;
            if let Some(view) = existing {
                return Ok(Placed::Existing(view));
            }
            tokio::time::sleep(crate::defects::CHECK_TO_ACT).await;
        }
        let trace = current_trace();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let view = insert_order(
                    &tx,
                    &order,
                    idempotency_key.as_deref(),
                    "INSERT OR IGNORE",
                    &trace,
                )?;
                tx.commit()?;
                Ok(Placed::Created(view))
            })
            .await
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<OrderRecord>, DbError> {
        self.db.call(move |conn| read(conn, &id.to_string())).await
    }

    /// Records that the saga of `id` reached `step`.
    pub async fn set_step(&self, id: Uuid, step: Step) -> Result<(), DbError> {
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE orders SET step = ?2 WHERE id = ?1 AND status = 'PENDING'",
                    params![id.to_string(), step.as_str()],
                )?;
                Ok(())
            })
            .await
    }

    /// Ends the saga of `id`: the status change and its event in one transaction. A
    /// no-op when the order already ended.
    pub async fn finish(&self, id: Uuid, outcome: Outcome) -> Result<(), DbError> {
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let Some(record) = read(&tx, &id.to_string())? else {
                    return Ok(());
                };
                if record.view.status != OrderStatus::Pending {
                    return Ok(());
                }
                let v = record.view;
                // The order's events carry the trace of the request that placed it.
                let trace = serde_json::to_string(&record.trace_context)
                    .unwrap_or_else(|_| "{}".into());
                match outcome {
                    Outcome::Confirmed => {
                        tx.execute(
                            "UPDATE orders SET status = 'CONFIRMED', step = 'DONE' WHERE id = ?1",
                            params![id.to_string()],
                        )?;
                        insert_event(
                            &tx,
                            &OrderEvent::OrderConfirmed(OrderConfirmed {
                                event_id: Uuid::now_v7(),
                                order_id: id,
                                customer: v.customer,
                                sku: v.sku,
                                quantity: v.quantity,
                                amount_cents: v.amount_cents,
                            }),
                            &trace,
                        )?;
                    }
                    Outcome::Cancelled {
                        reason,
                        compensation_pending,
                    } => {
                        tx.execute(
                            "UPDATE orders SET status = 'CANCELLED', step = 'DONE', reason = ?2, compensation_pending = ?3 WHERE id = ?1",
                            params![id.to_string(), reason, compensation_pending as i64],
                        )?;
                        insert_event(
                            &tx,
                            &OrderEvent::OrderCancelled(OrderCancelled {
                                event_id: Uuid::now_v7(),
                                order_id: id,
                                customer: v.customer,
                                reason,
                            }),
                            &trace,
                        )?;
                    }
                }
                tx.commit()
            })
            .await
    }

    /// Marks the compensation of a cancelled order as complete.
    pub async fn compensation_done(&self, id: Uuid) -> Result<(), DbError> {
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE orders SET compensation_pending = 0 WHERE id = ?1",
                    params![id.to_string()],
                )?;
                Ok(())
            })
            .await
    }

    /// Orders whose saga has not ended, or whose compensation is incomplete.
    pub async fn unfinished(&self) -> Result<Vec<OrderRecord>, DbError> {
        self.db
            .call(|conn| {
                crate::db::query_all(conn, &format!(
                    "{SELECT} WHERE status = 'PENDING' OR compensation_pending = 1 ORDER BY created_ms"
                ), [], row_to_record)
            })
            .await
    }

    /// Every order (inspection).
    pub async fn all(&self) -> Result<Vec<OrderView>, DbError> {
        self.db
            .call(|conn| {
                crate::db::query_all(conn, &format!("{SELECT} ORDER BY created_ms"), [], |r| {
                    row_to_record(r).map(|o| o.view)
                })
            })
            .await
    }

    /// Up to `limit` unpublished events, oldest first.
    pub async fn pending_events(&self, limit: usize) -> Result<Vec<OutboxRow>, DbError> {
        self.db
            .call(move |conn| {
                crate::db::query_all(
                    conn,
                    "SELECT seq, event_id, event_type, routing_key, payload, trace_context FROM outbox
                     WHERE published = 0 ORDER BY seq LIMIT ?1",
                    params![limit as i64],
                    |r| {
                        Ok(OutboxRow {
                            seq: r.get(0)?,
                            event_id: r.get(1)?,
                            event_type: r.get(2)?,
                            routing_key: r.get(3)?,
                            payload: r.get(4)?,
                            trace_context: read_trace(r, 5)?,
                        })
                    },
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_an_unknown_status_or_step_is_an_error_not_a_pending_order() {
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        let [good, bad_status, bad_step] = [(); 3].map(|()| Uuid::new_v4().to_string());
        for (id, status, step) in [
            (&good, "CONFIRMED", "DONE"),
            (&bad_status, "SHIPPED", "DONE"),
            (&bad_step, "PENDING", "PAID"),
        ] {
            insert(&conn, id, status, step);
        }
        let good = read(&conn, &good)
            .expect("a valid row reads")
            .expect("found");
        assert_eq!(
            (good.view.status, good.step),
            (OrderStatus::Confirmed, Step::Done)
        );
        let err = read(&conn, &bad_status).expect_err("an unknown status fails");
        assert!(
            err.to_string().contains("unknown order status \"SHIPPED\""),
            "{err}"
        );
        let err = read(&conn, &bad_step).expect_err("an unknown step fails");
        assert!(
            err.to_string().contains("unknown saga step \"PAID\""),
            "{err}"
        );
    }

    #[test]
    fn a_row_whose_id_is_not_a_uuid_is_an_error_not_the_nil_order() {
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        insert(&conn, "0rder-1", "CONFIRMED", "DONE");
        let err = read(&conn, "0rder-1").expect_err("a corrupt id fails");
        assert!(
            err.to_string()
                .contains("order id \"0rder-1\" is not a UUID"),
            "{err}"
        );
    }

    /// Writes an order row as given, bypassing the store.
    fn insert(conn: &rusqlite::Connection, id: &str, status: &str, step: &str) {
        conn.execute(
            "INSERT INTO orders (id, customer, sku, quantity, amount_cents, status, step, created_ms)
             VALUES (?1, 'c', 'SKU-1', 1, 1250, ?2, ?3, 0)",
            params![id, status, step],
        )
        .expect("insert");
    }
}
