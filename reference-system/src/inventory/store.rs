//! Inventory's own database: stock per SKU and one reservation per order.
//!
//! **Invariant:** stock is conserved: for every SKU, `available` plus the units of its
//! RESERVED reservations equals its initial stock. Every change to `available` is made
//! in the same transaction as the reservation change that causes it, and `available`
//! can never go below zero.

use contracts::services::{ReservationStatus, ReservationView, StockView};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::domain::{InitialStock, Quantity, Sku};
use crate::db::{self, Db, DbError};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stock (
    sku TEXT PRIMARY KEY,
    initial INTEGER NOT NULL,
    available INTEGER NOT NULL CHECK (available >= 0)
);
CREATE TABLE IF NOT EXISTS reservations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL UNIQUE,
    sku TEXT NOT NULL REFERENCES stock (sku),
    quantity INTEGER NOT NULL,
    status TEXT NOT NULL
);
";

/// A validated reservation request.
pub struct NewReservation {
    pub order_id: Uuid,
    pub sku: Sku,
    pub quantity: Quantity,
}

/// What `reserve` did.
pub enum Reserved {
    /// Units taken from stock for the order.
    Created(ReservationView),
    /// The order already has this very reservation (possibly released since).
    Existing(ReservationView),
    /// The order already has a different reservation; nothing changed.
    Conflict(ReservationView),
    /// No such SKU; nothing changed.
    UnknownSku,
    /// Fewer units available than requested; nothing changed.
    Insufficient { available: u32 },
}

fn status_str(s: ReservationStatus) -> &'static str {
    match s {
        ReservationStatus::Reserved => "RESERVED",
        ReservationStatus::Released => "RELEASED",
    }
}

/// Every reservation status, as `status_str` writes them.
const STATUSES: [ReservationStatus; 2] = [ReservationStatus::Reserved, ReservationStatus::Released];

const RESERVATION_COLUMNS: &str = "order_id, sku, quantity, status";

fn reservation_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReservationView> {
    Ok(ReservationView {
        order_id: db::read_uuid(row, 0, "reservation order id")?,
        sku: row.get(1)?,
        quantity: row.get(2)?,
        status: db::read_text(row, 3, "reservation status", &STATUSES, status_str)?,
    })
}

/// What `reserve` answers when the order already has `existing`: the same reservation
/// (whatever its status) or a conflicting one.
fn already_reserved(existing: ReservationView, new: &NewReservation) -> Reserved {
    if existing.sku == new.sku.as_str() && existing.quantity == new.quantity.get() {
        Reserved::Existing(existing)
    } else {
        Reserved::Conflict(existing)
    }
}

/// Units of `sku` available now; `None` when inventory does not stock it.
fn read_available(conn: &Connection, sku: &str) -> rusqlite::Result<Option<u32>> {
    conn.query_row(
        "SELECT available FROM stock WHERE sku = ?1",
        params![sku],
        |r| r.get(0),
    )
    .optional()
}

/// Records the RESERVED reservation `new` (the stock change is the caller's).
fn insert_reservation(
    conn: &Connection,
    new: &NewReservation,
) -> rusqlite::Result<ReservationView> {
    let view = ReservationView {
        order_id: new.order_id,
        sku: new.sku.as_str().to_string(),
        quantity: new.quantity.get(),
        status: ReservationStatus::Reserved,
    };
    conn.execute(
        "INSERT INTO reservations (order_id, sku, quantity, status) VALUES (?1, ?2, ?3, ?4)",
        params![
            view.order_id.to_string(),
            view.sku,
            view.quantity,
            status_str(view.status)
        ],
    )?;
    Ok(view)
}

fn read_reservation(
    conn: &Connection,
    order_id: Uuid,
) -> rusqlite::Result<Option<ReservationView>> {
    conn.query_row(
        &format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE order_id = ?1"),
        params![order_id.to_string()],
        reservation_from_row,
    )
    .optional()
}

/// Every reservation, oldest first.
fn read_reservations(conn: &Connection) -> rusqlite::Result<Vec<ReservationView>> {
    db::query_all(
        conn,
        &format!("SELECT {RESERVATION_COLUMNS} FROM reservations ORDER BY seq"),
        [],
        reservation_from_row,
    )
}

