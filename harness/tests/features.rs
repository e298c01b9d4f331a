//! Runs every feature file against the reference system, as `qalens run features` does,
//! so that `cargo test --workspace` exercises the same scenarios as CI.
//!
//! The scenarios run in a shuffled order, a new one each time (the seed is printed), so
//! every `cargo test` also checks that no scenario depends on another having run before
//! it. `QALENS_SHUFFLE=SEED` repeats an order, `QALENS_SHUFFLE=off` keeps file order.
//! `QALENS_TAGS` narrows the run with a tag expression; `QALENS_ATTACH=RUN_ID` runs against a
//! topology `qalens up --detach` left running instead of starting one.
//!
//! The run also writes its Cucumber Messages (`target/qalens/features.ndjson`), and every
//! line must be valid against the published schema with no id pointing at nothing
//! (`ci/ensure-cucumber-messages` fetches the schema). Then the official Cucumber HTML
//! formatter renders them (`target/qalens/features-messages.html`) and headless Chromium
//! must show every scenario, each step with its own text (`common/formatter.rs`;
//! `ci/ensure-report-readers` and `ci/ensure-chromium` install what it needs). Its JUnit
//! XML (`target/qalens/features.junit.xml`) must be valid against the JUnit schema
//! Jenkins reads, with consistent counts and times (`common/junit.rs`).
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

#[path = "common/formatter.rs"]
mod formatter;
#[path = "common/junit.rs"]
mod junit;
#[path = "common/messages.rs"]
mod messages;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let features = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features");
    let ndjson = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qalens/features.ndjson");
    let junit_xml = ndjson.with_extension("junit.xml");
    // A run that stops early must not leave an earlier run's reports to be checked.
    let _ = std::fs::remove_file(&ndjson);
    let _ = std::fs::remove_file(&junit_xml);
    // Before the run: a missing schema or reader fails at once, with the advice.
    let schema = messages::schema();
    let junit_schema = junit::schema(&formatter::readers());
    let options = qalens::RunOptions {
        tags: std::env::var("QALENS_TAGS").ok().filter(|t| !t.is_empty()),
        junit: Some(junit_xml.clone()),
        messages: Some(ndjson.clone()),
        shuffle: match std::env::var("QALENS_SHUFFLE").ok().as_deref() {
            Some("off") => None,
            Some(seed) if !seed.is_empty() => Some(Some(
                seed.parse()
                    .expect("QALENS_SHUFFLE is `off` or a seed (an unsigned integer)"),
            )),
            _ => Some(None),
        },
        timings: true,
        ..qalens::RunOptions::new(vec![features])
    };
    let command = qalens::cli::Command::Run {
        options,
        // `qalens up --detach` then `QALENS_ATTACH=<run id> cargo test --test features`
        // runs the scenarios against that topology instead of starting one.
        attach: std::env::var("QALENS_ATTACH")
            .ok()
            .filter(|a| !a.is_empty()),
        // The built-in reference system; `QALENS_SYSTEM=FILE` names another system file.
        system: qalens::cli::SystemArg {
            file: std::env::var_os("QALENS_SYSTEM")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let exit = runtime.block_on(qalens::commands::dispatch(command));
    drop(runtime);
    if exit == qalens::Exit::Passed {
        println!("qalens features: all scenarios passed");
    }
    let text = std::fs::read_to_string(&ndjson)
        .unwrap_or_else(|e| panic!("the run wrote no {}: {e}", ndjson.display()));
    let mut problems = messages::invalid_lines(&schema, &text);
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    problems.extend(messages::dangling_references(&parsed));
    let mut problems: Vec<String> = problems
        .into_iter()
        .map(|p| format!("{}: {p}", ndjson.display()))
        .collect();
    if problems.is_empty() {
        println!(
            "qalens features: {} Cucumber Messages, every one valid against the schema",
            parsed.len()
        );
        let target = ndjson.parent().expect("target/qalens");
        let shown = formatter::render(
            &ndjson,
            &target.join("features-messages.html"),
            &target.join("features-messages-chromium"),
        );
        let seen = formatter::compare(&parsed, &shown);
        println!(
            "qalens features: the Cucumber HTML formatter shows {} of {} scenarios and {} of {} \
             steps as their text",
            seen.scenarios_shown, seen.scenarios, seen.steps_intact, seen.steps
        );
        problems = seen.problems;
    }
    let junit_problems = junit::problems(&junit_schema, &junit_xml);
    if junit_problems.is_empty() {
        println!(
            "qalens features: the JUnit XML is valid against the Jenkins schema, its counts \
             and times consistent"
        );
    }
    problems.extend(junit_problems);
    if problems.is_empty() {
        ExitCode::from(exit)
    } else {
        for p in problems.iter().take(20) {
            eprintln!("qalens features: {p}");
        }
        eprintln!(
            "qalens features: {} problem(s) in the Cucumber Messages, how they render, or the \
             JUnit XML",
            problems.len()
        );
        ExitCode::from(1)
    }
}
