use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::*;
use crate::services::{
    ChargeRequest, ChargeView, IDEMPOTENCY_KEY_HEADER, ReservationRequest, ReservationView,
};
use crate::{ORDER_EVENTS_EXCHANGE, OrderEvent, OrderView, PlaceOrderRequest, Problem};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

const ORDER_ID: &str = "0195f3a2-7c41-7d13-9a4e-2b6c81f0d935";

// ---- the bundled contracts ------------------------------------------------------------

#[test]
fn the_bundled_registry_has_every_contract_of_the_design() {
    let found: Vec<(String, u32, Kind)> = Registry::bundled()
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
        "BUNDLED_FILES in schema.rs must embed exactly the files of contracts/schemas"
    );
    for (name, text) in BUNDLED_FILES {
        let disk = std::fs::read_to_string(schemas_dir().join(name)).expect("readable");
        assert_eq!(&disk, text, "{name} changed since the build");
    }
    let mut indexed: BTreeSet<String> = Registry::bundled()
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
    let bundled = Registry::bundled();
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
    for c in Registry::bundled().contracts() {
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
    for c in Registry::bundled().contracts() {
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
    for c in Registry::bundled()
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
    let c = Registry::bundled().get("ChargeRequest", 1).expect("known");
    assert_eq!(c.required_headers, [IDEMPOTENCY_KEY_HEADER]);
}

#[test]
fn charge_list_items_are_exactly_the_charge_schema() {
    let registry = Registry::bundled();
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
    let c = Registry::bundled().get("ChargeRequest", 1).expect("known");
    let request = json!({"order_id": ORDER_ID, "customer": "alice", "amount_cents": 0});
    let violations = c.validate(&request).expect_err("amount 0 is invalid");
    assert_eq!(
        violations.to_string(),
        "/amount_cents: 0 is less than the minimum of 1"
    );
}

#[test]
fn validation_reports_every_violation() {
    let c = Registry::bundled().get("ChargeRequest", 1).expect("known");
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
    let c = Registry::bundled().get("Order", 1).expect("known");
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
    let c = Registry::bundled()
        .get("IdentityHeaders", 1)
        .expect("known");
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
    Registry::bundled()
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
    let registry = Registry::bundled();
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
    let registry = Registry::bundled();
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

#[test]
fn path_templates_match_one_segment_per_parameter() {
    assert_eq!(template_literals("/a/{id}/b", "/a/1/b"), Some(2));
    assert_eq!(template_literals("/a/{id}/b", "/a/1/b?x=1#f"), Some(2));
    assert_eq!(template_literals("/a/{id}/b", "/a/1/2/b"), None);
    assert_eq!(template_literals("/a/{id}/b", "/a//b"), None);
    assert_eq!(template_literals("/a/{id}", "/a/1/"), None);
    assert_eq!(template_literals("/a", "/a/"), None);
    assert_eq!(template_literals("/a/{}", "/a/{}"), Some(2));
    assert_eq!(template_literals("/a", "https://h:1/a?q"), Some(1));
    let endpoint = Endpoint {
        method: "GET".into(),
        path: "/a/{id}".into(),
        statuses: vec![200],
    };
    assert!(endpoint.matches("get", "/a/7"));
    assert!(!endpoint.matches("POST", "/a/7"));
}

// ---- loading from disk: fixtures ------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "qalens-contracts-{}-{label}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).expect("write fixture");
    }

    fn write_json(&self, name: &str, value: &Value) {
        self.write(name, &serde_json::to_string_pretty(value).expect("json"));
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn thing_schema(name: &str, version: u32) -> Value {
    json!({
        "$schema": DRAFT_2020_12,
        "$id": schema_id(name, version),
        "title": name,
        "description": "A test payload.",
        "type": "object",
        "additionalProperties": false,
        "required": ["n"],
        "properties": {"n": {"type": "integer", "minimum": 1}},
        "examples": [{"n": 1}, {"n": 42}]
    })
}

fn thing_entry() -> Value {
    json!({"name": "Thing", "version": 1, "kind": "request", "file": "Thing.v1.json",
           "producers": ["a"], "consumers": ["b"],
           "endpoints": [{"method": "POST", "path": "/things"}]})
}

/// A directory with an index of `entries` and the given schema files.
fn fixture(label: &str, entries: Vec<Value>, files: &[(&str, Value)]) -> TempDir {
    let dir = TempDir::new(label);
    dir.write_json(INDEX_FILE, &json!({ "contracts": entries }));
    for (name, schema) in files {
        dir.write_json(name, schema);
    }
    dir
}

fn load_error(dir: &TempDir) -> ContractError {
    Registry::load_dir(&dir.0).expect_err("the fixture is invalid")
}

#[test]
fn a_registry_loads_from_any_directory_at_run_time() {
    let dir = fixture(
        "run-time",
        vec![
            thing_entry(),
            json!({"name": "Other", "version": 2, "kind": "headers", "file": "Other.v2.json"}),
        ],
        &[
            ("Thing.v1.json", thing_schema("Thing", 1)),
            ("Other.v2.json", thing_schema("Other", 2)),
        ],
    );
    let registry = Registry::load_dir(&dir.0).expect("the temp directory loads");
    let ids: Vec<String> = registry.contracts().iter().map(Contract::id).collect();
    assert_eq!(ids, ["Thing v1", "Other v2"]);
    assert_eq!(
        registry.latest("Other").map(|c| c.kind),
        Some(Kind::Headers)
    );
    assert!(Registry::bundled().get("Thing", 1).is_err());
}

#[test]
fn a_valid_fixture_loads_and_validates() {
    let dir = fixture(
        "valid",
        vec![thing_entry()],
        &[("Thing.v1.json", thing_schema("Thing", 1))],
    );
    let registry = Registry::from_index_file(&dir.0.join(INDEX_FILE)).expect("valid");
    let thing = registry.get("Thing", 1).expect("loaded");
    assert_eq!(thing.kind, Kind::Request);
    assert_eq!(thing.examples.len(), 2);
    assert_eq!(thing.validate(&json!({"n": 3})), Ok(()));
    assert!(thing.validate(&json!({"n": "3"})).is_err());
}

#[test]
fn an_index_naming_a_missing_file_is_an_error() {
    let dir = fixture("missing", vec![thing_entry()], &[]);
    let err = load_error(&dir);
    assert!(
        matches!(&err, ContractError::Listed { source, .. } if source.kind() == io::ErrorKind::NotFound),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: listed in {} but cannot be read: ",
            dir.path("Thing.v1.json"),
            dir.path(INDEX_FILE)
        )),
        "{text}"
    );
}

