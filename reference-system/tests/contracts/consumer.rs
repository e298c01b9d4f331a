//! Consumer side: the real orders service against wiremock stand-ins for payments and
//! inventory that check every request against its contract and answer with the
//! contracts' own examples.

use contracts::OrderStatus;
use serde_json::json;

use crate::support::{Peer, StandIns, order_settles, request_violations};

const RESERVE: &str = "/inventory/reservations";
const RELEASE: &str = "/inventory/reservations/{order_id}/release";
const CHARGE: &str = "/payments/charges";
const REFUND: &str = "/payments/refunds-by-order/{order_id}";

/// Reserve 201 and charge 201: the order is CONFIRMED after exactly one conforming
/// reservation and one conforming charge (with its Idempotency-Key), and nothing else.
#[tokio::test]
async fn happy_path_requests_conform_and_the_order_is_confirmed() {
    let mut peers = StandIns::start().await;
    peers.answer(Peer::Inventory, "POST", RESERVE, 201).await;
    peers.answer(Peer::Payments, "POST", CHARGE, 201).await;
    let orders = peers.spawn_orders().await;

    let order = order_settles(&orders, "alice", "SKU-1", 2).await;

    peers.assert_conformance().await;
    assert_eq!(order.status, OrderStatus::Confirmed, "{order:?}");
    assert_eq!(peers.matched("POST", RESERVE).await.len(), 1);
    let charges = peers.matched("POST", CHARGE).await;
    assert_eq!(charges.len(), 1);
    assert_eq!(
        charges[0]
            .headers
            .get("idempotency-key")
            .map(|v| v.as_bytes()),
        Some(order.id.to_string().as_bytes()),
        "the charge is keyed by the order id"
    );
    assert_eq!(peers.received(Peer::Payments).await.len(), 1);
    assert_eq!(peers.received(Peer::Inventory).await.len(), 1);
}

/// Charge answers the 402 Problem example: the order is CANCELLED, and the compensation
/// (refund by order, answered 404 as for an order never charged, and release) sends
/// conforming requests.
#[tokio::test]
async fn declined_payment_cancels_and_compensation_requests_conform() {
    let mut peers = StandIns::start().await;
    peers.answer(Peer::Inventory, "POST", RESERVE, 201).await;
    peers.answer(Peer::Payments, "POST", CHARGE, 402).await;
    peers.answer(Peer::Payments, "POST", REFUND, 404).await;
    peers.answer(Peer::Inventory, "POST", RELEASE, 200).await;
    let orders = peers.spawn_orders().await;

    let order = order_settles(&orders, "broke-bob", "SKU-1", 1).await;

    peers.assert_conformance().await;
    assert_eq!(order.status, OrderStatus::Cancelled, "{order:?}");
    let releases = peers.matched("POST", RELEASE).await;
    assert_eq!(releases.len(), 1, "the reservation is released once");
    assert_eq!(
        releases[0].url.path(),
        format!("/inventory/reservations/{}/release", order.id)
    );
    assert_eq!(peers.matched("POST", CHARGE).await.len(), 1);
}

/// Reserve answers the 409 Problem example: the order is CANCELLED and payments is never
/// called.
#[tokio::test]
async fn insufficient_stock_cancels_without_charging() {
    let mut peers = StandIns::start().await;
    peers.answer(Peer::Inventory, "POST", RESERVE, 409).await;
    peers.answer(Peer::Payments, "POST", CHARGE, 201).await;
    let orders = peers.spawn_orders().await;

    let order = order_settles(&orders, "alice", "SKU-SCARCE", 5).await;

    peers.assert_conformance().await;
    assert_eq!(order.status, OrderStatus::Cancelled, "{order:?}");
    assert_eq!(peers.matched("POST", RESERVE).await.len(), 1);
    assert!(
        peers.received(Peer::Payments).await.is_empty(),
        "payments must not be called when nothing was reserved"
    );
}

/// The check itself can fail: requests off contract sent straight to a stand-in (an
/// extra field and no Idempotency-Key; a wrong type; an undocumented endpoint) are
/// refused, recorded with their schema errors, and reported as unmatched.
#[tokio::test]
async fn the_stand_ins_report_requests_off_contract() {
    let mut peers = StandIns::start().await;
    peers.answer(Peer::Payments, "POST", CHARGE, 201).await;
    let http = reqwest::Client::new();
    let order_id = uuid::Uuid::new_v4();

    let res = http
        .post(format!("{}{CHARGE}", peers.payments.uri()))
        .json(&json!({"order_id": order_id, "customer": "alice", "amount_cents": 1250, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "a request off contract gets no happy answer"
    );
    let res = http
        .post(format!("{}{CHARGE}", peers.payments.uri()))
        .header("idempotency-key", "k-1")
        .json(&json!({"order_id": order_id, "customer": "alice", "amount_cents": "1250"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    http.delete(format!(
        "{}/payments/charges/{order_id}",
        peers.payments.uri()
    ))
    .send()
    .await
    .unwrap();

    let report = peers
        .conformance()
        .await
        .expect_err("three requests off contract");
    for expected in [
        "currency",
        "idempotency-key is missing",
        "amount_cents",
        "DELETE /payments/charges",
        "received 3 requests, only 0 matched",
    ] {
        assert!(report.contains(expected), "{expected:?} not in:\n{report}");
    }
    assert!(
        request_violations(
            "POST",
            CHARGE,
            &wiremock::http::HeaderMap::new(),
            br#"{"order_id":"x"}"#
        )
        .len()
            >= 3,
        "missing header, content type and fields are each a violation"
    );
}
