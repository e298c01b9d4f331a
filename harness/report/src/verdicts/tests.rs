//! One run's events (a scenario that passes, one whose step fails, one cancelled while
//! it waited on a condition, one cancelled before it started) fed to every report writer
//! the runner uses; each report must give each scenario the verdict its record gives.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cucumber::codegen::Regex;
use cucumber::event::{HookType, Source, StepError};
use cucumber::gherkin::{self, GherkinEnv};
use cucumber::writer::{self, Ext as _};
use serde_json::Value;

use super::*;
use crate::progress::Summary;
use crate::{Recorder, html, messages};
use qalens_steps::world::QaWorld;

const PATH: &str = "features/verdicts.feature";

const FEATURE: &str = "Feature: Verdicts

  Scenario: passes
    Given a step

  Scenario: fails
    Given a step

  Scenario: cancelled while waiting
    Given a step

  Scenario: cancelled before it started
    Given a step
";

/// A report being written, readable once the writer is done.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// How each scenario ends.
enum Ends {
    Passing,
    Failing(String),
    CancelledInStep,
    CancelledInHook,
}

fn info(text: String) -> event::Info {
    Arc::new(text)
}

/// The events of the run, in order.
fn events() -> Vec<Cucumber<QaWorld>> {
    let mut feature = gherkin::Feature::parse(FEATURE, GherkinEnv::default()).unwrap();
    feature.path = Some(PathBuf::from(PATH));
    let f = Source::new(feature);
    let ends = [
        Ends::Passing,
        Ends::Failing("expected 201, saw 500".into()),
        Ends::CancelledInStep,
        Ends::CancelledInHook,
    ];
    let cancelled = format!("{} (last seen: PENDING)", qalens_engine::stop::CANCELLED);
    let definition = Regex::new("a step").unwrap();
    let mut out = vec![Cucumber::Started, Cucumber::feature_started(f.clone())];
    for (sc, end) in f.scenarios.iter().zip(ends) {
        let sc = Source::new(sc.clone());
        let step = Source::new(sc.steps[0].clone());
        let mut evs = vec![Scenario::Started, Scenario::hook_started(HookType::Before)];
        if let Ends::CancelledInHook = end {
            evs.push(Scenario::hook_failed(
                HookType::Before,
                None,
                info(qalens_engine::stop::CANCELLED.to_string()),
            ));
        } else {
            evs.push(Scenario::hook_passed(HookType::Before));
            evs.push(Scenario::step_started(step.clone()));
            let captures = definition.capture_locations();
            evs.push(match end {
                Ends::Passing => Scenario::step_passed(step, captures, None),
                Ends::Failing(why) => {
                    Scenario::step_failed(step, None, None, None, StepError::Panic(info(why)))
                }
                _ => Scenario::step_failed(
                    step,
                    None,
                    None,
                    None,
                    StepError::Panic(info(cancelled.clone())),
                ),
            });
        }
        evs.push(Scenario::hook_started(HookType::After));
        evs.push(Scenario::hook_passed(HookType::After));
        evs.push(Scenario::Finished);
        for ev in evs {
            out.push(Cucumber::scenario(
                f.clone(),
                None::<Source<gherkin::Rule>>,
                sc.clone(),
                ev.with_retries(None),
            ));
        }
    }
    out.push(Cucumber::feature_finished(f));
    out.push(Cucumber::Finished);
    out
}

/// What the run's record says, and what JUnit and Cucumber JSON wrote behind
/// [`CancelledAsSkipped`].
async fn run() -> (Summary, String, String) {
    let summary = Arc::new(Mutex::new(Summary::default()));
    let mut recorder = Recorder::new(summary.clone());
    let (junit, json) = (Buffer::default(), Buffer::default());
    let mut cucumbers = CancelledAsSkipped::new(
        writer::JUnit::for_tee(junit.clone(), 0)
            .tee::<QaWorld, _>(writer::Json::for_tee(json.clone())),
    );
    for ev in events() {
        recorder
            .handle_event(Ok(Event::new(ev.clone())), &Default::default())
            .await;
        cucumbers
            .handle_event(Ok(Event::new(ev)), &Default::default())
            .await;
    }
    let summary = summary.lock().unwrap().clone();
    (summary, junit.text(), json.text())
}

/// The verdict JUnit gives the test case named after `scenario`.
fn junit_verdict(xml: &str, scenario: &str) -> &'static str {
    let case = xml
        .split("<testcase")
        .skip(1)
        .find(|c| c.contains(&format!("Scenario: {scenario}:")))
        .unwrap_or_else(|| panic!("no test case for {scenario:?} in\n{xml}"));
    let case = case.split("</testcase>").next().unwrap();
    if case.contains("<failure") {
        "failed"
    } else if case.contains("<skipped") {
        "skipped"
    } else {
        "passed"
    }
}

