use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::*;
use crate::services::{
    ChargeRequest, ChargeView, IDEMPOTENCY_KEY_HEADER, ReservationRequest, ReservationView,
};
use crate::{ORDER_EVENTS_EXCHANGE, OrderEvent, OrderView, PlaceOrderRequest, Problem};
use contract_tools::schema::{Contract, ContractError, DRAFT_2020_12, Kind};
use serde_json::Value;

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

const ORDER_ID: &str = "0195f3a2-7c41-7d13-9a4e-2b6c81f0d935";

// ---- the bundled contracts ------------------------------------------------------------

#[test]
fn the_bundled_registry_has_every_contract_of_the_design() {
    let found: Vec<(String, u32, Kind)> = registry()
        .contracts()
        .iter()
        .map(|c| (c.name.clone(), c.version, c.kind))
        .collect();
    let expected = [
        ("ChargeRequest", Kind::Request),
        ("Charge", Kind::Response),
        ("ChargeList", Kind::Response),
        ("ReservationRequest", Kind::Request),
        ("Reservation", Kind::Response),
        ("Problem", Kind::Response),
        ("PlaceOrderRequest", Kind::Request),
        ("Order", Kind::Response),
        ("OrderPlaced", Kind::Message),
        ("OrderConfirmed", Kind::Message),
        ("OrderCancelled", Kind::Message),
        ("IdentityHeaders", Kind::Headers),
    ]
    .map(|(n, k)| (n.to_string(), 1, k));
    assert_eq!(found, expected);
}

#[test]
fn every_file_in_the_schemas_directory_is_embedded_and_indexed() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(schemas_dir())
        .expect("contracts/schemas is readable")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let embedded: BTreeSet<String> = BUNDLED_FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        on_disk, embedded,
        "BUNDLED_FILES in bundled.rs must embed exactly the files of contracts/schemas"
    );
    for (name, text) in BUNDLED_FILES {
        let disk = std::fs::read_to_string(schemas_dir().join(name)).expect("readable");
        assert_eq!(&disk, text, "{name} changed since the build");
    }
    let mut indexed: BTreeSet<String> = registry()
        .contracts()
        .iter()
        .map(|c| c.file.clone())
        .collect();
    indexed.insert(INDEX_FILE.to_string());
    assert_eq!(
        on_disk, indexed,
        "every schema file must be listed in index.json"
    );
}

#[test]
fn loading_the_directory_gives_the_bundled_registry() {
    let loaded = Registry::load_dir(&schemas_dir()).expect("contracts/schemas loads");
    let bundled = registry();
    assert_eq!(loaded.contracts().len(), bundled.contracts().len());
    for (l, b) in loaded.contracts().iter().zip(bundled.contracts()) {
        assert_eq!(
            (&l.name, l.version, l.kind, &l.endpoints),
            (&b.name, b.version, b.kind, &b.endpoints)
        );
        assert_eq!(l.schema, b.schema, "{}", l.id());
    }
}

#[test]
fn ids_titles_and_file_names_agree_with_the_index() {
    for c in registry().contracts() {
        assert_eq!(c.schema["$schema"], DRAFT_2020_12, "{}", c.id());
        assert_eq!(
            c.schema["$id"],
            format!("urn:qalens:contract:{}:v{}", c.name, c.version)
        );
        assert_eq!(c.schema["$id"], c.schema_id());
        assert_eq!(c.schema["title"], c.name.as_str());
        assert_eq!(c.file, format!("{}.v{}.json", c.name, c.version));
        assert_eq!(c.id(), format!("{} v{}", c.name, c.version));
    }
}

/// Deserializes `example` into the Rust type of contract `name` and serializes it back.
fn typed_round_trip(name: &str, example: &Value) -> Result<Value, String> {
    fn via<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
        let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        serde_json::to_value(typed).map_err(|e| e.to_string())
    }
    match name {
        "ChargeRequest" => via::<ChargeRequest>(example),
        "Charge" => via::<ChargeView>(example),
        "ChargeList" => via::<Vec<ChargeView>>(example),
        "ReservationRequest" => via::<ReservationRequest>(example),
        "Reservation" => via::<ReservationView>(example),
        "Problem" => via::<Problem>(example),
        "Order" => via::<OrderView>(example),
        "PlaceOrderRequest" => via::<PlaceOrderRequest>(example),
        "OrderPlaced" | "OrderConfirmed" | "OrderCancelled" => {
            let event: OrderEvent =
                serde_json::from_value(example.clone()).map_err(|e| e.to_string())?;
            if event.type_name() != name {
                return Err(format!("an example of {name} is a {}", event.type_name()));
            }
            serde_json::to_value(event).map_err(|e| e.to_string())
        }
        "IdentityHeaders" => via::<HashMap<String, String>>(example),
        other => Err(format!("no Rust type for contract {other}")),
    }
}

