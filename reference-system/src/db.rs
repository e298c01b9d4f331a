//! A service's own SQLite database, used from async code.
//!
//! SQLite calls block, so they run on the blocking pool; one connection per service is
//! enough at this scale and keeps transactions trivially serialisable.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use uuid::Uuid;

#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("database lock poisoned")]
    Poisoned,
}

/// The error for a text column holding a value the service never writes (a corrupt row):
/// the read fails, and the request with it as an internal error, instead of guessing.
pub fn unknown_value(column: usize, what: &str, value: &str) -> rusqlite::Error {
    corrupt(column, format!("unknown {what} {value:?}"))
}

/// A corrupt text column, `message` saying why.
fn corrupt(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

/// Reads a text column that stores a UUID (as `Uuid::to_string` writes it): the UUID, or
/// for any other text an error naming it, so a corrupt id fails the read as an unknown
/// status does ([`unknown_value`]) instead of becoming the nil UUID.
pub fn read_uuid(row: &rusqlite::Row<'_>, column: usize, what: &str) -> rusqlite::Result<Uuid> {
    let stored: String = row.get(column)?;
    Uuid::parse_str(&stored)
        .map_err(|_| corrupt(column, format!("{what} {stored:?} is not a UUID")))
}

/// Reads a text column that stores one of `values` as `text(value)`: the value whose text
/// it holds, or the [`unknown_value`] error for any other text. `text` is a `match`, so a
/// new variant without its text does not compile; `values` lists every variant.
pub fn read_text<T: Copy>(
    row: &rusqlite::Row<'_>,
    column: usize,
    what: &str,
    values: &[T],
    text: fn(T) -> &'static str,
) -> rusqlite::Result<T> {
    let stored: String = row.get(column)?;
    values
        .iter()
        .copied()
        .find(|v| text(*v) == stored)
        .ok_or_else(|| unknown_value(column, what, &stored))
}

/// Every row `sql` selects with `params`, each mapped by `map`, collected (a `Vec`, a
/// map of pairs, ...).
pub fn query_all<T, C: FromIterator<T>, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<C> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params, map)?;
    rows.collect()
}

impl Db {
    /// Opens (creating when missing) the database at `path` and applies `schema`.
    pub fn open(path: &Path, schema: &str) -> Result<Self, DbError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )?;
        conn.execute_batch(schema)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<R, rusqlite::Error> + Send + 'static,
        R: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| DbError::Poisoned)?;
            f(&mut guard).map_err(DbError::from)
        })
        .await?
    }
}
