//! Inventory over HTTP: idempotent reservations, releases, no overselling, restarts.

use contracts::services::{ReservationStatus, ReservationView, StockView};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_inventory, spawn_inventory_at, temp_db};

fn reservation_body(order_id: Uuid, sku: &str, quantity: u32) -> Value {
    json!({"order_id": order_id, "sku": sku, "quantity": quantity})
}

async fn reserve(app: &TestApp, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url("/inventory/reservations"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn release(app: &TestApp, order_id: Uuid) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/inventory/reservations/{order_id}/release")))
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.unwrap()
}

async fn stock(app: &TestApp, sku: &str) -> StockView {
    let res = get(app, &format!("/inventory/stock/{sku}")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn all_reservations(app: &TestApp) -> Vec<ReservationView> {
    get(app, "/internal/reservations")
        .await
        .json()
        .await
        .unwrap()
}

/// Asserts that every SKU in `initial` still has `available + reserved == initial`.
async fn assert_conserved(app: &TestApp, initial: &[(&str, u32)]) {
    let all: Vec<StockView> = get(app, "/internal/stock").await.json().await.unwrap();
    for (sku, units) in initial {
        let s = all.iter().find(|s| s.sku == *sku).expect("sku listed");
        assert_eq!(s.available + s.reserved, *units, "{s:?}");
    }
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
async fn a_reservation_is_made_once_per_order() {
    let app = spawn_inventory("SKU-A=10").await;
    let order = Uuid::new_v4();
    let body = reservation_body(order, "SKU-A", 3);

    let first = reserve(&app, &body).await;
    assert_eq!(first.status(), 201);
    let first: ReservationView = first.json().await.unwrap();
    assert_eq!(first.order_id, order);
    assert_eq!(first.quantity, 3);
    assert_eq!(first.status, ReservationStatus::Reserved);

    let replay = reserve(&app, &body).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<ReservationView>().await.unwrap(), first);
    let read = get(&app, &format!("/inventory/reservations/{order}")).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.json::<ReservationView>().await.unwrap(), first);

    let res = reserve(&app, &reservation_body(order, "SKU-A", 4)).await;
    expect_problem(res, 409).await;

    assert_eq!(
        stock(&app, "SKU-A").await,
        StockView {
            sku: "SKU-A".into(),
            available: 7,
            reserved: 3
        }
    );
    assert_eq!(all_reservations(&app).await, vec![first]);
}

#[tokio::test]
async fn insufficient_stock_is_a_conflict_and_reserves_nothing() {
    let app = spawn_inventory("SKU-A=2").await;
    let order = Uuid::new_v4();
    let res = reserve(&app, &reservation_body(order, "SKU-A", 3)).await;
    let detail = expect_problem(res, 409).await;
    assert!(detail.starts_with("insufficient stock"), "{detail}");

    assert_eq!(stock(&app, "SKU-A").await.available, 2);
    assert_eq!(stock(&app, "SKU-A").await.reserved, 0);
    expect_problem(
        get(&app, &format!("/inventory/reservations/{order}")).await,
        404,
    )
    .await;
    assert!(all_reservations(&app).await.is_empty());

    // The same order may still reserve what is there.
    let res = reserve(&app, &reservation_body(order, "SKU-A", 2)).await;
    assert_eq!(res.status(), 201);
    assert_conserved(&app, &[("SKU-A", 2)]).await;
}

#[tokio::test]
async fn unknown_skus_are_404() {
    let app = spawn_inventory("SKU-A=2").await;
    let res = reserve(&app, &reservation_body(Uuid::new_v4(), "SKU-NONE", 1)).await;
    expect_problem(res, 404).await;
    expect_problem(get(&app, "/inventory/stock/SKU-NONE").await, 404).await;
    assert!(all_reservations(&app).await.is_empty());
}

#[tokio::test]
async fn releasing_twice_returns_the_stock_once() {
    let app = spawn_inventory("SKU-A=10").await;
    let order = Uuid::new_v4();
    let body = reservation_body(order, "SKU-A", 4);
    assert_eq!(reserve(&app, &body).await.status(), 201);
    assert_eq!(stock(&app, "SKU-A").await.available, 6);

    for _ in 0..2 {
        let res = release(&app, order).await;
        assert_eq!(res.status(), 200);
        let view: ReservationView = res.json().await.unwrap();
        assert_eq!(view.status, ReservationStatus::Released);
        assert_eq!(view.quantity, 4);
        assert_eq!(
            stock(&app, "SKU-A").await,
            StockView {
                sku: "SKU-A".into(),
                available: 10,
                reserved: 0
            }
        );
    }
    // A late retry of the reservation does not take the stock again.
    let res = reserve(&app, &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<ReservationView>().await.unwrap().status,
        ReservationStatus::Released
    );
    assert_eq!(stock(&app, "SKU-A").await.available, 10);

    expect_problem(release(&app, Uuid::new_v4()).await, 404).await;
    assert_conserved(&app, &[("SKU-A", 10)]).await;
}

#[tokio::test]
async fn concurrent_reservations_never_oversell() {
    let app = spawn_inventory("SKU-HOT=5,SKU-A=10").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (http, url) = (app.http.clone(), app.url("/inventory/reservations"));
        tasks.spawn(async move {
            let body = reservation_body(Uuid::new_v4(), "SKU-HOT", 1);
            http.post(url).json(&body).send().await.unwrap().status()
        });
    }
    let statuses = tasks.join_all().await;
    let created = statuses.iter().filter(|s| s.as_u16() == 201).count();
    let refused = statuses.iter().filter(|s| s.as_u16() == 409).count();
    assert_eq!((created, refused), (5, 15), "{statuses:?}");

    assert_eq!(
        stock(&app, "SKU-HOT").await,
        StockView {
            sku: "SKU-HOT".into(),
            available: 0,
            reserved: 5
        }
    );
    let reservations = all_reservations(&app).await;
    assert_eq!(reservations.len(), 5);
    assert!(
        reservations
            .iter()
            .all(|r| r.status == ReservationStatus::Reserved)
    );
    assert_conserved(&app, &[("SKU-HOT", 5), ("SKU-A", 10)]).await;
}

#[tokio::test]
async fn stock_and_reservations_survive_a_restart() {
    let db = temp_db("inventory");
    let order = Uuid::new_v4();
    let before = spawn_inventory_at(db.clone(), "SKU-R=5").await;
    assert_eq!(
        reserve(&before, &reservation_body(order, "SKU-R", 3))
            .await
            .status(),
        201
    );
    drop(before);

    // INVENTORY_STOCK only adds SKUs the database does not know yet.
    let after = spawn_inventory_at(db, "SKU-R=100,SKU-NEW=7").await;
    assert_eq!(
        stock(&after, "SKU-R").await,
        StockView {
            sku: "SKU-R".into(),
            available: 2,
            reserved: 3
        }
    );
    assert_eq!(stock(&after, "SKU-NEW").await.available, 7);
    let replay = reserve(&after, &reservation_body(order, "SKU-R", 3)).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(release(&after, order).await.status(), 200);
    assert_eq!(stock(&after, "SKU-R").await.available, 5);
    assert_conserved(&after, &[("SKU-R", 5), ("SKU-NEW", 7)]).await;
}

#[tokio::test]
async fn invalid_requests_get_a_problem_and_reserve_nothing() {
    let app = spawn_inventory("SKU-A=10").await;
    let order = Uuid::new_v4();
    for body in [
        reservation_body(order, "SKU-A", 0),
        reservation_body(order, "SKU-A", 1001),
        reservation_body(order, "sku-a", 1),
        reservation_body(order, "", 1),
        json!({"order_id": order, "sku": "SKU-A"}),
        json!({"order_id": "not-an-id", "sku": "SKU-A", "quantity": 1}),
        json!({"order_id": order, "sku": "SKU-A", "quantity": 1, "qty": 1}),
    ] {
        expect_problem(reserve(&app, &body).await, 400).await;
    }
    expect_problem(get(&app, "/inventory/reservations/not-an-id").await, 400).await;
    expect_problem(get(&app, "/inventory/stock/lower").await, 400).await;
    let res = app
        .http
        .post(app.url("/inventory/reservations/not-an-id/release"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;
    assert!(all_reservations(&app).await.is_empty());
    assert_eq!(stock(&app, "SKU-A").await.available, 10);
    assert_eq!(get(&app, "/ready").await.status(), 200);
}

#[tokio::test]
async fn a_new_sku_is_stocked_once_and_then_reserved_like_any_other() {
    let app = spawn_inventory("SKU-A=10").await;
    let add = |body: Value| {
        let (http, url) = (app.http.clone(), app.url("/internal/stock"));
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    let res = add(json!({"sku": "P-NEW", "units": 2})).await;
    assert_eq!(res.status(), 201);
    let added: StockView = res.json().await.unwrap();
    assert_eq!((added.available, added.reserved), (2, 0), "{added:?}");
    // A SKU already stocked keeps its units: the second call changes nothing.
    let again = expect_problem(add(json!({"sku": "P-NEW", "units": 9})).await, 409).await;
    assert!(again.contains("P-NEW"), "{again}");
    let kept = expect_problem(add(json!({"sku": "SKU-A", "units": 1})).await, 409).await;
    assert!(kept.contains("SKU-A"), "{kept}");
    expect_problem(add(json!({"sku": "lower", "units": 1})).await, 400).await;
    expect_problem(add(json!({"sku": "P-X"})).await, 400).await;

    for (n, want) in [(1, 201), (2, 201), (3, 409)] {
        let order = Uuid::from_u128(n);
        let res = reserve(&app, &reservation_body(order, "P-NEW", 1)).await;
        assert_eq!(res.status(), want, "reservation {n}");
    }
    assert_conserved(&app, &[("P-NEW", 2), ("SKU-A", 10)]).await;
}
