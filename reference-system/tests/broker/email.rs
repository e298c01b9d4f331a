//! The email consumer reading its own queue through the broker: one email per message id,
//! poison messages dead-lettered at once, failing messages dead-lettered after the
//! delivery limit, and the depths it reports.

use std::sync::Arc;
use std::time::Duration;

use contracts::routing::ORDER_CONFIRMED;

use crate::helpers::eventually;
use crate::support::{
    Broker, ConsumerStats, DEADLINE, FAIL_MARKER, confirmed, connect, emails, handled, publish,
    publish_event, ready, spawn_email, stats, take, unique, wait_and_take, wait_for_email,
};

pub async fn a_confirmed_order_is_emailed_once_however_often_it_is_delivered(broker: Arc<Broker>) {
    let url = broker.vhost("email-once").await;
    let queue = unique("email-once");
    let email = spawn_email(&url, &queue, 3).await;
    let (_conn, ch) = connect(&url).await;

    let first = confirmed("alice");
    publish_event(&ch, &first).await;
    let got = wait_for_email(&email, first.order_id()).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].message_id, first.event_id().to_string());
    assert_eq!(got[0].to, "alice");
    assert_eq!(got[0].order_id, first.order_id());
    assert_eq!(
        got[0].subject,
        format!("Your order {} is confirmed", first.order_id())
    );

    // The same message (same message id, same body) delivered three times.
    let repeated = confirmed("bob");
    for _ in 0..3 {
        publish_event(&ch, &repeated).await;
    }
    let s = handled(&email, 4).await;
    assert_eq!((s.acked, s.rejected, s.retried), (4, 0, 0), "{s:?}");
    let got = emails(&email, Some(repeated.order_id())).await;
    assert_eq!(got.len(), 1, "one email per message id: {got:?}");
    assert_eq!(got[0].message_id, repeated.event_id().to_string());
    assert_eq!(emails(&email, None).await.len(), 2);
}

pub async fn an_unparseable_message_is_dead_lettered_at_once_and_the_consumer_keeps_going(
    broker: Arc<Broker>,
) {
    let url = broker.vhost("email-poison").await;
    let queue = unique("email-poison");
    let email = spawn_email(&url, &queue, 3).await;
    let (_conn, ch) = connect(&url).await;

    let poison_id = unique("poison");
    publish(
        &ch,
        ORDER_CONFIRMED,
        &poison_id,
        b"{this is not an order event",
    )
    .await;
    let after = confirmed("carol");
    publish_event(&ch, &after).await;

    // The consumer went on to the next message.
    let got = wait_for_email(&email, after.order_id()).await;
    assert_eq!(got.len(), 1, "{got:?}");

    let dead = wait_and_take(&ch, &format!("{queue}.dlq"), &poison_id).await;
    let death = dead.death.as_ref().expect("an x-death header");
    assert_eq!(
        (death.reason.as_str(), death.queue.as_str(), death.count),
        ("rejected", queue.as_str(), 1),
        "{dead:?}"
    );
    assert_eq!(dead.body, b"{this is not an order event");
    // At once: rejected on its first delivery, never requeued.
    let s = handled(&email, 2).await;
    assert_eq!((s.acked, s.rejected, s.retried), (1, 1, 0), "{s:?}");
    assert_eq!(ready(&ch, &queue).await, 0);
    assert_eq!(emails(&email, None).await.len(), 1);
}

pub async fn a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit(
    broker: Arc<Broker>,
) {
    const LIMIT: u32 = 2;
    let url = broker.vhost("email-limit").await;
    let queue = unique("email-limit");
    let email = spawn_email(&url, &queue, LIMIT).await;
    let (_conn, ch) = connect(&url).await;

    let failing = confirmed(&format!("dave-{FAIL_MARKER}"));
    publish_event(&ch, &failing).await;
    let dead = wait_and_take(
        &ch,
        &format!("{queue}.dlq"),
        &failing.event_id().to_string(),
    )
    .await;
    let death = dead.death.as_ref().expect("an x-death header");
    assert_eq!(
        (death.reason.as_str(), death.queue.as_str(), death.count),
        ("delivery_limit", queue.as_str(), 1),
        "{dead:?}"
    );
    assert_eq!(dead.event(), failing);

    let after = confirmed("erin");
    publish_event(&ch, &after).await;
    wait_for_email(&email, after.order_id()).await;
    // The first delivery and LIMIT redeliveries, each requeued; then the next message.
    let s = handled(&email, u64::from(LIMIT) + 2).await;
    assert_eq!(
        (s.acked, s.rejected, s.retried),
        (1, 0, u64::from(LIMIT) + 1),
        "{s:?}"
    );
    assert!(emails(&email, Some(failing.order_id())).await.is_empty());
    assert_eq!(ready(&ch, &queue).await, 0);
}

pub async fn the_consumer_reports_the_depths_the_broker_reports(broker: Arc<Broker>) {
    const LIMIT: u32 = 1;
    let url = broker.vhost("email-depths").await;
    let queue = unique("email-depths");
    let dlq = format!("{queue}.dlq");
    let email = spawn_email(&url, &queue, LIMIT).await;
    let (_conn, ch) = connect(&url).await;

    // Reported once sampled: an empty queue and an empty dead-letter queue.
    let reports = |want: (u64, u64)| {
        let email = &email;
        async move {
            eventually(Duration::from_secs(10), || async {
                let s = stats(email).await;
                if (s.queue_ready, s.dead_lettered) == (Some(want.0), Some(want.1)) {
                    Ok(s)
                } else {
                    Err(format!(
                        "broker says (ready, dead) = {want:?}, consumer says {s:?}"
                    ))
                }
            })
            .await
        }
    };
    reports((0, 0)).await;

    // Three poison messages, one that keeps failing, two good ones.
    let poison: Vec<String> = (0..3).map(|_| unique("poison")).collect();
    for id in &poison {
        publish(&ch, ORDER_CONFIRMED, id, b"not json").await;
    }
    publish_event(&ch, &confirmed(&format!("frank-{FAIL_MARKER}"))).await;
    let good = [confirmed("grace"), confirmed("heidi")];
    for e in &good {
        publish_event(&ch, e).await;
    }
    let s = handled(&email, 3 + u64::from(LIMIT) + 1 + 2).await;
    assert_eq!(
        (s.acked, s.rejected, s.retried),
        (2, 3, u64::from(LIMIT) + 1),
        "{s:?}"
    );
    // The dead-lettering of the last one may trail its last requeue.
    let broker_says = eventually(DEADLINE, || async {
        let seen = (ready(&ch, &queue).await, ready(&ch, &dlq).await);
        if seen == (0, 4) {
            Ok(seen)
        } else {
            Err(format!("broker (ready, dead) = {seen:?}"))
        }
    })
    .await;
    let s: ConsumerStats = reports(broker_says).await;
    assert_eq!((s.acked, s.rejected), (2, 3));

    // Someone takes two dead letters out: the report follows.
    for id in &poison[..2] {
        assert!(take(&ch, &dlq, id).await.is_some(), "{id} not in {dlq}");
    }
    assert_eq!(ready(&ch, &dlq).await, 2);
    reports((0, 2)).await;
}
