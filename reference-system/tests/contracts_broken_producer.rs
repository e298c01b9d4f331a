//! A deliberately broken producer: with the `renamed-field` defect orders sends `amount`
//! instead of `amount_cents` to payments, and the consumer contract check must fail and
//! say so. Its own target (own process) because defects are process-global.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "contracts/support.rs"]
mod support;

use refsys::defects::{self, Defects};
use support::{Peer, StandIns, order_settles};

#[tokio::test]
async fn renamed_field_fails_the_consumer_contract_check() {
    defects::set(Defects::parse("renamed-field").expect("a known defect"));
    let mut peers = StandIns::start().await;
    peers
        .answer(Peer::Inventory, "POST", "/inventory/reservations", 201)
        .await;
    peers
        .answer(Peer::Payments, "POST", "/payments/charges", 201)
        .await;
    let orders = peers.spawn_orders().await;

    let order = order_settles(&orders, "alice", "SKU-1", 1).await;
    let report = peers.conformance().await;
    defects::set(Defects::default());

    let report = report.expect_err("the renamed field must break the ChargeRequest contract");
    eprintln!("the consumer contract check failed, as it must:\n{report}");
    let lines: Vec<&str> = report.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("POST /payments/charges")
            && l.contains("\"amount_cents\"")
            && l.contains("required")),
        "no violation names the missing amount_cents:\n{report}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("POST /payments/charges") && l.contains("'amount'")),
        "no violation names the unexpected amount:\n{report}"
    );
    assert_ne!(
        order.status,
        contracts::OrderStatus::Confirmed,
        "an off-contract charge got no happy answer: {order:?}"
    );
}
