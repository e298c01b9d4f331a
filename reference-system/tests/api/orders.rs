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
        .header("x-client-id", "alice")
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
        .header("x-client-id", "alice")
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
            .header("x-client-id", "alice")
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
            .header("x-client-id", "alice")
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
        .header("x-client-id", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(app.url("/orders/not-an-id"))
        .header("x-client-id", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn place_as(
    app: &crate::helpers::TestApp,
    client: Option<&str>,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app.http.post(app.url("/orders")).json(body);
    if let Some(c) = client {
        req = req.header("x-client-id", c);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

async fn read_as(
    app: &crate::helpers::TestApp,
    client: Option<&str>,
    path: &str,
) -> reqwest::Response {
    let mut req = app.http.get(app.url(path));
    if let Some(c) = client {
        req = req.header("x-client-id", c);
    }
    req.send().await.unwrap()
}

async fn assert_problem(res: reqwest::Response, status: u16, what: &str) {
    assert_eq!(res.status(), status, "{what}");
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let problem: contracts::Problem = res.json().await.unwrap();
    assert_eq!(problem.status, status, "{what}");
}

#[tokio::test]
async fn an_order_is_readable_by_its_customer_only_and_others_get_the_404_of_a_missing_one() {
    let app = spawn_orders(NO_BROKER).await;
    let res = place_as(&app, Some("alice"), &order_body(), None).await;
    assert_eq!(res.status(), 201);
    let order: contracts::OrderView = res.json().await.unwrap();
    let path = format!("/orders/{}", order.id);

    let res = read_as(&app, Some("alice"), &path).await;
    assert_eq!(res.status(), 200);
    let eve = read_as(&app, Some("eve"), &path).await;
    let missing = read_as(
        &app,
        Some("eve"),
        &format!("/orders/{}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(eve.status(), 404);
    assert_eq!(missing.status(), 404);
    // Same answer shape: the detail names only the id asked for.
    let eve: contracts::Problem = eve.json().await.unwrap();
    assert_eq!(
        eve.detail,
        Some(format!("order {} does not exist", order.id))
    );
    // Without an authenticated client nobody reads it.
    assert_problem(read_as(&app, None, &path).await, 401, "no x-client-id").await;
    // The internal inspection endpoint (not routed by the gateway) still sees it.
    assert_eq!(
        read_as(&app, None, &format!("/internal/orders/{}", order.id))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_customer_of_an_order_is_the_authenticated_client_and_no_one_else() {
    let app = spawn_orders(NO_BROKER).await;
    let victim = json!({"customer": "victim", "sku": "SKU-1", "quantity": 1});
    assert_problem(
        place_as(&app, Some("mallory"), &victim, None).await,
        403,
        "another customer",
    )
    .await;
    assert_problem(
        place_as(&app, None, &victim, None).await,
        401,
        "no x-client-id",
    )
    .await;
    assert_eq!(outbox_pending(&app).await, 0, "nothing was created");

    let res = place_as(&app, Some("victim"), &victim, Some("k-1")).await;
    assert_eq!(res.status(), 201);
    let order: contracts::OrderView = res.json().await.unwrap();
    assert_eq!(order.customer, "victim");
    // Replaying the victim's idempotency key as someone else reveals nothing.
    let mallory = json!({"customer": "mallory", "sku": "SKU-1", "quantity": 1});
    assert_problem(
        place_as(&app, Some("mallory"), &mallory, Some("k-1")).await,
        409,
        "reused key",
    )
    .await;
    assert_eq!(outbox_pending(&app).await, 1);
}
