//! Wire payloads of the payments and inventory services.
//!
//! Request bodies reject unknown fields, so a misspelt field is a 400 rather than a
//! silently ignored value. Statuses serialise in `SCREAMING_SNAKE_CASE`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The request header that makes `POST /payments/charges` safe to retry (required there).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// `POST /payments/charges` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// The order this charge pays for; an order is charged at most once.
    pub order_id: Uuid,
    /// Who pays; customer ids starting with `broke` are always declined (402).
    pub customer: String,
    /// Amount in cents, 1 to 10 000 000.
    pub amount_cents: u64,
}

/// The state of a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChargeStatus {
    Charged,
    Refunded,
}

/// A charge as payments reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer: String,
    /// Amount in cents.
    pub amount_cents: u64,
    pub status: ChargeStatus,
}

/// `POST /inventory/reservations` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    /// The order the units are held for; an order has at most one reservation.
    pub order_id: Uuid,
    /// Stock keeping unit, e.g. `SKU-1`.
    pub sku: String,
    /// Units to hold, 1 to 1000.
    pub quantity: u32,
}

/// The state of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    /// The units are held and not available to others.
    Reserved,
    /// The units went back to stock.
    Released,
}

/// A reservation as inventory reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationView {
    pub order_id: Uuid,
    pub sku: String,
    pub quantity: u32,
    pub status: ReservationStatus,
}

/// Stock of one SKU. For every SKU, `available + reserved` equals the initial stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockView {
    pub sku: String,
    /// Units that can still be reserved.
    pub available: u32,
    /// Units held by reservations in status `RESERVED`.
    pub reserved: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_reject_unknown_fields() {
        let id = Uuid::nil();
        let err = serde_json::from_str::<ChargeRequest>(&format!(
            r#"{{"order_id":"{id}","customer":"a","amount_cents":1,"currency":"EUR"}}"#
        ))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let err = serde_json::from_str::<ReservationRequest>(&format!(
            r#"{{"order_id":"{id}","sku":"S","quantity":1,"qty":1}}"#
        ))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn statuses_use_screaming_case() {
        assert_eq!(
            serde_json::to_string(&ChargeStatus::Refunded).unwrap(),
            "\"REFUNDED\""
        );
        assert_eq!(
            serde_json::to_string(&ReservationStatus::Reserved).unwrap(),
            "\"RESERVED\""
        );
    }

    #[test]
    fn views_round_trip() {
        let view = ChargeView {
            id: Uuid::nil(),
            order_id: Uuid::nil(),
            customer: "alice".into(),
            amount_cents: 1250,
            status: ChargeStatus::Charged,
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["status"], "CHARGED");
        assert_eq!(serde_json::from_value::<ChargeView>(json).unwrap(), view);
    }
}
