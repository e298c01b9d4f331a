use serde_json::{Value, json};

use crate::helpers::{NO_BROKER, spawn_orders};

fn order_body() -> Value {
    json!({"customer": "alice", "sku": "SKU-1", "quantity": 2})
}

async fn outbox_pending(app: &crate::helpers::TestApp) -> i64 {
    let v: Value = app
        .http
        .get(app.url("/internal/outbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["pending"].as_i64().unwrap()
}

#[tokio::test]
async fn an_order_is_created_and_its_event_waits_in_the_outbox_while_the_broker_is_down() {
    let app = spawn_orders(NO_BROKER).await;
    let res = app
        .http
        .post(app.url("/orders"))
        .json(&order_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let order: contracts::OrderView = res.json().await.unwrap();
    assert_eq!(order.customer, "alice");
    assert_eq!(order.quantity, 2);
    // The broker is unreachable: the event is kept, not lost.
    assert_eq!(outbox_pending(&app).await, 1);

    let res = app
        .http
        .get(app.url(&format!("/orders/{}", order.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let read: contracts::OrderView = res.json().await.unwrap();
    assert_eq!(read, order);
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_creates_nothing_new() {
    let app = spawn_orders(NO_BROKER).await;
    let send = || {
        app.http
            .post(app.url("/orders"))
            .header("Idempotency-Key", "key-1")
            .json(&order_body())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: contracts::OrderView = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), 200);
    let second: contracts::OrderView = second.json().await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(outbox_pending(&app).await, 1, "one order, one event");
}

#[tokio::test]
async fn invalid_orders_get_a_problem_and_create_nothing() {
    let app = spawn_orders(NO_BROKER).await;
    for body in [
        json!({"customer": "alice", "sku": "SKU-1", "quantity": 0}),
        json!({"customer": "alice", "sku": "lower", "quantity": 1}),
        json!({"customer": "", "sku": "SKU-1", "quantity": 1}),
        json!({"customer": "alice", "sku": "SKU-1"}),
        json!({"customer": "alice", "sku": "SKU-1", "quantity": 1, "extra": true}),
    ] {
        let res = app
            .http
            .post(app.url("/orders"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let problem: contracts::Problem = res.json().await.unwrap();
        assert_eq!(problem.status, 400);
        assert!(problem.detail.is_some_and(|d| !d.is_empty()), "{body}");
    }
    assert_eq!(outbox_pending(&app).await, 0);
}

#[tokio::test]
async fn unknown_orders_are_404_and_malformed_ids_400() {
    let app = spawn_orders(NO_BROKER).await;
    let res = app
        .http
        .get(app.url(&format!("/orders/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(app.url("/orders/not-an-id"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
