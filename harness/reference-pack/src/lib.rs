//! The reference pack: what only the reference system's domain knows (orders, charges,
//! reservations, confirmation emails, analytics counts, the order events exchange and
//! the bundled contracts' Rust types). A system file enables it with
//! `x-qalens.packs: [reference]`; every step here starts with `domain::require`. The
//! step modules (conformance, events, orders, stock) share only `domain`, never each other.
#![warn(unreachable_pub)]

mod catalog;
mod conformance;
mod domain;
mod events;
mod orders;
mod stock;

use qalens_model::system::Pack;
use qalens_steps::packs::{BenchProbe, PackInfo};

pub use catalog::DOCS;

/// The name a system file enables the pack by.
pub const NAME: &str = "reference";

/// The scopes a client of the reference gateway gets unless a step narrows them: every
/// non-admin route scope.
pub(crate) const SCOPES: &str =
    "orders:write orders:read payments:read inventory:read limited:read";

/// The bundled reference contracts (compiled into the binary).
pub(crate) fn registry() -> &'static contract_tools::schema::Registry {
    ::contracts::bundled::registry()
}

/// Stock of one SKU from inventory: cheap, read-only, behind one scope.
const BENCH_PROBE: BenchProbe = BenchProbe {
    path: "/inventory/stock/SKU-1",
    service: "inventory",
    port: 8080,
    scope: "inventory:read",
};

inventory::submit! {
    PackInfo {
        pack: Pack::Reference,
        name: NAME,
        source: "reference-pack/src/",
        docs: DOCS,
        contracts: Some(registry),
        scopes: SCOPES,
        bench_probe: Some(BENCH_PROBE),
    }
}
