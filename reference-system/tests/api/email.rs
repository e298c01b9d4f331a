//! The email consumer's delivery handling, driven one delivery at a time.

use contracts::{OrderConfirmed, OrderEvent, OrderPlaced};
use refsys::email::{Outcome, Store, handle_delivery};
use uuid::Uuid;

fn store() -> Store {
    let db =
        refsys::db::Db::open(&crate::helpers::temp_db("email"), refsys::email::SCHEMA).unwrap();
    Store::new(db)
}

fn confirmed(order_id: Uuid) -> Vec<u8> {
    serde_json::to_vec(&OrderEvent::OrderConfirmed(OrderConfirmed {
        event_id: Uuid::new_v4(),
        order_id,
        customer: "alice".into(),
        sku: "SKU-1".into(),
        quantity: 1,
        amount_cents: 1250,
    }))
    .unwrap()
}

#[tokio::test]
async fn a_duplicated_delivery_sends_one_email() {
    let store = store();
    let order = Uuid::new_v4();
    let body = confirmed(order);
    for _ in 0..3 {
        assert_eq!(
            handle_delivery(&store, Some("m-1"), &body).await,
            Outcome::Ack
        );
    }
    let emails = store.emails(Some(order)).await.unwrap();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].to, "alice");
    assert_eq!(emails[0].message_id, "m-1");
}

#[tokio::test]
async fn distinct_messages_each_send_an_email() {
    let store = store();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        handle_delivery(&store, Some("m-a"), &confirmed(a)).await,
        Outcome::Ack
    );
    assert_eq!(
        handle_delivery(&store, Some("m-b"), &confirmed(b)).await,
        Outcome::Ack
    );
    assert_eq!(store.emails(None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn poison_messages_are_rejected_to_the_dead_letter_queue() {
    let store = store();
    for (id, body) in [
        (Some("m-1"), b"not json".to_vec()),
        (Some("m-2"), br#"{"type":"Unknown"}"#.to_vec()),
        (
            Some("m-3"),
            br#"{"type":"OrderPlaced","order_id":"nope"}"#.to_vec(),
        ),
        (None, confirmed(Uuid::new_v4())),
        (Some(""), confirmed(Uuid::new_v4())),
    ] {
        let outcome = handle_delivery(&store, id, &body).await;
        assert!(matches!(outcome, Outcome::Reject(_)), "{id:?}: {outcome:?}");
    }
    assert!(store.emails(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn events_other_than_confirmation_send_no_email_and_are_acked() {
    let store = store();
    let body = serde_json::to_vec(&OrderEvent::OrderPlaced(OrderPlaced {
        event_id: Uuid::new_v4(),
        order_id: Uuid::new_v4(),
        customer: "alice".into(),
        sku: "SKU-1".into(),
        quantity: 1,
    }))
    .unwrap();
    assert_eq!(
        handle_delivery(&store, Some("m-p"), &body).await,
        Outcome::Ack
    );
    assert!(store.emails(None).await.unwrap().is_empty());
}
