//! JUnit XML as CI servers read it: a real run (a scenario outline, a doc string, a data
//! table, and a scenario that fails on purpose: `tests/fixtures/messages`) writes
//! `--junit`; the file must be valid against the JUnit schema Jenkins reads, and its
//! counts and times must be what a CI server computes with (`common/junit.rs`). The
//! full suite's report gets the same check in the `features` target.
//!
//! The schema and `xmllint` come from `ci/ensure-report-readers` (this test runs it).
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use common::{formatter, junit};

#[test]
fn a_runs_junit_xml_is_valid_against_the_jenkins_schema() {
    // Before the run: missing readers fail at once, with the advice.
    let schema = junit::schema(&formatter::readers());
    let _slot = common::topology_slot();
    let (report, out) = common::run_messages_fixture("--junit", "junit.xml");
    assert!(report.is_file(), "no JUnit report written:\n{out}");
    let problems = junit::problems(&schema, &report);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Two outline rows, the doc string, the table, the failure.
    assert_eq!(junit::count(&report, "//testcase"), 5);
    assert_eq!(junit::count(&report, "//testcase[failure or error]"), 1);
    assert_eq!(
        junit::count(
            &report,
            "//testcase[failure or error][contains(., 'expected status 418, saw 201')]"
        ),
        1
    );
    let _ = std::fs::remove_dir_all(report.parent().unwrap());
}

/// The check itself fails: a report the schema refuses, and one whose counts lie.
#[test]
fn a_report_a_ci_server_would_refuse_or_misread_is_reported() {
    let schema = junit::schema(&formatter::readers());
    let dir = std::env::temp_dir().join(format!("qalens-junit-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let invalid = dir.join("invalid.xml");
    // `failure` before `skipped`, and a test case without a name.
    std::fs::write(
        &invalid,
        r#"<testsuites><testsuite name="s" tests="1"><testcase><failure/><skipped/></testcase></testsuite></testsuites>"#,
    )
    .unwrap();
    let problems = junit::problems(&schema, &invalid);
    assert!(
        problems.iter().any(|p| p.contains("testcase")),
        "{problems:?}"
    );
    let miscounted = dir.join("miscounted.xml");
    std::fs::write(
        &miscounted,
        r#"<testsuites><testsuite name="s" tests="2" failures="0" time="1.5"><testcase name="a" time="soon"><failure message="no"/></testcase></testsuite></testsuites>"#,
    )
    .unwrap();
    let problems = junit::problems(&schema, &miscounted);
    let _ = std::fs::remove_dir_all(&dir);
    for what in [
        "whose tests is not",
        "whose failures is not",
        "time is not a number",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "{what}: {problems:?}"
        );
    }
}
