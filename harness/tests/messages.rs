//! Cucumber Messages as the Cucumber ecosystem reads them: a real run (a background, a
//! scenario outline with tagged examples, a doc string, a data table, and a scenario that
//! fails on purpose: `tests/fixtures/messages`) writes `--messages`; every line must be
//! valid against the published Cucumber Messages JSON schema, every id a message refers
//! to must exist, and the verdicts must be the run's.
//!
//! Then a real reader: the official Cucumber HTML formatter renders the file, headless
//! Chromium opens the page, and every scenario must be there with each step showing its
//! own text (`common/formatter.rs`; the full suite's run gets the same check in the
//! `features` target).
//!
//! The schema is not committed: `ci/ensure-cucumber-messages` fetches it from npm (the
//! `@cucumber/messages` release qalens writes) into `target/qalens/cucumber-messages/`;
//! `QALENS_MESSAGES_SCHEMA` names another copy. Without it this test fails and says so.
//! The formatter comes from `ci/ensure-report-readers`, Chromium from `ci/ensure-chromium`.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use std::collections::HashMap;

use serde_json::Value;

use common::formatter;
use common::messages::{dangling_references, invalid_lines, kind, schema};

#[test]
fn a_runs_cucumber_messages_are_valid_against_the_published_schema() {
    // Before the run: a missing schema fails at once, with the advice.
    let schema = schema();
    let _slot = common::topology_slot();
    let (out_file, out) = common::run_messages_fixture("--messages", "messages.ndjson");
    let dir = out_file.parent().unwrap().to_path_buf();
    let ndjson = std::fs::read_to_string(&out_file)
        .unwrap_or_else(|e| panic!("no messages written ({e}):\n{out}"));

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

    // What the official formatter shows: every scenario, every step as its text.
    let shown = formatter::render(
        &out_file,
        &dir.join("messages.html"),
        &dir.join("chromium-profile"),
    );
    let seen = formatter::compare(&messages, &shown);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        seen.problems.is_empty(),
        "the HTML formatter shows {} of {} steps as their text:\n{}",
        seen.steps_intact,
        seen.steps,
        seen.problems.join("\n")
    );
    assert_eq!((seen.scenarios, seen.scenarios_shown), (5, 5));
    assert_eq!(seen.steps_intact, seen.steps);
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
