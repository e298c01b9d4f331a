//! Provider side: the real payments and inventory services (port 0, fresh databases)
//! driven with every example of every request contract they consume, then with the
//! follow-up calls (get, replay, refund, release) and the documented error cases. Every
//! answer must be documented for its endpoint and status, and conform; every status the
//! contracts document for the provider's endpoints must have been seen.

use std::collections::BTreeSet;

use contract_tools::schema::{Endpoint, Kind};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_inventory, spawn_payments};
use crate::support::{registry, response_conforms};

/// Calls one provider and checks every answer against the contracts, remembering which
/// documented (method, endpoint template, status) it has seen.
struct Provider {
    app: TestApp,
    /// Path prefix of the provider's endpoints, e.g. `/payments/`.
    prefix: &'static str,
    seen: BTreeSet<(String, String, u16)>,
    /// The authenticated client sent as `x-client-id` (as the gateway would), if any.
    client: Option<String>,
}

struct Answer {
    status: u16,
    body: Value,
}

impl Provider {
    fn new(app: TestApp, prefix: &'static str) -> Self {
        Self {
            app,
            prefix,
            seen: BTreeSet::new(),
            client: None,
        }
    }

    /// The response endpoints the contracts document for this provider.
    fn documented(&self) -> impl Iterator<Item = &'static Endpoint> {
        registry()
            .contracts()
            .iter()
            .filter(|c| c.kind == Kind::Response)
            .flat_map(|c| c.endpoints.iter())
            .filter(|e| e.path.starts_with(self.prefix))
    }

    /// Every documented (method, template, status) of this provider.
    fn endpoints(&self) -> BTreeSet<(String, String, u16)> {
        self.documented()
            .flat_map(|e| {
                e.statuses
                    .iter()
                    .map(|s| (e.method.to_uppercase(), e.path.clone(), *s))
            })
            .collect()
    }

    /// Sends the request and fails the test unless the answer is documented and conforms.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self
            .app
            .http
            .request(method.parse().expect("a method"), self.app.url(path));
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        if let Some(client) = &self.client {
            req = req.header("x-client-id", client);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.expect("the provider answers");
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = res.bytes().await.expect("a body");
        let route = path.split('?').next().unwrap_or(path);
        if let Err(e) = response_conforms(method, route, status, content_type.as_deref(), &bytes) {
            panic!("request body {body:?}:\n{e}");
        }
        let hit: Vec<_> = self
            .documented()
            .filter(|e| e.statuses.contains(&status) && e.matches(method, route))
            .map(|e| (e.method.to_uppercase(), e.path.clone(), status))
            .collect();
        self.seen.extend(hit);
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// Fails the test when a status documented for one of the provider's endpoints was
    /// never produced: the contract promises what the test could not see.
    fn assert_every_documented_status_seen(&self) {
        let missing: Vec<_> = self.endpoints().difference(&self.seen).cloned().collect();
        assert!(
            missing.is_empty(),
            "documented but never produced: {missing:?}"
        );
    }
}

/// The examples of every request contract `service` consumes, with the endpoint each is
/// for, as (method, path template, example).
fn request_examples(service: &str) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for c in registry().contracts() {
        if c.kind != Kind::Request || !c.consumers.iter().any(|s| s == service) {
            continue;
        }
        for e in &c.endpoints {
            for x in &c.examples {
                out.push((e.method.to_uppercase(), e.path.clone(), x.clone()));
            }
        }
    }
    assert!(!out.is_empty(), "{service} consumes no request contract");
    out
}

