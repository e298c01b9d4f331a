//! Cucumber Messages as the Cucumber ecosystem reads them: a real run (a background, a
//! scenario outline with tagged examples, a doc string, a data table, and a scenario that
//! fails on purpose: `tests/fixtures/messages`) writes `--messages`; every line must be
//! valid against the published Cucumber Messages JSON schema, every id a message refers
//! to must exist, and the verdicts must be the run's.
//!
//! The schema is not committed: `ci/ensure-cucumber-messages` fetches it from npm (the
//! `@cucumber/messages` release qalens writes) into `target/qalens/cucumber-messages/`;
//! `QALENS_MESSAGES_SCHEMA` names another copy. Without it this test fails and says so.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;

use common::{fixtures, qalens};

fn schema() -> Value {
    let path = match std::env::var_os("QALENS_MESSAGES_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/qalens/cucumber-messages")
            .join(qalens::report::messages::PROTOCOL_VERSION)
            .join("messages.schema.json"),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Cucumber Messages schema is not at {} ({e}).\n\
             Fetch it with `ci/ensure-cucumber-messages` (needs npm), or set \
             QALENS_MESSAGES_SCHEMA to the messages.schema.json of @cucumber/messages@{}.",
            path.display(),
            qalens::report::messages::PROTOCOL_VERSION
        )
    });
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Every line of `ndjson` that is not valid against `schema`, with why.
fn invalid_lines(schema: &Value, ndjson: &str) -> Vec<String> {
    let validator = jsonschema::draft202012::options()
        .build(schema)
        .expect("the schema compiles");
    let mut out = Vec::new();
    for (i, line) in ndjson.lines().enumerate() {
        let message: Value = match serde_json::from_str(line) {
            Ok(m) => m,
            Err(e) => {
                out.push(format!("line {}: not JSON: {e}", i + 1));
                continue;
            }
        };
        for e in validator.iter_errors(&message) {
            out.push(format!("line {}: {} at {}", i + 1, e, e.instance_path()));
        }
    }
    out
}

fn kind(m: &Value) -> &str {
    m.as_object()
        .and_then(|o| o.keys().next())
        .map_or("", String::as_str)
}

/// Every id some message declares, and every id another message refers to.
fn dangling_references(messages: &[Value]) -> Vec<String> {
    let mut declared = HashSet::new();
    fn collect_ids(v: &Value, into: &mut HashSet<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(id)) = o.get("id") {
                    into.insert(id.clone());
                }
                o.values().for_each(|v| collect_ids(v, into));
            }
            Value::Array(a) => a.iter().for_each(|v| collect_ids(v, into)),
            _ => {}
        }
    }
    messages.iter().for_each(|m| collect_ids(m, &mut declared));
    let mut missing = Vec::new();
    fn refs(v: &Value, at: &str, declared: &HashSet<String>, missing: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let is_ref = k.ends_with("Id") || k.ends_with("Ids");
                    match v {
                        Value::String(id) if is_ref && !declared.contains(id) => {
                            missing.push(format!("{at}.{k} = {id}"))
                        }
                        Value::Array(a) if is_ref => {
                            for id in a.iter().filter_map(Value::as_str) {
                                if !declared.contains(id) {
                                    missing.push(format!("{at}.{k} has {id}"));
                                }
                            }
                        }
                        _ => refs(v, &format!("{at}.{k}"), declared, missing),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, at, declared, missing)),
            _ => {}
        }
    }
    for m in messages {
        refs(m, kind(m), &declared, &mut missing);
    }
    missing
}

