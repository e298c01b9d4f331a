//! Checking Cucumber Messages NDJSON against the published schema: shared by the
//! messages test and the full-suite `features` target.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;

use serde_json::Value;

/// The Cucumber Messages JSON schema `ci/ensure-cucumber-messages` fetched (or the file
/// `QALENS_MESSAGES_SCHEMA` names); panics with how to get it when it is missing.
pub fn schema() -> Value {
    let path = match std::env::var_os("QALENS_MESSAGES_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/qalens/cucumber-messages")
            .join(qalens_report::messages::PROTOCOL_VERSION)
            .join("messages.schema.json"),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Cucumber Messages schema is not at {} ({e}).\n\
             Fetch it with `ci/ensure-cucumber-messages` (needs npm), or set \
             QALENS_MESSAGES_SCHEMA to the messages.schema.json of @cucumber/messages@{}.",
            path.display(),
            qalens_report::messages::PROTOCOL_VERSION
        )
    });
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Every line of `ndjson` that is not valid against `schema`, with why.
pub fn invalid_lines(schema: &Value, ndjson: &str) -> Vec<String> {
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

pub fn kind(m: &Value) -> &str {
    m.as_object()
        .and_then(|o| o.keys().next())
        .map_or("", String::as_str)
}

/// Every id some message declares, and every id another message refers to.
pub fn dangling_references(messages: &[Value]) -> Vec<String> {
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
