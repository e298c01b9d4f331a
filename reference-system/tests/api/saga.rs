//! The order saga against real payments and inventory services (in-process, port 0):
//! each transition, compensation, and recovery after a restart.

use std::time::Duration;

use contracts::services::{
    ChargeStatus, ChargeView, ReservationStatus, ReservationView, StockView,
};
use contracts::{OrderStatus, OrderView};
use serde_json::json;

use crate::helpers::{
    NO_BROKER, NOWHERE, TestApp, eventually, spawn_inventory, spawn_orders_with, spawn_payments,
    temp_db,
};

async fn get<T: serde::de::DeserializeOwned>(app: &TestApp, path: &str) -> T {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    assert!(res.status().is_success(), "GET {path}: {}", res.status());
    res.json().await.unwrap()
}

async fn place(orders: &TestApp, customer: &str, sku: &str, quantity: u32) -> OrderView {
    let res = orders
        .http
        .post(orders.url("/orders"))
        .header("x-client-id", customer)
        .json(&json!({"customer": customer, "sku": sku, "quantity": quantity}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let order: OrderView = res.json().await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    order
}

async fn settled(orders: &TestApp, order: &OrderView, within: Duration) -> OrderView {
    eventually(within, || async {
        let o: OrderView = get(orders, &format!("/internal/orders/{}", order.id)).await;
        if o.status == OrderStatus::Pending {
            Err(format!("{o:?}"))
        } else {
            Ok(o)
        }
    })
    .await
}

/// The order's charges, from payments' inspection endpoint (the client-facing read
/// answers only the charge's customer).
async fn charges(payments: &TestApp, order: &OrderView) -> Vec<ChargeView> {
    let all: Vec<ChargeView> = get(payments, "/internal/charges").await;
    all.into_iter().filter(|c| c.order_id == order.id).collect()
}

async fn reservation(inventory: &TestApp, order: &OrderView) -> Option<ReservationView> {
    let res = inventory
        .http
        .get(inventory.url(&format!("/inventory/reservations/{}", order.id)))
        .send()
        .await
        .unwrap();
    if res.status() == 404 {
        None
    } else {
        Some(res.json().await.unwrap())
    }
}

struct Peers {
    payments: TestApp,
    inventory: TestApp,
}

async fn peers() -> Peers {
    Peers {
        payments: spawn_payments().await,
        inventory: spawn_inventory("SKU-1=10,SKU-SCARCE=1").await,
    }
}

async fn orders_for(p: &Peers, deadline: Duration) -> TestApp {
    spawn_orders_with(
        temp_db("orders"),
        NO_BROKER,
        &p.payments.url(""),
        &p.inventory.url(""),
        deadline,
    )
    .await
}

#[tokio::test]
async fn an_order_is_reserved_charged_and_confirmed() {
    let p = peers().await;
    let orders = orders_for(&p, Duration::from_secs(5)).await;
    let order = place(&orders, "alice", "SKU-1", 3).await;
    let done = settled(&orders, &order, Duration::from_secs(5)).await;
    assert_eq!(done.status, OrderStatus::Confirmed, "{done:?}");
    let c = charges(&p.payments, &order).await;
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].status, c[0].amount_cents),
        (ChargeStatus::Charged, 3 * 1250)
    );
    let r = reservation(&p.inventory, &order).await.unwrap();
    assert_eq!((r.status, r.quantity), (ReservationStatus::Reserved, 3));
    let stock: StockView = get(&p.inventory, "/inventory/stock/SKU-1").await;
    assert_eq!((stock.available, stock.reserved), (7, 3));
}

#[tokio::test]
async fn a_declined_payment_releases_the_reservation() {
    let p = peers().await;
    let orders = orders_for(&p, Duration::from_secs(5)).await;
    let order = place(&orders, "broke-bob", "SKU-1", 2).await;
    let done = settled(&orders, &order, Duration::from_secs(5)).await;
    assert_eq!(done.status, OrderStatus::Cancelled);
    assert!(
        done.reason.as_deref().is_some_and(|r| r.contains("402")),
        "{done:?}"
    );
    assert!(charges(&p.payments, &order).await.is_empty());
    let r = reservation(&p.inventory, &order).await.unwrap();
    assert_eq!(r.status, ReservationStatus::Released);
    let stock: StockView = get(&p.inventory, "/inventory/stock/SKU-1").await;
    assert_eq!((stock.available, stock.reserved), (10, 0));
}

#[tokio::test]
async fn too_little_stock_cancels_without_charging() {
    let p = peers().await;
    let orders = orders_for(&p, Duration::from_secs(5)).await;
    let order = place(&orders, "carol", "SKU-SCARCE", 2).await;
    let done = settled(&orders, &order, Duration::from_secs(5)).await;
    assert_eq!(done.status, OrderStatus::Cancelled);
    assert!(
        done.reason
            .as_deref()
            .is_some_and(|r| r.contains("insufficient stock")),
        "{done:?}"
    );
    assert!(charges(&p.payments, &order).await.is_empty());
    assert_eq!(reservation(&p.inventory, &order).await, None);
}

#[tokio::test]
async fn an_unreachable_payments_service_ends_in_a_compensated_cancellation() {
    let inventory = spawn_inventory("SKU-1=10").await;
    let orders = spawn_orders_with(
        temp_db("orders"),
        NO_BROKER,
        NOWHERE,
        &inventory.url(""),
        Duration::from_millis(500),
    )
    .await;
    let order = place(&orders, "dave", "SKU-1", 1).await;
    let done = settled(&orders, &order, Duration::from_secs(5)).await;
    assert_eq!(done.status, OrderStatus::Cancelled);
    assert!(
        done.reason
            .as_deref()
            .is_some_and(|r| r.contains("payments")),
        "{done:?}"
    );
    let r = reservation(&inventory, &order).await.unwrap();
    assert_eq!(r.status, ReservationStatus::Released);
}

#[tokio::test]
async fn a_restarted_orders_service_finishes_the_sagas_it_left_pending() {
    let p = peers().await;
    let db = temp_db("orders");
    // First life: payments unreachable and a long deadline, so the order stays PENDING
    // with its stock reserved.
    let first = spawn_orders_with(
        db.clone(),
        NO_BROKER,
        NOWHERE,
        &p.inventory.url(""),
        Duration::from_secs(600),
    )
    .await;
    let order = place(&first, "erin", "SKU-1", 1).await;
    eventually(Duration::from_secs(5), || async {
        reservation(&p.inventory, &order)
            .await
            .ok_or_else(|| "not reserved yet".to_string())
    })
    .await;
    let o: OrderView = get(&first, &format!("/internal/orders/{}", order.id)).await;
    assert_eq!(o.status, OrderStatus::Pending);
    drop(first);
    // Second life on the same database, with payments back: recovery confirms it.
    let second = spawn_orders_with(
        db,
        NO_BROKER,
        &p.payments.url(""),
        &p.inventory.url(""),
        Duration::from_secs(600),
    )
    .await;
    let done = settled(&second, &order, Duration::from_secs(10)).await;
    assert_eq!(done.status, OrderStatus::Confirmed, "{done:?}");
    assert_eq!(charges(&p.payments, &order).await.len(), 1);
}
