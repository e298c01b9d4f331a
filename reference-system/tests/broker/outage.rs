//! A broker outage: orders keep completing, their events wait in the outbox and arrive
//! once the broker is back, and the email consumer reconnects by itself.
//!
//! The broker container is stopped and started, not paused: a paused container keeps its
//! TCP connections open (only its processes are frozen), so no client would lose its
//! connection, the consumer would never have to reconnect and the relay would only wait
//! for its confirm. A stopped broker drops every connection. Docker gives a container new
//! random host ports each time it starts unless they are fixed, so [`Broker::start`] binds
//! fixed host ports and the AMQP URL the services were given stays valid across the
//! restart. (How it is stopped: see [`Broker::stop`].)

use std::sync::Arc;
use std::time::Duration;

use contracts::OrderStatus;

use crate::helpers::eventually;
use crate::relay::{
    assert_published_as_orders_does, events_of, outbox_pending, place_and_settle, shop, tap,
};
use crate::support::{
    Broker, DEADLINE, connect, emails, spawn_email, stats, unique, wait_for_email,
};

pub async fn orders_complete_during_a_broker_outage_and_their_events_arrive_after_it(
    broker: Arc<Broker>,
) {
    let url = broker.vhost("outage").await;
    let queue = unique("email-outage");
    let email = spawn_email(&url, &queue, 3).await;
    let tap_queue = unique("outage-tap");
    {
        let (conn, ch) = connect(&url).await;
        tap(&ch, &tap_queue).await;
        let _ = conn.close(200, "tap declared".into()).await;
    }
    let shop = shop(&url).await;

    // Before: the whole path works.
    let before = place_and_settle(&shop.orders, "kim", "SKU-1", 1).await;
    assert_eq!(before.status, OrderStatus::Confirmed, "{before:?}");
    wait_for_email(&email, before.id).await;

    broker.stop().await;
    // The consumer notices: it no longer knows its queue's depth.
    eventually(DEADLINE, || async {
        let s = stats(&email).await;
        match (s.queue_ready, s.dead_lettered) {
            (None, None) => Ok(()),
            _ => Err(format!("still reports depths with the broker down: {s:?}")),
        }
    })
    .await;

    // During: the saga needs no broker; its two events wait in the outbox.
    let during = place_and_settle(&shop.orders, "lou", "SKU-1", 1).await;
    assert_eq!(during.status, OrderStatus::Confirmed, "{during:?}");
    assert_eq!(outbox_pending(&shop.orders).await, 2);
    assert!(emails(&email, Some(during.id)).await.is_empty());

    broker.start_again(&url).await;

    // After: the relay publishes what waited, the same consumer (reconnected) emails it.
    let got = wait_for_email(&email, during.id).await;
    assert_eq!(got.len(), 1, "{got:?}");
    eventually(DEADLINE, || async {
        match outbox_pending(&shop.orders).await {
            0 => Ok(()),
            n => Err(format!("{n} events still pending")),
        }
    })
    .await;
    let s = eventually(Duration::from_secs(10), || async {
        let s = stats(&email).await;
        match (s.queue_ready, s.dead_lettered) {
            (Some(0), Some(0)) => Ok(s),
            _ => Err(format!("{s:?}")),
        }
    })
    .await;
    assert_eq!((s.rejected, s.retried), (0, 0), "{s:?}");
    let all = emails(&email, None).await;
    assert_eq!(all.len(), 2, "one email per order: {all:?}");

    // Nothing lost on the exchange either: both events of each order, as published.
    let (_conn, ch) = connect(&url).await;
    let mut read = vec![];
    for order in [&before, &during] {
        let events = events_of(&ch, &tap_queue, order, 2, &mut read).await;
        for m in &events {
            assert_published_as_orders_does(m);
        }
        let kinds: Vec<&str> = events.iter().map(|m| m.event().type_name()).collect();
        assert_eq!(
            kinds,
            ["OrderPlaced", "OrderConfirmed"],
            "order {}",
            order.id
        );
    }
}