/// Stock of `sku`, or of every SKU when `None`, ordered by SKU.
fn read_stock(conn: &Connection, sku: Option<&str>) -> rusqlite::Result<Vec<StockView>> {
    crate::db::query_all(
        conn,
        "SELECT s.sku, s.available, COALESCE(SUM(r.quantity), 0)
         FROM stock s
         LEFT JOIN reservations r ON r.sku = s.sku AND r.status = 'RESERVED'
         WHERE ?1 IS NULL OR s.sku = ?1
         GROUP BY s.sku
         ORDER BY s.sku",
        params![sku],
        |row| {
            Ok(StockView {
                sku: row.get(0)?,
                available: row.get(1)?,
                reserved: row.get(2)?,
            })
        },
    )
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Adds the SKUs of `initial` that the database does not know yet; SKUs already
    /// there keep their state.
    pub async fn seed(&self, initial: &InitialStock) -> Result<(), DbError> {
        let entries: Vec<(String, u32)> = initial
            .entries()
            .iter()
            .map(|(sku, units)| (sku.as_str().to_string(), *units))
            .collect();
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for (sku, units) in &entries {
                    tx.execute(
                        "INSERT OR IGNORE INTO stock (sku, initial, available) VALUES (?1, ?2, ?2)",
                        params![sku, units],
                    )?;
                }
                tx.commit()
            })
            .await
    }

    /// Reserves units for an order, at most once per order, in one transaction: the
    /// check of the stock and the taking of it cannot be separated by another order's.
    pub async fn reserve(&self, new: NewReservation) -> Result<Reserved, DbError> {
        // DEFECT(reserve-check-then-act): checked in one transaction, taken in another.
        if crate::defects::on(crate::defects::Defect::ReserveCheckThenAct) {
            return self.reserve_check_then_act(new).await;
        }
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(existing) = read_reservation(&tx, new.order_id)? {
                    return Ok(already_reserved(existing, &new));
                }
                let Some(available) = read_available(&tx, new.sku.as_str())? else {
                    return Ok(Reserved::UnknownSku);
                };
                if available < new.quantity.get() {
                    return Ok(Reserved::Insufficient { available });
                }
                tx.execute(
                    "UPDATE stock SET available = available - ?1 WHERE sku = ?2",
                    params![new.quantity.get(), new.sku.as_str()],
                )?;
                let view = insert_reservation(&tx, &new)?;
                tx.commit()?;
                Ok(Reserved::Created(view))
            })
            .await
    }

    /// The `reserve-check-then-act` defect: the reservation and the stock are read in one
    /// transaction, and the stock computed from that read is written with the reservation
    /// in a second one. Another order's reservation can commit in between (each
    /// transaction is its own trip to the database, [`crate::defects::CHECK_TO_ACT`]
    /// apart), and its units are written over.
    async fn reserve_check_then_act(&self, new: NewReservation) -> Result<Reserved, DbError> {
        let (order_id, sku) = (new.order_id, new.sku.as_str().to_string());
        let (existing, available) = self
            .db
            .call(move |conn| {
                Ok((
                    read_reservation(conn, order_id)?,
                    read_available(conn, &sku)?,
                ))
            })
            .await?;
        if let Some(existing) = existing {
            return Ok(already_reserved(existing, &new));
        }
        let Some(available) = available else {
            return Ok(Reserved::UnknownSku);
        };
        if available < new.quantity.get() {
            return Ok(Reserved::Insufficient { available });
        }
        let left = available - new.quantity.get();
        tokio::time::sleep(crate::defects::CHECK_TO_ACT).await;
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "UPDATE stock SET available = ?1 WHERE sku = ?2",
                    params![left, new.sku.as_str()],
                )?;
                let view = insert_reservation(&tx, &new)?;
                tx.commit()?;
                Ok(Reserved::Created(view))
            })
            .await
    }

    /// Stocks a SKU inventory does not know yet with `units`: the stock it now has, or
    /// `None` (nothing changed) when the SKU is already stocked.
    pub async fn add_sku(&self, sku: &Sku, units: u32) -> Result<Option<StockView>, DbError> {
        let sku = sku.as_str().to_string();
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let added = tx.execute(
                    "INSERT OR IGNORE INTO stock (sku, initial, available) VALUES (?1, ?2, ?2)",
                    params![sku, units],
                )?;
                let view = read_stock(&tx, Some(&sku))?.into_iter().next();
                tx.commit()?;
                Ok(view.filter(|_| added == 1))
            })
            .await
    }

    /// Returns the order's units to stock, once: releasing a RELEASED reservation changes
    /// nothing. `None` when the order never had a reservation.
    pub async fn release(&self, order_id: Uuid) -> Result<Option<ReservationView>, DbError> {
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(mut view) = read_reservation(&tx, order_id)? else {
                    return Ok(None);
                };
                // DEFECT(release-twice): a released reservation's units go back again.
                if view.status == ReservationStatus::Reserved
                    || crate::defects::on(crate::defects::Defect::ReleaseTwice)
                {
                    tx.execute(
                        "UPDATE stock SET available = available + ?1 WHERE sku = ?2",
                        params![view.quantity, view.sku],
                    )?;
                    view.status = ReservationStatus::Released;
                    tx.execute(
                        "UPDATE reservations SET status = ?1 WHERE order_id = ?2",
                        params![status_str(view.status), order_id.to_string()],
                    )?;
                }
                tx.commit()?;
                Ok(Some(view))
            })
            .await
    }

    pub async fn reservation(&self, order_id: Uuid) -> Result<Option<ReservationView>, DbError> {
        self.db
            .call(move |conn| read_reservation(conn, order_id))
            .await
    }

    /// Every reservation, oldest first.
    pub async fn reservations(&self) -> Result<Vec<ReservationView>, DbError> {
        self.db.call(|conn| read_reservations(conn)).await
    }

    /// Stock of one SKU; `None` when inventory does not stock it.
    pub async fn stock(&self, sku: &Sku) -> Result<Option<StockView>, DbError> {
        let sku = sku.as_str().to_string();
        self.db
            .call(move |conn| Ok(read_stock(conn, Some(&sku))?.into_iter().next()))
            .await
    }

    /// Stock of every SKU, ordered by SKU.
    pub async fn all_stock(&self) -> Result<Vec<StockView>, DbError> {
        self.db.call(|conn| read_stock(conn, None)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_an_unknown_status_is_an_error_not_a_reservation() {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        conn.execute(
            "INSERT INTO stock (sku, initial, available) VALUES ('SKU-1', 10, 10)",
            [],
        )
        .expect("stock");
        let (good, bad) = (Uuid::new_v4(), Uuid::new_v4());
        for (order_id, status) in [(good, "RELEASED"), (bad, "")] {
            conn.execute(
                "INSERT INTO reservations (order_id, sku, quantity, status) VALUES (?1, 'SKU-1', 1, ?2)",
                params![order_id.to_string(), status],
            )
            .expect("insert");
        }
        let view = read_reservation(&conn, good).expect("a valid row reads");
        assert_eq!(view.map(|r| r.status), Some(ReservationStatus::Released));
        let err = read_reservation(&conn, bad).expect_err("an unknown status fails");
        assert!(
            err.to_string().contains("unknown reservation status \"\""),
            "{err}"
        );
    }

    #[test]
    fn a_row_whose_order_id_is_not_a_uuid_is_an_error_not_the_nil_order() {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        conn.execute(
            "INSERT INTO stock (sku, initial, available) VALUES ('SKU-1', 10, 9)",
            [],
        )
        .expect("stock");
        conn.execute(
            "INSERT INTO reservations (order_id, sku, quantity, status) VALUES ('', 'SKU-1', 1, 'RESERVED')",
            [],
        )
        .expect("insert");
        let err = read_reservations(&conn).expect_err("a corrupt order id fails");
        assert!(
            err.to_string()
                .contains("reservation order id \"\" is not a UUID"),
            "{err}"
        );
    }
}
