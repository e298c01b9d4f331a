//! Payments' own database: one row per charge, keyed by id, idempotency key and order.
//!
//! **Invariant:** an order has at most one charge, and an idempotency key names at most
//! one charge; both are enforced by unique constraints and checked in the same
//! transaction that inserts the charge.

use contracts::services::{ChargeStatus, ChargeView};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::domain::{AmountCents, Customer, IdempotencyKey};
use crate::db::{self, Db, DbError};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS charges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL UNIQUE,
    customer TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    status TEXT NOT NULL
);
";

/// A validated charge request.
pub struct NewCharge {
    pub key: IdempotencyKey,
    pub order_id: Uuid,
    pub customer: Customer,
    pub amount: AmountCents,
}

/// What `charge` did.
pub enum Charged {
    /// A new charge (the key was new).
    Created(ChargeView),
    /// The key was seen with the same request: the charge made the first time.
    Replayed(ChargeView),
    /// The key was seen with a different request; nothing was charged.
    KeyReused { charge: ChargeView },
    /// The order already has a charge under another key; nothing was charged.
    OrderHasCharge { charge: ChargeView },
}

fn status_str(s: ChargeStatus) -> &'static str {
    match s {
        ChargeStatus::Charged => "CHARGED",
        ChargeStatus::Refunded => "REFUNDED",
    }
}

/// Every charge status, as `status_str` writes them.
const STATUSES: [ChargeStatus; 2] = [ChargeStatus::Charged, ChargeStatus::Refunded];

const COLUMNS: &str = "id, order_id, customer, amount_cents, status";

fn view_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChargeView> {
    Ok(ChargeView {
        id: db::read_uuid(row, 0, "charge id")?,
        order_id: db::read_uuid(row, 1, "charge order id")?,
        customer: row.get(2)?,
        amount_cents: row.get(3)?,
        status: db::read_text(row, 4, "charge status", &STATUSES, status_str)?,
    })
}

/// The charge whose `column` equals `value`.
fn read_one(conn: &Connection, column: &str, value: &str) -> rusqlite::Result<Option<ChargeView>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM charges WHERE {column} = ?1"),
        params![value],
        view_from_row,
    )
    .optional()
}

/// Sets the charge whose `column` equals `value` to REFUNDED (a no-op when it already
/// is) and returns it.
fn refund_where(
    conn: &mut Connection,
    column: &str,
    value: &str,
) -> rusqlite::Result<Option<ChargeView>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        &format!("UPDATE charges SET status = ?1 WHERE {column} = ?2"),
        params![status_str(ChargeStatus::Refunded), value],
    )?;
    let view = read_one(&tx, column, value)?;
    tx.commit()?;
    Ok(view)
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Charges the order once per idempotency key, in one transaction.
    pub async fn charge(&self, new: NewCharge) -> Result<Charged, DbError> {
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(charge) = read_one(&tx, "idempotency_key", new.key.as_str())? {
                    let same = charge.order_id == new.order_id
                        && charge.customer == new.customer.as_str()
                        && charge.amount_cents == new.amount.get();
                    return Ok(if same {
                        Charged::Replayed(charge)
                    } else {
                        Charged::KeyReused { charge }
                    });
                }
                if let Some(charge) = read_one(&tx, "order_id", &new.order_id.to_string())? {
                    return Ok(Charged::OrderHasCharge { charge });
                }
                let view = ChargeView {
                    id: Uuid::now_v7(),
                    order_id: new.order_id,
                    customer: new.customer.as_str().to_string(),
                    amount_cents: new.amount.get(),
                    status: ChargeStatus::Charged,
                };
                tx.execute(
                    "INSERT INTO charges (id, idempotency_key, order_id, customer, amount_cents, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        view.id.to_string(),
                        new.key.as_str(),
                        view.order_id.to_string(),
                        view.customer,
                        view.amount_cents,
                        status_str(view.status)
                    ],
                )?;
                tx.commit()?;
                Ok(Charged::Created(view))
            })
            .await
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<ChargeView>, DbError> {
        self.db
            .call(move |conn| read_one(conn, "id", &id.to_string()))
            .await
    }

    /// The charges of one order (at most one), or of every order when `None`, oldest
    /// first.
    pub async fn list(&self, order_id: Option<Uuid>) -> Result<Vec<ChargeView>, DbError> {
        self.db
            .call(move |conn| {
                crate::db::query_all(conn, &format!(
                    "SELECT {COLUMNS} FROM charges WHERE ?1 IS NULL OR order_id = ?1 ORDER BY seq"
                ), params![order_id.map(|id| id.to_string())], view_from_row)
            })
            .await
    }

    /// Refunds the charge `id`; `None` when there is no such charge.
    pub async fn refund(&self, id: Uuid) -> Result<Option<ChargeView>, DbError> {
        self.db
            .call(move |conn| refund_where(conn, "id", &id.to_string()))
            .await
    }

    /// Refunds the charge of `order_id`; `None` when the order was never charged.
    pub async fn refund_order(&self, order_id: Uuid) -> Result<Option<ChargeView>, DbError> {
        self.db
            .call(move |conn| refund_where(conn, "order_id", &order_id.to_string()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_an_unknown_status_is_an_error_not_a_charge() {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        let order_id = Uuid::new_v4().to_string();
        for (key, status) in [("k1", "CHARGED"), ("k2", "charged?")] {
            let order = if status == "CHARGED" {
                order_id.clone()
            } else {
                Uuid::new_v4().to_string()
            };
            conn.execute(
                "INSERT INTO charges (id, idempotency_key, order_id, customer, amount_cents, status)
                 VALUES (?1, ?2, ?3, 'c', 100, ?4)",
                params![Uuid::new_v4().to_string(), key, order, status],
            )
            .expect("insert");
        }
        let good = read_one(&conn, "idempotency_key", "k1").expect("a valid row reads");
        assert_eq!(good.map(|c| c.status), Some(ChargeStatus::Charged));
        let err = read_one(&conn, "idempotency_key", "k2").expect_err("an unknown status fails");
        assert!(
            err.to_string()
                .contains("unknown charge status \"charged?\""),
            "{err}"
        );
    }

    #[test]
    fn a_row_whose_id_or_order_id_is_not_a_uuid_is_an_error_not_the_nil_charge() {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        let uuid = || Uuid::new_v4().to_string();
        for (key, id, order_id) in [
            ("k1", "ch-1".to_string(), uuid()),
            ("k2", uuid(), "order-7".to_string()),
        ] {
            conn.execute(
                "INSERT INTO charges (id, idempotency_key, order_id, customer, amount_cents, status)
                 VALUES (?1, ?2, ?3, 'c', 100, 'CHARGED')",
                params![id, key, order_id],
            )
            .expect("insert");
        }
        let err = read_one(&conn, "idempotency_key", "k1").expect_err("a corrupt id fails");
        assert!(
            err.to_string().contains("charge id \"ch-1\" is not a UUID"),
            "{err}"
        );
        let err = read_one(&conn, "idempotency_key", "k2").expect_err("a corrupt order id fails");
        assert!(
            err.to_string()
                .contains("charge order id \"order-7\" is not a UUID"),
            "{err}"
        );
    }
}
