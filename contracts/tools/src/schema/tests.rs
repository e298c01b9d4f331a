use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::*;

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
