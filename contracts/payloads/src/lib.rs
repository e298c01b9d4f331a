//! Wire payloads exchanged between the qalens reference services and read by the harness.
//!
//! Only the types in this crate cross a service boundary: HTTP bodies between the gateway,
//! orders and the consumers' inspection endpoints, and the events on the order events
//! exchange. Services convert them into their own validated domain types at the edge.
//!
//! The JSON Schemas of these payloads live in `contracts/schemas/`, listed in `index.json`
//! and compiled in ([`bundled::registry`]); the generic tooling that reads, validates and
//! compares them is the `contract-tools` crate. The `strategies` feature adds proptest
//! strategies for valid values (module `strategies`).
//!
//! Run its tests with `cargo test -p contracts`.

pub mod bundled;
#[cfg(any(test, feature = "strategies"))]
pub mod strategies;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod services;

/// The topic exchange on which orders publishes its events.
pub const ORDER_EVENTS_EXCHANGE: &str = "orders.events";
/// The direct exchange into which consumer queues dead-letter; a queue `q` dead-letters
/// with routing key `q` into `q.dlq`.
pub const DEAD_LETTER_EXCHANGE: &str = "qalens.dlx";
/// The queue the email consumer reads.
pub const EMAIL_QUEUE: &str = "email";
/// The queue the analytics consumer reads.
pub const ANALYTICS_QUEUE: &str = "analytics";

/// Header names the gateway sets on requests it forwards (and strips from clients).
pub mod headers {
    /// Request id, generated at the edge when the client sends none; echoed on replies.
    pub const REQUEST_ID: &str = "x-request-id";
}

/// `POST /orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderRequest {
    /// Who the order is for; the confirmation email goes to this customer.
    pub customer: String,
    /// Stock keeping unit, e.g. `SKU-1`.
    pub sku: String,
    /// Number of units, at least 1.
    pub quantity: u32,
}

/// The state of an order, as orders reports it. PENDING while the saga runs; CONFIRMED
/// or CANCELLED (compensated, with a reason) when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PENDING" => Ok(OrderStatus::Pending),
            "CONFIRMED" => Ok(OrderStatus::Confirmed),
            "CANCELLED" => Ok(OrderStatus::Cancelled),
            other => Err(format!(
                "unknown order status {other:?} (PENDING, CONFIRMED or CANCELLED)"
            )),
        }
    }
}

/// An order as returned by `POST /orders` and `GET /orders/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: Uuid,
    pub customer: String,
    pub sku: String,
    pub quantity: u32,
    /// Total price in cents.
    pub amount_cents: u64,
    pub status: OrderStatus,
    /// Why a CANCELLED order was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Routing keys on [`ORDER_EVENTS_EXCHANGE`].
pub mod routing {
    pub const ORDER_PLACED: &str = "order.placed";
    pub const ORDER_CONFIRMED: &str = "order.confirmed";
    pub const ORDER_CANCELLED: &str = "order.cancelled";
    /// Matches every order event.
    pub const ALL_ORDER_EVENTS: &str = "order.*";
}

/// An event on [`ORDER_EVENTS_EXCHANGE`]. The AMQP `message-id` equals `event_id`,
/// which is what consumers deduplicate on; the AMQP `type` is the variant name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OrderEvent {
    OrderPlaced(OrderPlaced),
    OrderConfirmed(OrderConfirmed),
    OrderCancelled(OrderCancelled),
}

impl OrderEvent {
    /// The event's unique id (also its AMQP message id).
    pub fn event_id(&self) -> Uuid {
        match self {
            OrderEvent::OrderPlaced(e) => e.event_id,
            OrderEvent::OrderConfirmed(e) => e.event_id,
            OrderEvent::OrderCancelled(e) => e.event_id,
        }
    }

    /// The order the event is about.
    pub fn order_id(&self) -> Uuid {
        match self {
            OrderEvent::OrderPlaced(e) => e.order_id,
            OrderEvent::OrderConfirmed(e) => e.order_id,
            OrderEvent::OrderCancelled(e) => e.order_id,
        }
    }

    /// The routing key this event is published with.
    pub fn routing_key(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced(_) => routing::ORDER_PLACED,
            OrderEvent::OrderConfirmed(_) => routing::ORDER_CONFIRMED,
            OrderEvent::OrderCancelled(_) => routing::ORDER_CANCELLED,
        }
    }

    /// The variant name, also sent as the AMQP `type` property.
    pub fn type_name(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced(_) => "OrderPlaced",
            OrderEvent::OrderConfirmed(_) => "OrderConfirmed",
            OrderEvent::OrderCancelled(_) => "OrderCancelled",
        }
    }
}

/// Published when orders accepts an order (status PENDING).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub customer: String,
    pub sku: String,
    pub quantity: u32,
}

/// Published when the saga confirmed an order: stock reserved and payment charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderConfirmed {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub customer: String,
    pub sku: String,
    pub quantity: u32,
    pub amount_cents: u64,
}

/// Published when the saga cancelled an order and compensated what it had done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub customer: String,
    pub reason: String,
}

/// An email the email consumer recorded (`GET /internal/emails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRecord {
    /// The AMQP message id of the event that caused it.
    pub message_id: String,
    pub order_id: Uuid,
    pub to: String,
    pub subject: String,
}

/// An error body as in RFC 9457 (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI reference naming the problem type; `about:blank` when only the status matters.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_type_and_round_trip() {
        let event = OrderEvent::OrderPlaced(OrderPlaced {
            event_id: Uuid::nil(),
            order_id: Uuid::nil(),
            customer: "alice".into(),
            sku: "SKU-1".into(),
            quantity: 2,
        });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "OrderPlaced");
        assert_eq!(json["quantity"], 2);
        let back: OrderEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn place_order_rejects_unknown_fields() {
        let err = serde_json::from_str::<PlaceOrderRequest>(
            r#"{"customer":"a","sku":"S","quantity":1,"qty":2}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn order_status_uses_screaming_case() {
        assert_eq!(
            serde_json::to_string(&OrderStatus::Confirmed).unwrap(),
            "\"CONFIRMED\""
        );
    }
}