#[test]
fn a_missing_index_is_a_read_error() {
    let dir = TempDir::new("no-index");
    let err = load_error(&dir);
    assert!(matches!(err, ContractError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read: ", dir.path(INDEX_FILE)))
    );
}

#[test]
fn an_invalid_example_is_an_error() {
    let mut schema = thing_schema("Thing", 1);
    schema["examples"] = json!([{"n": 1}, {"n": 0, "m": 1}]);
    let dir = fixture(
        "bad-example",
        vec![thing_entry()],
        &[("Thing.v1.json", schema)],
    );
    let err = load_error(&dir);
    assert!(
        matches!(err, ContractError::Example { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: example 1 does not validate:\n\
             /n: 0 is less than the minimum of 1\n\
             (root): Additional properties are not allowed ('m' was unexpected)",
            dir.path("Thing.v1.json")
        )
    );
}

#[test]
fn an_id_or_title_disagreeing_with_the_index_is_an_error() {
    let mut schema = thing_schema("Thing", 1);
    schema["$id"] = "urn:qalens:contract:Thing:v2".into();
    let dir = fixture("bad-id", vec![thing_entry()], &[("Thing.v1.json", schema)]);
    let err = load_error(&dir);
    assert!(
        matches!(err, ContractError::Mismatch { keyword: "$id", .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: $id is \"urn:qalens:contract:Thing:v2\", but the index entry says \
             \"urn:qalens:contract:Thing:v1\"",
            dir.path("Thing.v1.json")
        )
    );

    let mut schema = thing_schema("Thing", 1);
    schema.as_object_mut().expect("object").remove("title");
    let dir = fixture(
        "no-title",
        vec![thing_entry()],
        &[("Thing.v1.json", schema)],
    );
    let err = load_error(&dir);
    assert!(
        matches!(
            err,
            ContractError::Mismatch {
                keyword: "title",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("title is missing, but the index entry says \"Thing\"")
    );
}

#[test]
fn invalid_json_names_the_file_and_line() {
    let dir = TempDir::new("bad-json");
    dir.write(INDEX_FILE, "{\n  \"contracts\": [\n    ,\n  ]\n}\n");
    let err = load_error(&dir);
    assert!(
        matches!(err, ContractError::Json { line: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}: invalid JSON at line 3", dir.path(INDEX_FILE)))
    );

    let dir = fixture("bad-schema-json", vec![thing_entry()], &[]);
    dir.write("Thing.v1.json", "{\"title\": \"Thing\",}");
    let err = load_error(&dir);
    assert!(
        matches!(err, ContractError::Json { line: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(&dir.path("Thing.v1.json")));
}

#[test]
fn a_schema_that_does_not_compile_is_an_error() {
    let mut schema = thing_schema("Thing", 1);
    schema["properties"]["n"]["type"] = "integr".into();
    let dir = fixture(
        "no-compile",
        vec![thing_entry()],
        &[("Thing.v1.json", schema)],
    );
    let err = load_error(&dir);
    assert!(matches!(err, ContractError::Compile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: the schema does not compile: at /properties/n/type: ",
            dir.path("Thing.v1.json")
        )),
        "{text}"
    );
}

#[test]
fn schema_files_must_declare_draft_2020_12_a_description_and_examples() {
    type Mutate = fn(&mut Value);
    let cases: [(&str, Mutate, &str); 3] = [
        (
            "draft",
            |s| s["$schema"] = "http://json-schema.org/draft-07/schema#".into(),
            "$schema must be \"https://json-schema.org/draft/2020-12/schema\"",
        ),
        (
            "description",
            |s| {
                s.as_object_mut().map(|o| o.remove("description"));
            },
            "a description is required",
        ),
        (
            "examples",
            |s| s["examples"] = json!([]),
            "examples must be an array of at least one valid instance",
        ),
    ];
    for (label, mutate, problem) in cases {
        let mut schema = thing_schema("Thing", 1);
        mutate(&mut schema);
        let dir = fixture(label, vec![thing_entry()], &[("Thing.v1.json", schema)]);
        let err = load_error(&dir);
        assert_eq!(
            err.to_string(),
            format!("{}: {problem}", dir.path("Thing.v1.json")),
            "{label}"
        );
    }
}

#[test]
fn index_entries_are_checked_for_their_kind() {
    let schema = [("Thing.v1.json", thing_schema("Thing", 1))];
    let with = |patch: Value| {
        let mut entry = thing_entry();
        for (k, v) in patch.as_object().expect("object") {
            if v.is_null() {
                entry.as_object_mut().expect("object").remove(k);
            } else {
                entry[k] = v.clone();
            }
        }
        entry
    };
    let cases = [
        (
            vec![thing_entry(), thing_entry()],
            "contracts[1]: Thing v1 is listed twice",
        ),
        (
            vec![with(json!({"file": "thing.json"}))],
            "Thing v1: the file is \"thing.json\", it must be \"Thing.v1.json\"",
        ),
        (
            vec![with(json!({"kind": "response"}))],
            "Thing v1: endpoint POST /things: a response lists its statuses",
        ),
        (
            vec![with(json!({"endpoints": null}))],
            "Thing v1: a request contract needs endpoints",
        ),
        (
            vec![with(
                json!({"kind": "message", "endpoints": null, "exchange": "x"}),
            )],
            "Thing v1: a message contract needs exchange and routing_key",
        ),
        (
            vec![with(
                json!({"endpoints": [{"method": "post", "path": "/things"}]}),
            )],
            "Thing v1: endpoint post /things: the method must be upper case",
        ),
        (
            vec![with(json!({"required_headers": ["Idempotency-Key"]}))],
            "Thing v1: required header \"Idempotency-Key\" must be lower case",
        ),
        (
            vec![with(json!({"version": 0}))],
            "Thing v0: versions start at 1",
        ),
    ];
    for (entries, problem) in cases {
        let dir = fixture("index", entries, &schema);
        let err = load_error(&dir);
        assert!(matches!(err, ContractError::Invalid { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("{}: {problem}", dir.path(INDEX_FILE))
        );
    }

    let dir = fixture(
        "unknown-key",
        vec![with(json!({"statuses": [200]}))],
        &schema,
    );
    let err = load_error(&dir);
    assert!(matches!(err, ContractError::Invalid { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: contracts[0]: unknown field `statuses`",
            dir.path(INDEX_FILE)
        )
    );

    let dir = fixture("unknown-top-key", vec![thing_entry()], &schema);
    let mut index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join(INDEX_FILE)).expect("written"))
            .expect("json");
    index["owner"] = "qa".into();
    dir.write_json(INDEX_FILE, &index);
    let err = load_error(&dir);
    assert_eq!(
        err.to_string(),
        format!("{}: unknown field `owner`", dir.path(INDEX_FILE))
    );
}

#[test]
fn lookups_prefer_literal_segments_then_the_latest_version() {
    let entry = |name: &str, version: u32, path: &str| {
        json!({"name": name, "version": version, "kind": "response",
               "file": format!("{name}.v{version}.json"),
               "endpoints": [{"method": "GET", "path": path, "statuses": [200]}]})
    };
    let dir = fixture(
        "ranking",
        vec![
            entry("Thing", 1, "/things/{id}"),
            entry("Thing", 2, "/things/{id}"),
            entry("Special", 1, "/things/special"),
        ],
        &[
            ("Thing.v1.json", thing_schema("Thing", 1)),
            ("Thing.v2.json", thing_schema("Thing", 2)),
            ("Special.v1.json", thing_schema("Special", 1)),
        ],
    );
    let registry = Registry::load_dir(&dir.0).expect("valid");
    let found = |path: &str| registry.response_for("GET", path, 200).map(Contract::id);
    assert_eq!(found("/things/7").as_deref(), Some("Thing v2"));
    assert_eq!(found("/things/special").as_deref(), Some("Special v1"));
    assert_eq!(registry.latest("Thing").map(|c| c.version), Some(2));
    assert_eq!(registry.get("Thing", 1).map(|c| c.version).ok(), Some(1));
    assert!(registry.response_for("GET", "/things/7", 404).is_none());
}
