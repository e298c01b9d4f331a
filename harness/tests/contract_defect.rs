//! A producer that breaks its contract fails the end-to-end contract steps: with the
//! `renamed-field` defect, orders sends payments `amount` instead of `amount_cents`, and
//! `features/contracts` fails with the schema violation, not with an unrelated error.
//! (The consumer-side test of the same defect is reference-system/tests/contracts_broken_producer.rs.)
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use common::*;

#[test]
fn a_renamed_field_fails_the_contract_scenarios_with_the_schema_error() {
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../features/contracts");
    let report_path = |ext: &str| {
        std::env::temp_dir().join(format!(
            "qalens-contract-defect-{}.{ext}",
            std::process::id()
        ))
    };
    let (junit, json) = (report_path("xml"), report_path("json"));
    let child = qalens(&[
        "run",
        features.to_str().unwrap(),
        "--defect",
        "renamed-field",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let pid = child.id();
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("break ChargeRequest v1")
            && out.contains("\"amount_cents\" is a required property")
            && out.contains("'amount' was unexpected"),
        "{out}"
    );
    assert_nothing_left(pid, &out);

    // The failed test cases carry the logs the components wrote meanwhile: orders
    // cancelled the orders whose charge payments refused.
    let report = std::fs::read_to_string(&junit).unwrap();
    let _ = std::fs::remove_file(&junit);
    let failed = report
        .split("<testcase")
        .filter(|case| case.contains("<failure"))
        .collect::<Vec<_>>();
    assert!(!failed.is_empty(), "{report}");
    assert!(
        failed.iter().any(|case| case.contains("== logs of orders")
            && case.contains("order cancelled")
            && case.contains("<system-out>")),
        "{report}"
    );
    assert!(
        !report.contains('\u{1b}'),
        "terminal escapes make the XML invalid"
    );

    // Cucumber JSON embeds them in the failed steps.
    let cucumber: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let failed_steps_with_logs = cucumber
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["elements"].as_array().unwrap())
        .flat_map(|e| e["steps"].as_array().unwrap())
        .filter(|s| {
            s["result"]["status"] == "failed"
                && s["embeddings"].as_array().is_some_and(|e| !e.is_empty())
        })
        .count();
    assert!(failed_steps_with_logs > 0, "{cucumber:#}");
}
