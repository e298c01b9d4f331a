//! Orders' outbox relay publishing the events of real orders (payments and inventory run
//! in-process) to the events exchange, read from a queue of the test's own.

use std::sync::Arc;
use std::time::Duration;

use contracts::{OrderEvent, OrderStatus, OrderView};
use lapin::Channel;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use serde_json::json;

use crate::helpers::{
    TestApp, eventually, spawn_inventory, spawn_orders_with, spawn_payments, temp_db,
};
use crate::support::{Broker, DEADLINE, Message, connect, get, take_all, unique};

/// Declares a durable quorum queue bound to every order event, to read what orders
/// publishes (declaring the events exchange first: orders may not have yet).
pub async fn tap(channel: &Channel, name: &str) {
    refsys::amqp::declare_events_exchange(channel)
        .await
        .expect("declare the events exchange");
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .expect("declare the tap queue");
    channel
        .queue_bind(
            name.into(),
            contracts::ORDER_EVENTS_EXCHANGE.into(),
            contracts::routing::ALL_ORDER_EVENTS.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind the tap queue");
}

/// Payments, inventory (`SKU-1=10,SKU-SCARCE=1`) and orders on `amqp_url`.
pub struct Shop {
    pub orders: TestApp,
    _payments: TestApp,
    _inventory: TestApp,
}

pub async fn shop(amqp_url: &str) -> Shop {
    let payments = spawn_payments().await;
    let inventory = spawn_inventory("SKU-1=10,SKU-SCARCE=1").await;
    let orders = spawn_orders_with(
        temp_db("orders"),
        amqp_url,
        &payments.url(""),
        &inventory.url(""),
        Duration::from_secs(600),
    )
    .await;
    Shop {
        orders,
        _payments: payments,
        _inventory: inventory,
    }
}

/// Places an order and waits until its saga ended; returns it as it ended.
pub async fn place_and_settle(
    orders: &TestApp,
    customer: &str,
    sku: &str,
    quantity: u32,
) -> OrderView {
    let res = orders
        .http
        .post(orders.url("/orders"))
        .header("x-client-id", customer)
        .json(&json!({"customer": customer, "sku": sku, "quantity": quantity}))
        .send()
        .await
        .expect("POST /orders");
    assert_eq!(res.status(), 201, "POST /orders");
    let order: OrderView = res.json().await.unwrap();
    eventually(DEADLINE, || async {
        let o: OrderView = get(orders, &format!("/internal/orders/{}", order.id)).await;
        if o.status == OrderStatus::Pending {
            Err(format!("{o:?}"))
        } else {
            Ok(o)
        }
    })
    .await
}

/// A mark as the harness sends it: W3C trace context and baggage.
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const BAGGAGE: &str = "qalens.scenario=s-relay,tenant=t1";

/// The messages of an order placed with a trace context and baggage carry them in their
/// AMQP headers, those of its saga's end included; an order placed without carries none.
pub async fn an_order_s_events_carry_the_trace_context_of_the_request_that_placed_it(
    broker: Arc<Broker>,
) {
    let url = broker.vhost("relay-trace").await;
    let (_conn, ch) = connect(&url).await;
    let queue = unique("relay-trace-tap");
    tap(&ch, &queue).await;
    let shop = shop(&url).await;

    let res = shop
        .orders
        .http
        .post(shop.orders.url("/orders"))
        .header("x-client-id", "kim")
        .header("traceparent", TRACEPARENT)
        .header("baggage", BAGGAGE)
        .json(&json!({"customer": "kim", "sku": "SKU-1", "quantity": 1}))
        .send()
        .await
        .expect("POST /orders");
    assert_eq!(res.status(), 201);
    let marked: OrderView = res.json().await.unwrap();
    let unmarked = place_and_settle(&shop.orders, "lou", "SKU-1", 1).await;

    let mut read = vec![];
    for m in events_of(&ch, &queue, &marked, 2, &mut read).await {
        assert_eq!(
            m.headers.get("traceparent").map(String::as_str),
            Some(TRACEPARENT),
            "{m:?}"
        );
        let baggage = m.headers.get("baggage").cloned().unwrap_or_default();
        assert!(baggage.contains("qalens.scenario=s-relay"), "{m:?}");
        assert!(baggage.contains("tenant=t1"), "{m:?}");
    }
    for m in events_of(&ch, &queue, &unmarked, 2, &mut read).await {
        assert!(!m.headers.contains_key("traceparent"), "{m:?}");
        assert!(!m.headers.contains_key("baggage"), "{m:?}");
    }
}

/// Orders' count of outbox rows not yet confirmed by the broker.
pub async fn outbox_pending(orders: &TestApp) -> u64 {
    let v: serde_json::Value = get(orders, "/internal/outbox").await;
    v["pending"].as_u64().unwrap_or_else(|| panic!("{v}"))
}

/// Reads `queue` until `count` messages about `order` were taken (others are kept and
/// returned too), failing after [`DEADLINE`].
pub async fn events_of(
    channel: &Channel,
    queue: &str,
    order: &OrderView,
    count: usize,
    read: &mut Vec<Message>,
) -> Vec<Message> {
    let about = |read: &[Message]| -> Vec<Message> {
        read.iter()
            .filter(|m| m.event().order_id() == order.id)
            .cloned()
            .collect()
    };
    // Polled like `eventually` does (the reads accumulate, so it cannot use it as is).
    let end = tokio::time::Instant::now() + DEADLINE;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticks.tick().await;
        read.extend(take_all(channel, queue).await);
        let mine = about(read);
        if mine.len() >= count {
            return mine;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "not {count} events of order {} within {DEADLINE:?}; read: {read:#?}",
            order.id
        );
    }
}