#[test]
fn every_example_is_its_rust_type_and_valid_before_and_after_serde() {
    for c in registry().contracts() {
        for (i, example) in c.examples.iter().enumerate() {
            let at = format!("{} example {i}", c.id());
            c.validate(example)
                .unwrap_or_else(|v| panic!("{at} is invalid:\n{v}"));
            let back = typed_round_trip(&c.name, example).unwrap_or_else(|e| panic!("{at}: {e}"));
            c.validate(&back)
                .unwrap_or_else(|v| panic!("{at} is invalid after serde:\n{v}"));
            assert_eq!(&back, example, "{at} is not in the Rust types' serde form");
        }
    }
}

#[test]
fn message_contracts_agree_with_the_rust_routing() {
    for c in registry()
        .contracts()
        .iter()
        .filter(|c| c.kind == Kind::Message)
    {
        assert_eq!(c.exchange.as_deref(), Some(ORDER_EVENTS_EXCHANGE));
        for example in &c.examples {
            let event: OrderEvent = serde_json::from_value(example.clone()).expect("an event");
            assert_eq!(c.routing_key.as_deref(), Some(event.routing_key()));
            assert_eq!(event.type_name(), c.name);
        }
    }
}

#[test]
fn charge_request_requires_the_idempotency_key_header() {
    let c = registry().get("ChargeRequest", 1).expect("known");
    assert_eq!(c.required_headers, [IDEMPOTENCY_KEY_HEADER]);
}

#[test]
fn charge_list_items_are_exactly_the_charge_schema() {
    let registry = registry();
    let mut charge = registry.get("Charge", 1).expect("known").schema.clone();
    let charge = charge.as_object_mut().expect("an object");
    for meta in ["$schema", "$id", "title", "description", "examples"] {
        charge.remove(meta);
    }
    let list = &registry.get("ChargeList", 1).expect("known").schema;
    assert_eq!(list["items"], json!({"$ref": "#/$defs/Charge"}));
    assert_eq!(list["$defs"]["Charge"], Value::Object(charge.clone()));
}

// ---- validation -----------------------------------------------------------------------

#[test]
fn a_violation_names_its_pointer_and_problem() {
    let c = registry().get("ChargeRequest", 1).expect("known");
    let request = json!({"order_id": ORDER_ID, "customer": "alice", "amount_cents": 0});
    let violations = c.validate(&request).expect_err("amount 0 is invalid");
    assert_eq!(
        violations.to_string(),
        "/amount_cents: 0 is less than the minimum of 1"
    );
}

#[test]
fn validation_reports_every_violation() {
    let c = registry().get("ChargeRequest", 1).expect("known");
    let request = json!({"order_id": "42", "customer": "a b", "amount": 5});
    let violations = c.validate(&request).expect_err("invalid").0;
    for expected in [
        "/order_id: \"42\" does not match",
        "/customer: \"a b\" does not match",
        "(root): \"amount_cents\" is a required property",
        "(root): Additional properties are not allowed ('amount' was unexpected)",
    ] {
        assert!(
            violations.iter().any(|v| v.starts_with(expected)),
            "{expected:?} not in {violations:#?}"
        );
    }
    assert_eq!(violations.len(), 4, "{violations:#?}");
}

