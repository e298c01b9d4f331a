//! Payments over HTTP: idempotent charges, declines, refunds, restarts.

use std::time::{Duration, Instant};

use contracts::services::{ChargeStatus, ChargeView};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_payments, spawn_payments_at, temp_db};

fn charge_body(order_id: Uuid, customer: &str, amount_cents: u64) -> Value {
    json!({"order_id": order_id, "customer": customer, "amount_cents": amount_cents})
}

async fn post_charge(app: &TestApp, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app.http.post(app.url("/payments/charges")).json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    req.send().await.unwrap()
}

async fn post(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.post(app.url(path)).send().await.unwrap()
}

/// `GET path` as the authenticated client `client` (the `x-client-id` the gateway sets).
async fn get_as(app: &TestApp, client: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("x-client-id", client)
        .send()
        .await
        .unwrap()
}

async fn all_charges(app: &TestApp) -> Vec<ChargeView> {
    let res = app
        .http
        .get(app.url("/internal/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Asserts `res` is a problem+json with `status` and returns its detail.
async fn expect_problem(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: contracts::Problem = res.json().await.unwrap();
    assert_eq!(problem.status, status);
    problem.detail.filter(|d| !d.is_empty()).expect("a detail")
}

#[tokio::test]
async fn a_charge_is_created_once_and_replayed_with_the_same_key() {
    let app = spawn_payments().await;
    let order = Uuid::new_v4();
    let body = charge_body(order, "alice", 2500);

    let first = post_charge(&app, Some("k-1"), &body).await;
    assert_eq!(first.status(), 201);
    let first: ChargeView = first.json().await.unwrap();
    assert_eq!(first.order_id, order);
    assert_eq!(first.customer, "alice");
    assert_eq!(first.amount_cents, 2500);
    assert_eq!(first.status, ChargeStatus::Charged);

    let replay = post_charge(&app, Some("k-1"), &body).await;
    assert_eq!(replay.status(), 200);
    let replay: ChargeView = replay.json().await.unwrap();
    assert_eq!(replay, first);

    let res = get_as(&app, "alice", &format!("/payments/charges/{}", first.id)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ChargeView>().await.unwrap(), first);
    let res = get_as(
        &app,
        "alice",
        &format!("/payments/charges?order_id={order}"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Vec<ChargeView>>().await.unwrap(),
        vec![first.clone()]
    );
    assert_eq!(all_charges(&app).await, vec![first]);
}

#[tokio::test]
async fn reusing_a_key_for_a_different_request_or_recharging_an_order_is_a_conflict() {
    let app = spawn_payments().await;
    let order = Uuid::new_v4();
    let res = post_charge(&app, Some("k-1"), &charge_body(order, "alice", 2500)).await;
    assert_eq!(res.status(), 201);

    for different in [
        charge_body(order, "alice", 2501),
        charge_body(order, "bob", 2500),
        charge_body(Uuid::new_v4(), "alice", 2500),
    ] {
        let res = post_charge(&app, Some("k-1"), &different).await;
        let detail = expect_problem(res, 409).await;
        assert!(detail.contains("Idempotency-Key"), "{detail}");
    }
    // The same order under a new key: never charged twice.
    let res = post_charge(&app, Some("k-2"), &charge_body(order, "alice", 2500)).await;
    let detail = expect_problem(res, 409).await;
    assert!(detail.contains(&order.to_string()), "{detail}");

    assert_eq!(all_charges(&app).await.len(), 1);
}

#[tokio::test]
async fn a_charge_needs_an_idempotency_key() {
    let app = spawn_payments().await;
    let body = charge_body(Uuid::new_v4(), "alice", 100);
    let res = post_charge(&app, None, &body).await;
    let detail = expect_problem(res, 400).await;
    assert!(detail.contains("Idempotency-Key"), "{detail}");
    let res = post_charge(&app, Some(""), &body).await;
    expect_problem(res, 400).await;
    assert!(all_charges(&app).await.is_empty());
}

#[tokio::test]
async fn a_broke_customer_is_declined_and_nothing_is_recorded() {
    let app = spawn_payments().await;
    let order = Uuid::new_v4();
    let body = charge_body(order, "broke-bob", 100);
    for _ in 0..2 {
        let res = post_charge(&app, Some("k-broke"), &body).await;
        let detail = expect_problem(res, 402).await;
        assert!(detail.contains("broke-bob"), "{detail}");
    }
    assert!(all_charges(&app).await.is_empty());
    let res = get_as(
        &app,
        "broke-bob",
        &format!("/payments/charges?order_id={order}"),
    )
    .await;
    expect_problem(res, 404).await;
    let res = post(&app, &format!("/payments/refunds-by-order/{order}")).await;
    expect_problem(res, 404).await;
}

#[tokio::test]
async fn refunding_twice_answers_the_same_refunded_charge() {
    let app = spawn_payments().await;
    let res = post_charge(
        &app,
        Some("k-1"),
        &charge_body(Uuid::new_v4(), "alice", 700),
    )
    .await;
    let charge: ChargeView = res.json().await.unwrap();

    let path = format!("/payments/charges/{}/refund", charge.id);
    let first = post(&app, &path).await;
    assert_eq!(first.status(), 200);
    let first: ChargeView = first.json().await.unwrap();
    assert_eq!(first.id, charge.id);
    assert_eq!(first.status, ChargeStatus::Refunded);
    let second = post(&app, &path).await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.json::<ChargeView>().await.unwrap(), first);
    assert_eq!(all_charges(&app).await, vec![first]);

    let res = post(
        &app,
        &format!("/payments/charges/{}/refund", Uuid::new_v4()),
    )
    .await;
    expect_problem(res, 404).await;
    let res = post(&app, "/payments/charges/not-an-id/refund").await;
    expect_problem(res, 400).await;
}

#[tokio::test]
async fn refunds_by_order_refund_the_orders_charge_whatever_its_id() {
    let app = spawn_payments().await;
    let order = Uuid::new_v4();
    let res = post_charge(&app, Some("k-1"), &charge_body(order, "alice", 900)).await;
    let charge: ChargeView = res.json().await.unwrap();

    let path = format!("/payments/refunds-by-order/{order}");
    for _ in 0..2 {
        let res = post(&app, &path).await;
        assert_eq!(res.status(), 200);
        let refunded: ChargeView = res.json().await.unwrap();
        assert_eq!(refunded.id, charge.id);
        assert_eq!(refunded.status, ChargeStatus::Refunded);
    }
    // A replayed charge reports the refund rather than charging again.
    let res = post_charge(&app, Some("k-1"), &charge_body(order, "alice", 900)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<ChargeView>().await.unwrap().status,
        ChargeStatus::Refunded
    );

    let res = post(
        &app,
        &format!("/payments/refunds-by-order/{}", Uuid::new_v4()),
    )
    .await;
    expect_problem(res, 404).await;
}

#[tokio::test]
async fn invalid_charges_get_a_problem_and_charge_nothing() {
    let app = spawn_payments().await;
    let order = Uuid::new_v4();
    for (i, body) in [
        charge_body(order, "alice", 0),
        charge_body(order, "alice", 10_000_001),
        charge_body(order, "", 100),
        charge_body(order, "a b", 100),
        json!({"order_id": order, "customer": "alice"}),
        json!({"order_id": "not-an-id", "customer": "alice", "amount_cents": 1}),
        json!({"order_id": order, "customer": "alice", "amount_cents": -1}),
        json!({"order_id": order, "customer": "alice", "amount_cents": 1, "currency": "EUR"}),
    ]
    .iter()
    .enumerate()
    {
        let res = post_charge(&app, Some(&format!("k-{i}")), body).await;
        expect_problem(res, 400).await;
    }
    let res = app
        .http
        .post(app.url("/payments/charges"))
        .header("Idempotency-Key", "k-text")
        .body("not json")
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;
    expect_problem(get_as(&app, "alice", "/payments/charges").await, 400).await;
    // The largest amount is accepted.
    let res = post_charge(
        &app,
        Some("k-max"),
        &charge_body(order, "alice", 10_000_000),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(all_charges(&app).await.len(), 1);
}

#[tokio::test]
async fn charges_survive_a_restart() {
    let db = temp_db("payments");
    let order = Uuid::new_v4();
    let body = charge_body(order, "alice", 1234);
    let before = spawn_payments_at(db.clone(), Duration::ZERO).await;
    let charge: ChargeView = post_charge(&before, Some("k-1"), &body)
        .await
        .json()
        .await
        .unwrap();
    drop(before);

    let after = spawn_payments_at(db, Duration::ZERO).await;
    let replay = post_charge(&after, Some("k-1"), &body).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<ChargeView>().await.unwrap(), charge);
    assert_eq!(all_charges(&after).await, vec![charge]);
}

#[tokio::test]
async fn the_configured_latency_delays_every_charge() {
    let app = spawn_payments_at(temp_db("payments"), Duration::from_millis(300)).await;
    let started = Instant::now();
    let res = post_charge(&app, Some("k-1"), &charge_body(Uuid::new_v4(), "alice", 1)).await;
    assert_eq!(res.status(), 201);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let res = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_charge_answers_only_its_own_customer_and_looks_missing_to_anyone_else() {
    let app = spawn_payments().await;
    let order = Uuid::new_v4();
    let res = post_charge(&app, Some("k-own"), &charge_body(order, "alice", 700)).await;
    assert_eq!(res.status(), 201);
    let charge: ChargeView = res.json().await.unwrap();
    let by_id = format!("/payments/charges/{}", charge.id);
    let by_order = format!("/payments/charges?order_id={order}");

    let res = get_as(&app, "alice", &by_id).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ChargeView>().await.unwrap(), charge);
    let res = get_as(&app, "alice", &by_order).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Vec<ChargeView>>().await.unwrap(),
        vec![charge.clone()]
    );

    // Another customer gets exactly what a charge or order that does not exist gets.
    let (missing_charge, missing_order) = (Uuid::new_v4(), Uuid::new_v4());
    for (theirs, missing) in [
        (by_id.clone(), format!("/payments/charges/{missing_charge}")),
        (
            by_order.clone(),
            format!("/payments/charges?order_id={missing_order}"),
        ),
    ] {
        let theirs = expect_problem(get_as(&app, "eve", &theirs).await, 404).await;
        let missing = expect_problem(get_as(&app, "eve", &missing).await, 404).await;
        assert_eq!(
            theirs
                .replace(&charge.id.to_string(), "{id}")
                .replace(&order.to_string(), "{id}"),
            missing
                .replace(&missing_charge.to_string(), "{id}")
                .replace(&missing_order.to_string(), "{id}"),
        );
    }

    // Without an authenticated client there is nobody to answer: 401.
    for path in [&by_id, &by_order] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        expect_problem(res, 401).await;
    }
    // A malformed id is still a 400 before anything else.
    let res = app
        .http
        .get(app.url("/payments/charges/nope"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;
}
