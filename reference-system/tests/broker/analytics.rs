//! The analytics consumer reading every order event through the broker.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::support::{
    Broker, analytics_counts, cancelled, confirmed, connect, handled, placed, publish,
    publish_event, spawn_analytics, unique,
};

pub async fn each_event_type_is_counted_once_per_message_id(broker: Arc<Broker>) {
    let url = broker.vhost("analytics").await;
    let queue = unique("analytics");
    let analytics = spawn_analytics(&url, &queue, 3).await;
    let (_conn, ch) = connect(&url).await;

    // Not an order event's routing key: not bound, never delivered, never counted.
    let stray = placed("zed");
    publish(
        &ch,
        "invoice.sent",
        &stray.event_id().to_string(),
        &serde_json::to_vec(&stray).unwrap(),
    )
    .await;

    let (placed_a, placed_b) = (placed("ann"), placed("ben"));
    let (confirmed_a, cancelled_b) = (confirmed("ann"), cancelled("ben"));
    let deliveries = [
        (&placed_a, 3),
        (&placed_b, 1),
        (&confirmed_a, 2),
        (&cancelled_b, 1),
    ];
    for (event, times) in deliveries {
        for _ in 0..times {
            publish_event(&ch, event).await;
        }
    }

    let s = handled(&analytics, 7).await;
    assert_eq!((s.acked, s.rejected, s.retried), (7, 0, 0), "{s:?}");
    assert_eq!(
        analytics_counts(&analytics).await,
        BTreeMap::from([
            ("OrderCancelled".to_string(), 1),
            ("OrderConfirmed".to_string(), 1),
            ("OrderPlaced".to_string(), 2),
        ])
    );
}
