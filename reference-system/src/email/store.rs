//! The email consumer's own database.
//!
//! **Invariant:** a message id is recorded as processed in the same transaction as the
//! email it caused, so a redelivered message never causes a second email.

use contracts::EmailRecord;
use rusqlite::params;
use uuid::Uuid;

use crate::db::{Db, DbError};

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

    pub async fn emails(&self, order_id: Option<Uuid>) -> Result<Vec<EmailRecord>, DbError> {
        self.db
            .call(move |conn| {
                let filter = order_id.map(|id| id.to_string());
                crate::db::query_all(
                    conn,
                    "SELECT message_id, order_id, recipient, subject FROM emails
                     WHERE ?1 IS NULL OR order_id = ?1 ORDER BY seq",
                    params![filter],
                    |r| {
                        let order_id: String = r.get(1)?;
                        Ok(EmailRecord {
                            message_id: r.get(0)?,
                            order_id: Uuid::parse_str(&order_id).unwrap_or_default(),
                            to: r.get(2)?,
                            subject: r.get(3)?,
                        })
                    },
                )
            })
            .await
    }
}