/// Failed beats skipped beats passed, as Cucumber's formatters read a scenario's steps.
fn worst<'a>(statuses: impl IntoIterator<Item = &'a str>) -> &'static str {
    let statuses: Vec<String> = statuses.into_iter().map(str::to_lowercase).collect();
    if statuses.iter().any(|s| s == "failed" || s == "undefined") {
        "failed"
    } else if statuses.iter().any(|s| s == "skipped") {
        "skipped"
    } else {
        "passed"
    }
}

/// The verdict Cucumber JSON gives the element named `scenario`: its hooks' and steps'.
fn json_verdict(json: &Value, scenario: &str) -> &'static str {
    let el = json[0]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == scenario)
        .unwrap_or_else(|| panic!("no element {scenario:?} in {json}"));
    let results = ["before", "steps", "after"]
        .into_iter()
        .flat_map(|k| el[k].as_array().cloned().unwrap_or_default());
    let statuses: Vec<String> = results
        .map(|r| r["result"]["status"].as_str().unwrap().to_string())
        .collect();
    worst(statuses.iter().map(String::as_str))
}

/// The verdict each Cucumber Messages test case gets from its steps' results, by name.
fn messages_verdicts(ndjson: &str) -> BTreeMap<String, &'static str> {
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |kind: &'static str| lines.iter().filter_map(move |l| l.get(kind));
    let pickles: BTreeMap<&str, &str> = find("pickle")
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let cases: BTreeMap<&str, &str> = find("testCase")
        .map(|c| (c["id"].as_str().unwrap(), c["pickleId"].as_str().unwrap()))
        .collect();
    let started: BTreeMap<&str, &str> = find("testCaseStarted")
        .map(|s| (s["id"].as_str().unwrap(), s["testCaseId"].as_str().unwrap()))
        .collect();
    let mut statuses: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for f in find("testStepFinished") {
        let case = started[f["testCaseStartedId"].as_str().unwrap()];
        let name = pickles[cases[case]];
        statuses
            .entry(name.to_string())
            .or_default()
            .push(f["testStepResult"]["status"].as_str().unwrap());
    }
    statuses
        .into_iter()
        .map(|(name, s)| (name, worst(s)))
        .collect()
}

#[tokio::test]
async fn every_report_gives_each_scenario_its_records_verdict() {
    let (summary, junit, json) = run().await;
    let json: Value = serde_json::from_str(&json).unwrap();
    let records: BTreeMap<&str, Verdict> = summary
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.verdict()))
        .collect();
    assert_eq!(
        records,
        BTreeMap::from([
            ("passes", Verdict::Passed),
            ("fails", Verdict::Failed),
            ("cancelled while waiting", Verdict::Cancelled),
            ("cancelled before it started", Verdict::Cancelled),
        ])
    );
    assert_eq!(
        (summary.passed(), summary.failed(), summary.cancelled()),
        (1, 1, 2)
    );

    let page = html::render(
        &html::RunInfo {
            run_id: "r".into(),
            seed: None,
            shard: None,
            tags: None,
            defects: vec![],
            parse_errors: vec![],
            components: Default::default(),
        },
        &summary.scenarios,
        &[],
    );
    let ndjson = messages::render(
        &messages::RunFacts {
            started: SystemTime::UNIX_EPOCH,
            finished: SystemTime::now(),
            success: summary.success(),
            parse_errors: vec![],
        },
        &summary.scenarios,
        &BTreeMap::from([(PATH.to_string(), FEATURE.to_string())]),
        &[],
    );
    let in_messages = messages_verdicts(&ndjson);

    for s in &summary.scenarios {
        let verdict = s.verdict();
        // JUnit, Cucumber JSON and Cucumber Messages have no "cancelled": skipped.
        let cucumbers = match verdict {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Cancelled => "skipped",
        };
        let name = s.name.as_str();
        assert_eq!(junit_verdict(&junit, name), cucumbers, "JUnit, {name}");
        assert_eq!(
            json_verdict(&json, name),
            cucumbers,
            "Cucumber JSON, {name}"
        );
        assert_eq!(in_messages[name], cucumbers, "Cucumber Messages, {name}");
        let section = format!(
            "<section class=\"scenario s-{}\" id=\"{}\"",
            verdict.as_str(),
            html::anchor(&s.location)
        );
        assert!(page.contains(&section), "HTML, {name}: no {section}");
        let heading = format!(
            "<span class=\"{}\">{}</span> Verdicts › {name}<",
            verdict.as_str(),
            crate::progress::mark(verdict)
        );
        assert!(page.contains(&heading), "HTML, {name}: no {heading}");
    }
    // The failure's message survives in each report.
    assert!(junit.contains("expected 201, saw 500"));
    assert!(ndjson.contains("expected 201, saw 500"));
}

#[test]
fn a_failure_is_a_cancellation_only_when_it_is_the_early_stops() {
    let stop = qalens_engine::stop::CANCELLED;
    assert_eq!(Verdict::of_failure(stop), Verdict::Cancelled);
    assert_eq!(
        Verdict::of_failure(&format!("Before hook failed: {stop}")),
        Verdict::Cancelled
    );
    assert_eq!(
        Verdict::of_failure("expected 201, saw 500"),
        Verdict::Failed
    );
}
