//! Fuzzing the feature checker (`qalens check`'s lint): proptest generators that write
//! Gherkin structure (features, rules, backgrounds, outlines with examples, doc strings,
//! tables, tags, comments), mutated (keywords misspelt, look-alike letters, lines
//! dropped or doubled, odd Unicode), not only random bytes. Every case must end without a
//! panic, in bounded time, with every problem and warning located at `FILE:LINE`. A fixed
//! number of cases with a fixed seed, so a run takes seconds and repeats itself.
//!
//! The inputs found by fuzzing (here and by `ci/fuzz-campaign features`) are kept in
//! `tests/fixtures/features-fuzz/` and checked by
//! `found_inputs_are_checked_without_panic_and_located`.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// How long one file may take: far above a healthy check (milliseconds), far below the
/// quadratic costs the fuzzing guards against.
const BUDGET: Duration = Duration::from_secs(2);

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a free client \"a\"".to_string()),
        Just("the client sends GET \"/api/catalog\"".to_string()),
        Just("the response status is 200".to_string()),
        Just("the clock of the gateway-1 container is 5 minutes ahead".to_string()),
        Just("the client sends GET \"/x\" to gateway replica 2".to_string()),
        Just("the client sends 99999999999999999999 GET requests to \"/x\" round-robin across the gateway replicas".to_string()),
        Just("a free client \"<name>\"".to_string()),
        "[a-z <>\"/{}|]{0,40}",
        "\\PC{0,30}",
    ]
}

fn keyword() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Given".to_string()),
        Just("When".to_string()),
        Just("Then".to_string()),
        Just("And".to_string()),
        Just("But".to_string()),
        Just("*".to_string()),
        Just("Givn".to_string()),
        Just("Whne".to_string()),
        Just("Тhen".to_string()), // Cyrillic Т
    ]
}

fn block() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Scenario".to_string()),
        Just("Scenario Outline".to_string()),
        Just("Example".to_string()),
        Just("Background".to_string()),
        Just("Rule".to_string()),
        Just("Examples".to_string()),
        Just("Scenaro".to_string()),
        Just("Sсenario".to_string()), // Cyrillic с
        Just("Scenario Outlin".to_string()),
        Just("Feature".to_string()),
    ]
}

/// One line of a feature body.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (keyword(), word()).prop_map(|(k, w)| format!("    {k} {w}")),
        2 => (block(), word()).prop_map(|(b, w)| format!("  {b}: {w}")),
        1 => "[a-z|]{0,12}".prop_map(|c| format!("      | {c} |")),
        1 => prop::collection::vec("[a-z0-9 ]{0,6}", 1..4)
            .prop_map(|cells| format!("      | {} |", cells.join(" | "))),
        1 => Just("    \"\"\"".to_string()),
        1 => Just("    ```".to_string()),
        1 => "@[a-z:,-]{0,12}".prop_map(|t| format!("  {t}")),
        1 => "# [a-z ]{0,20}".prop_map(|c| format!("  {c}")),
        1 => Just(String::new()),
        1 => Just("# language: xx".to_string()),
        1 => "\\PC{0,20}",
    ]
}

/// A feature: a header, then lines, sometimes a big outline; tabs, CRs and a BOM.
fn feature() -> impl Strategy<Value = String> {
    (
        prop::option::of(Just("\u{feff}")),
        prop::bool::ANY,
        prop::collection::vec(line(), 0..40),
        prop::option::of(1usize..400),
        prop::bool::ANY,
    )
        .prop_map(|(bom, header, lines, rows, crlf)| {
            let mut text = String::new();
            text.push_str(bom.unwrap_or_default());
            if header {
                text.push_str("Feature: fuzzed\n");
            }
            for l in lines {
                text.push_str(&l);
                text.push('\n');
            }
            if let Some(rows) = rows {
                text.push_str("  Scenario Outline: o <name>\n    Given a free client \"<name>\"\n    Examples:\n      | name |\n");
                for i in 0..rows {
                    text.push_str(&format!("      | n{i} |\n"));
                }
            }
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            text
        })
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qalens-fuzz-features-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks `path` and asserts the properties every input must have.
fn check_one(path: &Path) -> Result<(), String> {
    let started = Instant::now();
    let report = qalens::lint::check(&[path.to_path_buf()]);
    let took = started.elapsed();
    if took > BUDGET {
        return Err(format!("{}: took {took:?}", path.display()));
    }
    let prefix = format!("{}:", path.display());
    for p in report.problems.iter().chain(&report.warnings) {
        let located = p.at.strip_prefix(&prefix).is_some_and(|rest| {
            rest.split(':')
                .next()
                .is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n >= 1))
        });
        if !located {
            return Err(format!("not located at FILE:LINE: {p}"));
        }
        if p.message.len() > 2_000 {
            return Err(format!("a message of {} bytes: {}", p.message.len(), p.at));
        }
    }
    Ok(())
}

#[test]
fn generated_gherkin_is_checked_without_panic_in_bounded_time_and_located() {
    let dir = scratch();
    let file = dir.join("case.feature");
    let config = Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let outcome = runner.run(&feature(), |text| {
        std::fs::write(&file, &text).unwrap();
        check_one(&file).map_err(|e| TestCaseError::fail(format!("{e}\n--- input ---\n{text}")))
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn random_bytes_are_checked_without_panic_and_located() {
    let dir = scratch();
    let file = dir.join("bytes.feature");
    let config = Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[9; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let bytes = prop::collection::vec(any::<u8>(), 0..2_000).prop_map(|mut b| {
        let mut text = b"Feature: bytes\n  Scenario: s\n    Given ".to_vec();
        text.append(&mut b);
        text
    });
    let outcome = runner.run(&bytes, |b| {
        std::fs::write(&file, &b).unwrap();
        check_one(&file).map_err(TestCaseError::fail)
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn found_inputs_are_checked_without_panic_and_located() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features-fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "feature") {
            seen += 1;
            if let Err(e) = check_one(&path) {
                panic!("{e}");
            }
        }
    }
    assert!(seen >= 5, "the fixtures are in {}", dir.display());
    // What some of them must yield: `(file, problem or warning text, is a warning)`.
    let expected = [
        ("bom.feature", None, false),
        ("l1.feature", Some(":2:16: is not UTF-8 text"), false),
        (
            "campaign-rule-then-steps.feature",
            Some("no Scenario or Background above it"),
            true,
        ),
        (
            "ragged-examples-row.feature",
            Some("this table row has 2 cell(s), its header 1"),
            true,
        ),
        ("lost.feature", Some("look-alike (non-Latin) letters"), true),
        (
            "campaign-misspelt-step-keyword.feature",
            Some(":59:5: cannot read `Tehn within"),
            false,
        ),
    ];
    for (file, text, warning) in expected {
        let path = dir.join(file);
        let report = qalens::lint::check(std::slice::from_ref(&path));
        let found = if warning {
            &report.warnings
        } else {
            &report.problems
        };
        match text {
            None => assert!(
                report.problems.is_empty() && report.warnings.is_empty(),
                "{file}: {report:#?}"
            ),
            Some(text) => assert!(
                found.iter().any(|p| p.to_string().contains(text)),
                "{file}: expected {text:?} in {report:#?}"
            ),
        }
    }
}
