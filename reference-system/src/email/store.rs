//! The email consumer's own database.
//!
//! **Invariant:** a message id is recorded as processed in the same transaction as the
//! email it caused, so a redelivered message never causes a second email.

use contracts::EmailRecord;
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::db::{self, Db, DbError};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS processed_messages (
    message_id TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS emails (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS emails_by_order ON emails(order_id);
";

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records `email` unless `email.message_id` was processed before. Returns whether it
    /// was recorded now.
    pub async fn record_once(&self, email: EmailRecord) -> Result<bool, DbError> {
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO processed_messages (message_id) VALUES (?1)",
                    params![email.message_id],
                )? == 1;
                // DEFECT(consumer-no-dedupe): every delivery sends, seen before or not.
                let fresh = fresh || crate::defects::on(crate::defects::Defect::ConsumerNoDedupe);
                if fresh {
                    tx.execute(
                        "INSERT INTO emails (message_id, order_id, recipient, subject) VALUES (?1, ?2, ?3, ?4)",
                        params![email.message_id, email.order_id.to_string(), email.to, email.subject],
                    )?;
                }
                tx.commit()?;
                Ok(fresh)
            })
            .await
    }

    /// The emails recorded for `order_id`, or all of them when `None`, oldest first.
    pub async fn emails(&self, order_id: Option<Uuid>) -> Result<Vec<EmailRecord>, DbError> {
        self.db.call(move |conn| read_emails(conn, order_id)).await
    }
}

/// The emails recorded for `order_id`, or all of them when `None`, oldest first.
fn read_emails(conn: &Connection, order_id: Option<Uuid>) -> rusqlite::Result<Vec<EmailRecord>> {
    let filter = order_id.map(|id| id.to_string());
    db::query_all(
        conn,
        "SELECT message_id, order_id, recipient, subject FROM emails
         WHERE ?1 IS NULL OR order_id = ?1 ORDER BY seq",
        params![filter],
        |r| {
            Ok(EmailRecord {
                message_id: r.get(0)?,
                order_id: db::read_uuid(r, 1, "email order id")?,
                to: r.get(2)?,
                subject: r.get(3)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_whose_order_id_is_not_a_uuid_is_an_error_not_the_nil_order() {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        let good = Uuid::new_v4();
        for (message_id, order_id) in [("m1", good.to_string()), ("m2", "#42".to_string())] {
            conn.execute(
                "INSERT INTO emails (message_id, order_id, recipient, subject) VALUES (?1, ?2, 'a@b', 's')",
                params![message_id, order_id],
            )
            .expect("insert");
        }
        let emails = read_emails(&conn, Some(good)).expect("a valid row reads");
        assert_eq!(emails.len(), 1);
        assert_eq!(emails[0].order_id, good);
        let err = read_emails(&conn, None).expect_err("a corrupt order id fails");
        assert!(
            err.to_string()
                .contains("email order id \"#42\" is not a UUID"),
            "{err}"
        );
    }
}