/// Checks what the relay promises for every message: sent to the events exchange with
/// the event's routing key, persistent, message id = event id, type = variant name.
pub fn assert_published_as_orders_does(m: &Message) {
    let event = m.event();
    assert_eq!(m.exchange, contracts::ORDER_EVENTS_EXCHANGE, "{m:?}");
    assert_eq!(m.routing_key, event.routing_key(), "{m:?}");
    assert_eq!(
        m.message_id.as_deref(),
        Some(event.event_id().to_string().as_str()),
        "message id = event id: {m:?}"
    );
    assert_eq!(m.delivery_mode, Some(2), "persistent: {m:?}");
    assert_eq!(m.kind.as_deref(), Some(event.type_name()), "{m:?}");
    assert_eq!(m.content_type.as_deref(), Some("application/json"), "{m:?}");
}

pub async fn an_order_s_events_are_published_persistent_with_their_event_id(broker: Arc<Broker>) {
    let url = broker.vhost("relay").await;
    let (_conn, ch) = connect(&url).await;
    let queue = unique("relay-tap");
    tap(&ch, &queue).await;
    let shop = shop(&url).await;

    let order = place_and_settle(&shop.orders, "ivan", "SKU-1", 2).await;
    assert_eq!(order.status, OrderStatus::Confirmed, "{order:?}");
    let refused = place_and_settle(&shop.orders, "judy", "SKU-SCARCE", 5).await;
    assert_eq!(refused.status, OrderStatus::Cancelled, "{refused:?}");

    let mut read = vec![];
    let confirmed = events_of(&ch, &queue, &order, 2, &mut read).await;
    let cancelled = events_of(&ch, &queue, &refused, 2, &mut read).await;
    eventually(DEADLINE, || async {
        match outbox_pending(&shop.orders).await {
            0 => Ok(()),
            n => Err(format!("{n} events pending")),
        }
    })
    .await;
    read.extend(take_all(&ch, &queue).await);
    assert_eq!(read.len(), 4, "each event once: {read:#?}");
    for m in &read {
        assert_published_as_orders_does(m);
    }

    // In the order they happened.
    match (confirmed[0].event(), confirmed[1].event()) {
        (OrderEvent::OrderPlaced(p), OrderEvent::OrderConfirmed(c)) => {
            assert_eq!(
                (p.customer.as_str(), p.sku.as_str(), p.quantity),
                ("ivan", "SKU-1", 2)
            );
            assert_eq!((c.customer.as_str(), c.quantity), ("ivan", 2));
            assert_eq!(c.amount_cents, order.amount_cents);
            assert_ne!(p.event_id, c.event_id);
        }
        other => panic!("expected OrderPlaced then OrderConfirmed: {other:?}"),
    }
    match (cancelled[0].event(), cancelled[1].event()) {
        (OrderEvent::OrderPlaced(p), OrderEvent::OrderCancelled(c)) => {
            assert_eq!((p.customer.as_str(), p.quantity), ("judy", 5));
            assert_eq!(c.customer, "judy");
            assert!(c.reason.contains("insufficient stock"), "{c:?}");
        }
        other => panic!("expected OrderPlaced then OrderCancelled: {other:?}"),
    }
}