#[test]
fn a_runs_cucumber_messages_are_valid_against_the_published_schema() {
    // Before the run: a missing schema fails at once, with the advice.
    let schema = schema();
    let _slot = common::topology_slot();
    let dir = std::env::temp_dir().join(format!("qalens-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("messages.ndjson");
    let (status, out) = common::finish(
        qalens(&[
            "run",
            fixtures("messages").to_str().unwrap(),
            "--messages",
            out_file.to_str().unwrap(),
        ])
        .spawn()
        .unwrap(),
    );
    assert_eq!(
        status.code(),
        Some(1),
        "one scenario fails on purpose:\n{out}"
    );
    let ndjson = std::fs::read_to_string(&out_file)
        .unwrap_or_else(|e| panic!("no messages written ({e}):\n{out}"));
    let _ = std::fs::remove_dir_all(&dir);

    let invalid = invalid_lines(&schema, &ndjson);
    assert!(
        invalid.is_empty(),
        "{} invalid message(s):\n{}",
        invalid.len(),
        invalid.join("\n")
    );
    let messages: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dangling = dangling_references(&messages);
    assert!(
        dangling.is_empty(),
        "dangling ids:\n{}",
        dangling.join("\n")
    );

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in &messages {
        *counts.entry(kind(m)).or_default() += 1;
    }
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    assert_eq!(kind(&messages[0]), "meta", "meta comes first");
    assert_eq!(
        kind(messages.last().unwrap()),
        "testRunFinished",
        "testRunFinished comes last"
    );
    assert_eq!((count("source"), count("gherkinDocument")), (1, 1));
    // Two rows of the outline, the doc string, the table, the failure.
    for k in ["pickle", "testCase", "testCaseStarted", "testCaseFinished"] {
        assert_eq!(count(k), 5, "{k}: {counts:?}");
    }
    assert!(count("stepDefinition") > 10, "{counts:?}");
    assert_eq!(count("testStepStarted"), count("testStepFinished"));
    assert_eq!(
        messages.last().unwrap()["testRunFinished"]["success"],
        false
    );

    let results: Vec<&Value> = messages
        .iter()
        .filter_map(|m| m.get("testStepFinished"))
        .map(|f| &f["testStepResult"])
        .collect();
    let with = |status: &str| results.iter().filter(|r| r["status"] == status).count();
    assert_eq!(with("FAILED"), 1, "{results:?}");
    assert_eq!(
        with("SKIPPED"),
        1,
        "the step after the failure: {results:?}"
    );
    assert_eq!(with("PASSED"), results.len() - 2);
    let failed = results.iter().find(|r| r["status"] == "FAILED").unwrap();
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("expected status 418, saw 201"),
        "{failed}"
    );
    // Every step matched exactly one definition.
    for case in messages.iter().filter_map(|m| m.get("testCase")) {
        for step in case["testSteps"].as_array().unwrap() {
            assert_eq!(
                step["stepDefinitionIds"].as_array().unwrap().len(),
                1,
                "{step}"
            );
        }
    }
    // The failure carries the component logs.
    let attachment = messages
        .iter()
        .find_map(|m| m.get("attachment"))
        .expect("an attachment with the component logs");
    assert_eq!(attachment["mediaType"], "text/plain");
    assert!(attachment["body"].as_str().unwrap().contains("== logs of"));
    // The outline's pickles point at their example rows and carry the examples' tag.
    let outline: Vec<&Value> = messages
        .iter()
        .filter_map(|m| m.get("pickle"))
        .filter(|p| p["name"].as_str().unwrap().starts_with("An order of"))
        .collect();
    assert_eq!(outline.len(), 2);
    for p in outline {
        assert_eq!(p["astNodeIds"].as_array().unwrap().len(), 2, "{p}");
        assert!(
            p["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "@small"),
            "{p}"
        );
    }
}

/// The validation itself can fail: a message the schema refuses is reported.
#[test]
fn an_invalid_message_is_reported() {
    let schema = schema();
    let bad = r#"{"testCaseFinished":{"testCaseStartedId":"1","timestamp":{"seconds":1,"nanos":0},"willBeRetried":"no"}}
{"testStepFinished":{"testCaseStartedId":"1","testStepId":"2","timestamp":{"seconds":1,"nanos":0},"testStepResult":{"status":"BROKEN","duration":{"seconds":0,"nanos":0}}}}
{"pickle":{"id":"3"}}
"#;
    let invalid = invalid_lines(&schema, bad);
    assert!(
        invalid.iter().any(|e| e.starts_with("line 1:")),
        "{invalid:?}"
    );
    assert!(
        invalid.iter().any(|e| e.starts_with("line 2:")),
        "{invalid:?}"
    );
    assert!(
        invalid.iter().any(|e| e.starts_with("line 3:")),
        "{invalid:?}"
    );
    let dangling = dangling_references(
        &bad.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<_>>(),
    );
    assert!(
        dangling.iter().any(|d| d.contains("testCaseStartedId = 1")),
        "{dangling:?}"
    );
}