#[tokio::test]
async fn payments_answers_every_charge_example_and_follow_up_as_documented() {
    let mut p = Provider::new(spawn_payments().await, "/payments/");
    let examples = request_examples("payments");
    let mut charged = Vec::new();
    for (method, path, example) in &examples {
        assert_eq!(
            path, "/payments/charges",
            "a new payments request contract needs a test"
        );
        let key = Uuid::new_v4().to_string();
        let first = p.call(method, path, Some(&key), Some(example)).await;
        let replay = p.call(method, path, Some(&key), Some(example)).await;
        if first.status == 201 {
            assert_eq!(replay.status, 200, "a replayed key answers the same charge");
            assert_eq!(replay.body, first.body);
            charged.push(first.body);
        } else {
            assert_eq!(replay.status, first.status, "{example}");
        }
    }
    assert!(
        !charged.is_empty(),
        "no ChargeRequest example was charged: the happy path is untested"
    );

    let charge = &charged[0];
    let (id, order_id) = (
        charge["id"].as_str().unwrap().to_string(),
        charge["order_id"].as_str().unwrap().to_string(),
    );
    let template = examples[0].2.clone();
    // The key again, with a different body; and the order again under a new key.
    let mut other = template.clone();
    other["order_id"] = json!(Uuid::new_v4());
    other["customer"] = json!("alice");
    let first_key = Uuid::new_v4().to_string();
    assert_eq!(
        p.call("POST", "/payments/charges", Some(&first_key), Some(&other))
            .await
            .status,
        201
    );
    let mut changed = other.clone();
    let amount = other["amount_cents"].as_u64().unwrap();
    changed["amount_cents"] = json!(if amount == 1 { 2 } else { amount - 1 });
    assert_eq!(
        p.call(
            "POST",
            "/payments/charges",
            Some(&first_key),
            Some(&changed)
        )
        .await
        .status,
        409
    );
    assert_eq!(
        p.call(
            "POST",
            "/payments/charges",
            Some("another-key"),
            Some(&other)
        )
        .await
        .status,
        409
    );
    // Declined, missing key, invalid body.
    let mut broke = other.clone();
    broke["order_id"] = json!(Uuid::new_v4());
    broke["customer"] = json!("broke-bob");
    assert_eq!(
        p.call("POST", "/payments/charges", Some("k-broke"), Some(&broke))
            .await
            .status,
        402
    );
    assert_eq!(
        p.call("POST", "/payments/charges", None, Some(&other))
            .await
            .status,
        400
    );
    let mut zero = other.clone();
    zero["amount_cents"] = json!(0);
    assert_eq!(
        p.call("POST", "/payments/charges", Some("k-zero"), Some(&zero))
            .await
            .status,
        400
    );

    // Reads: only the charge's customer sees it; anyone else as if it did not exist;
    // nobody without an authenticated client.
    for path in [
        format!("/payments/charges/{id}"),
        format!("/payments/charges?order_id={order_id}"),
    ] {
        p.client = None;
        assert_eq!(p.call("GET", &path, None, None).await.status, 401, "{path}");
        p.client = Some("someone-else".into());
        assert_eq!(p.call("GET", &path, None, None).await.status, 404, "{path}");
    }
    p.client = charge["customer"].as_str().map(str::to_string);

    // Reads, refunds.
    let got = p
        .call("GET", &format!("/payments/charges/{id}"), None, None)
        .await;
    assert_eq!((got.status, &got.body), (200, charge));
    let missing = Uuid::new_v4();
    for (method, path, status) in [
        ("GET", format!("/payments/charges/{missing}"), 404),
        ("GET", "/payments/charges/not-a-uuid".to_string(), 400),
        ("GET", format!("/payments/charges?order_id={order_id}"), 200),
        ("GET", format!("/payments/charges?order_id={missing}"), 404),
        ("GET", "/payments/charges?order_id=nope".to_string(), 400),
        ("GET", "/payments/charges".to_string(), 400),
        (
            "POST",
            format!("/payments/refunds-by-order/{order_id}"),
            200,
        ),
        (
            "POST",
            format!("/payments/refunds-by-order/{order_id}"),
            200,
        ),
        ("POST", format!("/payments/refunds-by-order/{missing}"), 404),
        ("POST", "/payments/refunds-by-order/nope".to_string(), 400),
        ("POST", format!("/payments/charges/{id}/refund"), 200),
        ("POST", format!("/payments/charges/{missing}/refund"), 404),
        ("POST", "/payments/charges/nope/refund".to_string(), 400),
    ] {
        if !crate::support::documented_endpoint(method, path.split('?').next().unwrap()) {
            continue;
        }
        let answer = p.call(method, &path, None, None).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
    }
    let listed = p
        .call(
            "GET",
            &format!("/payments/charges?order_id={order_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(listed.body[0]["status"], "REFUNDED");
    p.assert_every_documented_status_seen();
}

#[tokio::test]
async fn inventory_answers_every_reservation_example_and_follow_up_as_documented() {
    let examples = request_examples("inventory");
    // The default stock, plus any SKU an example names that it lacks: every example
    // reaches the store.
    let mut stock = refsys::inventory::InitialStock::DEFAULT.to_string();
    for (_, _, x) in &examples {
        let sku = x["sku"].as_str().expect("an example has a sku");
        if !stock.split(',').any(|e| e.starts_with(&format!("{sku}="))) {
            stock.push_str(&format!(",{sku}=1000"));
        }
    }
    let mut p = Provider::new(spawn_inventory(&stock).await, "/inventory/");
    let mut reserved = Vec::new();
    for (method, path, example) in &examples {
        assert_eq!(
            path, "/inventory/reservations",
            "a new inventory request contract needs a test"
        );
        let first = p.call(method, path, None, Some(example)).await;
        let again = p.call(method, path, None, Some(example)).await;
        if first.status == 201 {
            assert_eq!(
                again.status, 200,
                "the same reservation again answers the existing one"
            );
            assert_eq!(again.body, first.body);
            reserved.push(first.body);
        } else {
            assert_eq!(again.status, first.status, "{example}");
        }
    }
    assert!(
        !reserved.is_empty(),
        "no ReservationRequest example was reserved"
    );
    let order_id = reserved[0]["order_id"].as_str().unwrap().to_string();

    let body = |order_id: Uuid, sku: &str, quantity: u32| json!({"order_id": order_id, "sku": sku, "quantity": quantity});
    let fresh = Uuid::new_v4();
    let mut different = examples[0].2.clone();
    different["quantity"] = json!(different["quantity"].as_u64().unwrap() % 1000 + 1);
    if different == examples[0].2 {
        different["quantity"] = json!(2);
    }
    different["order_id"] = json!(order_id);
    let missing = Uuid::new_v4();
    for (method, path, payload, status) in [
        (
            "POST",
            "/inventory/reservations".to_string(),
            Some(different),
            409,
        ),
        (
            "POST",
            "/inventory/reservations".to_string(),
            Some(body(fresh, "SKU-SCARCE", 2)),
            409,
        ),
        (
            "POST",
            "/inventory/reservations".to_string(),
            Some(body(fresh, "SKU-NOPE", 1)),
            404,
        ),
        (
            "POST",
            "/inventory/reservations".to_string(),
            Some(body(fresh, "SKU-1", 0)),
            400,
        ),
        (
            "POST",
            "/inventory/reservations".to_string(),
            Some(json!({"order_id": fresh})),
            400,
        ),
        (
            "GET",
            format!("/inventory/reservations/{order_id}"),
            None,
            200,
        ),
        (
            "GET",
            format!("/inventory/reservations/{missing}"),
            None,
            404,
        ),
        ("GET", "/inventory/reservations/nope".to_string(), None, 400),
        (
            "POST",
            format!("/inventory/reservations/{order_id}/release"),
            None,
            200,
        ),
        (
            "POST",
            format!("/inventory/reservations/{order_id}/release"),
            None,
            200,
        ),
        (
            "POST",
            format!("/inventory/reservations/{missing}/release"),
            None,
            404,
        ),
        (
            "POST",
            "/inventory/reservations/nope/release".to_string(),
            None,
            400,
        ),
        ("GET", "/inventory/stock/SKU-1".to_string(), None, 200),
        ("GET", "/inventory/stock/SKU-NOPE".to_string(), None, 404),
        ("GET", "/inventory/stock/lower-case".to_string(), None, 400),
    ] {
        if !crate::support::documented_endpoint(method, &path) {
            continue;
        }
        let answer = p.call(method, &path, None, payload.as_ref()).await;
        assert_eq!(
            answer.status, status,
            "{method} {path} {payload:?}: {}",
            answer.body
        );
    }
    let got = p
        .call(
            "GET",
            &format!("/inventory/reservations/{order_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(got.body["status"], "RELEASED");
    p.assert_every_documented_status_seen();
}

/// Paths and queries that do not decode (a percent-escape of invalid UTF-8, a parameter
/// given twice) get a documented 400 Problem from every provider, orders included, not
/// axum's plain-text rejection (found by the provider_fuzz target).
#[tokio::test]
async fn undecodable_paths_and_queries_get_a_problem() {
    let mut providers = [
        Provider::new(spawn_payments().await, "/payments/"),
        Provider::new(spawn_inventory("SKU-1=1").await, "/inventory/"),
        Provider::new(
            crate::helpers::spawn_orders(crate::helpers::NO_BROKER).await,
            "/orders",
        ),
    ];
    for (i, method, path) in [
        (0, "GET", "/payments/charges/%80"),
        (0, "POST", "/payments/charges/%FF%FE/refund"),
        (0, "POST", "/payments/refunds-by-order/%C3%28"),
        (0, "GET", "/payments/charges?order_id=a&order_id=b"),
        (1, "GET", "/inventory/reservations/%80"),
        (1, "POST", "/inventory/reservations/%80/release"),
        (2, "GET", "/orders/%80"),
    ] {
        let answer = providers[i].call(method, path, None, None).await;
        assert_eq!(answer.status, 400, "{method} {path}: {}", answer.body);
        assert_eq!(answer.body["status"], 400);
    }
}
