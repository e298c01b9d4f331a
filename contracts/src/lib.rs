//! Wire payloads exchanged between the qalens reference services and read by the harness.
//!
//! Only the types in this crate cross a service boundary: HTTP bodies between the gateway,
//! orders and the consumers' inspection endpoints, and the events on the order events
//! exchange. Services convert them into their own validated domain types at the edge.
//!
//! Run its tests with `cargo test -p contracts`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The topic exchange on which orders publishes its events.
pub const ORDER_EVENTS_EXCHANGE: &str = "orders.events";
/// The direct exchange into which consumer queues dead-letter; a queue `q` dead-letters
/// with routing key `q` into `q.dlq`.
pub const DEAD_LETTER_EXCHANGE: &str = "qalens.dlx";
/// The queue the email consumer reads.
pub const EMAIL_QUEUE: &str = "email";

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

/// The state of an order, as orders reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Cancelled,
}

/// An order as returned by `POST /orders` and `GET /orders/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: Uuid,
    pub customer: String,
    pub sku: String,
    pub quantity: u32,
    pub status: OrderStatus,
}

/// Routing keys on [`ORDER_EVENTS_EXCHANGE`].
pub mod routing {
    pub const ORDER_PLACED: &str = "order.placed";
}

/// An event on [`ORDER_EVENTS_EXCHANGE`]. The AMQP `message-id` equals `event_id`,
/// which is what consumers deduplicate on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OrderEvent {
    OrderPlaced(OrderPlaced),
}

impl OrderEvent {
    /// The event's unique id (also its AMQP message id).
    pub fn event_id(&self) -> Uuid {
        match self {
            OrderEvent::OrderPlaced(e) => e.event_id,
        }
    }

    /// The routing key this event is published with.
    pub fn routing_key(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced(_) => routing::ORDER_PLACED,
        }
    }
}

/// Published once per order accepted by orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub customer: String,
    pub sku: String,
    pub quantity: u32,
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