#[test]
fn an_order_has_a_reason_exactly_when_cancelled() {
    let c = registry().get("Order", 1).expect("known");
    let order = json!({"id": ORDER_ID, "customer": "alice", "sku": "SKU-1", "quantity": 2,
                       "amount_cents": 2500, "status": "CANCELLED"});
    let v = c
        .validate(&order)
        .expect_err("a cancelled order needs a reason");
    assert_eq!(v.0, ["(root): \"reason\" is a required property"]);
    let mut order = order;
    order["status"] = "CONFIRMED".into();
    assert_eq!(c.validate(&order), Ok(()));
    order["reason"] = "payments timed out".into();
    let v = c
        .validate(&order)
        .expect_err("only a cancelled order has a reason");
    assert!(v.0.iter().all(|l| l.starts_with("/reason: ")), "{v}");
}

#[test]
fn identity_headers_need_the_identity_and_lower_case_names() {
    let c = registry().get("IdentityHeaders", 1).expect("known");
    let headers = json!({"x-client-id": "c1", "x-client-tier": "gold", "X-Other": "1"});
    let v = c.validate(&headers).expect_err("invalid").0;
    assert!(
        v.iter().any(|l| l.starts_with("/x-client-tier: ")),
        "{v:#?}"
    );
    assert!(
        v.iter()
            .any(|l| l.contains("\"x-client-scopes\" is a required property"))
    );
    assert!(v.iter().any(|l| l.contains("X-Other")), "{v:#?}");
}

// ---- lookups --------------------------------------------------------------------------

fn response_name(method: &str, path: &str, status: u16) -> Option<String> {
    registry()
        .response_for(method, path, status)
        .map(Contract::id)
}

#[test]
fn responses_are_found_by_concrete_path_and_status() {
    let id = ORDER_ID;
    let cases = [
        (
            "POST",
            "/payments/charges".to_string(),
            201,
            Some("Charge v1"),
        ),
        ("POST", "/payments/charges".into(), 200, Some("Charge v1")),
        ("POST", "/payments/charges".into(), 402, Some("Problem v1")),
        ("POST", "/payments/charges".into(), 500, None),
        (
            "GET",
            format!("/payments/charges?order_id={id}"),
            200,
            Some("ChargeList v1"),
        ),
        (
            "GET",
            format!("/payments/charges/{id}"),
            200,
            Some("Charge v1"),
        ),
        (
            "GET",
            format!("/payments/charges/{id}"),
            404,
            Some("Problem v1"),
        ),
        (
            "POST",
            format!("/payments/refunds-by-order/{id}"),
            200,
            Some("Charge v1"),
        ),
        (
            "post",
            format!("http://payments:8080/payments/charges/{id}/refund"),
            200,
            Some("Charge v1"),
        ),
        (
            "POST",
            format!("/inventory/reservations/{id}/release"),
            200,
            Some("Reservation v1"),
        ),
        ("GET", format!("/orders/{id}"), 200, Some("Order v1")),
        ("GET", format!("/orders/{id}/summary"), 200, None),
        ("GET", "/payments/charges//refund".into(), 200, None),
        ("GET", "/orders/".into(), 200, None),
        ("DELETE", format!("/orders/{id}"), 200, None),
    ];
    for (method, path, status, expected) in cases {
        assert_eq!(
            response_name(method, &path, status).as_deref(),
            expected,
            "{method} {path} {status}"
        );
    }
}

#[test]
fn requests_are_found_by_concrete_path() {
    let registry = registry();
    let name = |m: &str, p: &str| registry.request_for(m, p).map(|c| c.name.clone());
    assert_eq!(
        name("POST", "/payments/charges").as_deref(),
        Some("ChargeRequest")
    );
    assert_eq!(
        name("POST", "/inventory/reservations").as_deref(),
        Some("ReservationRequest")
    );
    assert_eq!(
        name("POST", "/orders?source=test").as_deref(),
        Some("PlaceOrderRequest")
    );
    assert_eq!(name("GET", "/payments/charges"), None);
    assert_eq!(name("POST", "/payments/charges/x"), None);
}

#[test]
fn an_unknown_contract_error_lists_the_known_ones() {
    let registry = registry();
    let err = registry.get("Refund", 1).expect_err("unknown");
    let text = err.to_string();
    assert!(text.starts_with("no contract Refund v1; known: ChargeRequest v1, Charge v1"));
    assert!(matches!(
        registry.get("Charge", 2),
        Err(ContractError::Unknown { .. })
    ));
    assert_eq!(registry.latest("Charge").map(|c| c.version), Some(1));
    assert!(registry.latest("Refund").is_none());
}
