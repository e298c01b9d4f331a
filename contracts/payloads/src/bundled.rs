//! The reference system's contracts (`contracts/schemas/`), compiled in.

use std::path::Path;
use std::sync::OnceLock;

use contract_tools::schema::{INDEX_FILE, Registry};

/// Every file of `contracts/schemas/`, compiled in. A test fails when the directory has
/// a file that is missing here.
const BUNDLED_FILES: &[(&str, &str)] = &[
    (INDEX_FILE, include_str!("../../schemas/index.json")),
    (
        "Charge.v1.json",
        include_str!("../../schemas/Charge.v1.json"),
    ),
    (
        "ChargeList.v1.json",
        include_str!("../../schemas/ChargeList.v1.json"),
    ),
    (
        "ChargeRequest.v1.json",
        include_str!("../../schemas/ChargeRequest.v1.json"),
    ),
    (
        "IdentityHeaders.v1.json",
        include_str!("../../schemas/IdentityHeaders.v1.json"),
    ),
    ("Order.v1.json", include_str!("../../schemas/Order.v1.json")),
    (
        "OrderCancelled.v1.json",
        include_str!("../../schemas/OrderCancelled.v1.json"),
    ),
    (
        "OrderConfirmed.v1.json",
        include_str!("../../schemas/OrderConfirmed.v1.json"),
    ),
    (
        "OrderPlaced.v1.json",
        include_str!("../../schemas/OrderPlaced.v1.json"),
    ),
    (
        "PlaceOrderRequest.v1.json",
        include_str!("../../schemas/PlaceOrderRequest.v1.json"),
    ),
    (
        "Problem.v1.json",
        include_str!("../../schemas/Problem.v1.json"),
    ),
    (
        "Reservation.v1.json",
        include_str!("../../schemas/Reservation.v1.json"),
    ),
    (
        "ReservationRequest.v1.json",
        include_str!("../../schemas/ReservationRequest.v1.json"),
    ),
];

/// The contracts of `contracts/schemas/`, compiled into this crate.
///
/// # Panics
/// When the bundled files are invalid, which this crate's tests rule out.
pub fn registry() -> &'static Registry {
    static BUNDLED: OnceLock<Registry> = OnceLock::new();
    BUNDLED.get_or_init(|| {
        Registry::from_files(
            &Path::new("contracts/schemas").join(INDEX_FILE),
            BUNDLED_FILES,
        )
        .unwrap_or_else(|e| panic!("the bundled contracts are invalid: {e}"))
    })
}

#[cfg(test)]
mod tests;
