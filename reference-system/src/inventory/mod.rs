//! Inventory: stock per SKU and one reservation per order, in its own SQLite database.
//!
//! Stock is conserved: for every SKU, available plus reserved units equals its initial
//! stock. Reserving is idempotent per order; releasing returns the units once.
//!
//! Configuration (environment, with defaults):
//! - `INVENTORY_BIND` (`0.0.0.0:8080`): listen address.
//! - `INVENTORY_DB` (`/data/inventory.db`): SQLite file, kept across restarts.
//! - `INVENTORY_STOCK` (`SKU-1=1000,SKU-2=1000,SKU-3=1000,SKU-SCARCE=1`): initial units
//!   per SKU, applied only to SKUs the database does not know yet (so stock survives
//!   restarts, and a new SKU can be added by a restart).

mod domain;
mod error;
mod routes;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use domain::{InitialStock, Quantity, Sku};
pub use error::InventoryError;
pub use routes::router;
pub use store::{SCHEMA, Store};

use crate::config::{ConfigError, parse_or, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: PathBuf,
    /// Initial units per SKU, for SKUs not yet in the database.
    pub stock: InitialStock,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let stock = var_or("INVENTORY_STOCK", InitialStock::DEFAULT);
        Ok(Self {
            bind: parse_or("INVENTORY_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            database: PathBuf::from(var_or("INVENTORY_DB", "/data/inventory.db")),
            stock: stock.parse().map_err(|reason| ConfigError {
                name: "INVENTORY_STOCK",
                value: stock,
                reason,
            })?,
        })
    }
}

/// State shared by the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

pub use crate::server::Application;

impl crate::server::Service for Config {
    const NAME: &'static str = "inventory";

    fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Opens the database and adds the SKUs it does not know yet.
    async fn assemble(self) -> anyhow::Result<(axum::Router, crate::server::Background)> {
        let db = crate::db::Db::open(&self.database, store::SCHEMA)?;
        let store = Store::new(db);
        store.seed(&self.stock).await?;
        Ok((router(AppState { store }), Default::default()))
    }
}
