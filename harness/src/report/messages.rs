//! Cucumber Messages (NDJSON, one JSON envelope a line), the interchange format of the
//! Cucumber ecosystem (the official HTML formatter, Allure...): `qalens run --messages
//! PATH`.
//!
//! [`render`] is a pure function of the run's record ([`ScenarioRecord`]s), the feature
//! files' text and the step definitions: `meta`; per feature file `source` and
//! `gherkinDocument` (the file parsed again, unexpanded, every node with an id); per
//! scenario that ran a `pickle` (an outline's example row is a pickle of its own);
//! `stepDefinition`s; `testRunStarted`; a `testCase` per pickle; then, in time order,
//! `testCaseStarted`, `testStepStarted`/`testStepFinished` per step, an `attachment` with
//! the component logs of a failed scenario, `testCaseFinished`; and `testRunFinished`.
//!
//! A step that never ran (an earlier one failed) is `SKIPPED`; one that matched no
//! definition is `UNDEFINED`. The run's after-hook (which heals faults) appears as a test
//! step only in a test case where it failed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cucumber::codegen::Regex;
use cucumber::gherkin::{self, GherkinEnv, StepType};
use serde_json::{Value, json};

use super::{ScenarioRecord, StepStatus};

/// The version of the message protocol written (the `@cucumber/messages` release whose
/// schema `ci/ensure-cucumber-messages` installs for the tests).
pub const PROTOCOL_VERSION: &str = "34.2.1";

/// What [`render`] needs besides the scenarios.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub started: SystemTime,
    pub finished: SystemTime,
    pub success: bool,
    /// Feature files that did not parse.
    pub parse_errors: Vec<String>,
}

/// A step definition: `Given`/`When`/`Then`, its regular expression, `file:line`.
#[derive(Debug, Clone)]
pub struct Definition {
    pub keyword: String,
    pub pattern: String,
    pub defined_at: String,
}

impl Definition {
    /// Every step definition qalens has.
    pub fn all() -> Vec<Self> {
        crate::catalog::registered()
            .into_iter()
            .map(|r| Self {
                keyword: r.keyword.to_string(),
                pattern: r.pattern,
                defined_at: r.defined_at,
            })
            .collect()
    }
}

/// The text of every feature file the scenarios came from, by path (files that cannot be
/// read are left out).
pub fn sources(scenarios: &[ScenarioRecord]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in scenarios {
        if !out.contains_key(&s.path)
            && let Ok(text) = std::fs::read_to_string(&s.path)
        {
            out.insert(s.path.clone(), text);
        }
    }
    out
}

/// The NDJSON: see the module docs. `sources` maps a record's `path` to the feature
/// file's text (a path missing there gets no `source` or `gherkinDocument`).
pub fn render(
    facts: &RunFacts,
    scenarios: &[ScenarioRecord],
    sources: &BTreeMap<String, String>,
    definitions: &[Definition],
) -> String {
    let mut ids = Ids::default();
    let mut out: Vec<Value> = vec![json!({"meta": {
        "protocolVersion": PROTOCOL_VERSION,
        "implementation": {"name": "qalens", "version": env!("CARGO_PKG_VERSION")},
        "runtime": {"name": "rust"},
        "os": {"name": std::env::consts::OS},
        "cpu": {"name": std::env::consts::ARCH},
    }})];

    let mut indexes: HashMap<&str, AstIndex> = HashMap::new();
    for (uri, text) in sources {
        out.push(json!({"source": {
            "uri": uri, "data": text, "mediaType": "text/x.cucumber.gherkin+plain"
        }}));
        match gherkin::Feature::parse(text, GherkinEnv::default()) {
            Ok(feature) => {
                let mut index = AstIndex::default();
                let doc = document(uri, text, &feature, &mut ids, &mut index);
                out.push(json!({ "gherkinDocument": doc }));
                indexes.insert(uri.as_str(), index);
            }
            Err(e) => out.push(json!({"parseError": {
                "source": {"uri": uri}, "message": e.to_string()
            }})),
        }
    }

    let defs: Vec<(String, Option<Regex>, &Definition)> = definitions
        .iter()
        .map(|d| (ids.next(), Regex::new(&d.pattern).ok(), d))
        .collect();

    let run_id = ids.next();
    let mut hooks: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut cases = Vec::new();
    let mut execution: Vec<(SystemTime, Value)> = Vec::new();
    for s in scenarios {
        let empty = AstIndex::default();
        let index = indexes.get(s.path.as_str()).unwrap_or(&empty);
        let pickle_id = ids.next();
        let pickle_ast = index.pickles.get(&s.line);
        let mut pickle_steps = Vec::new();
        let mut test_steps = Vec::new();
        let mut step_ids = Vec::new();
        for step in &s.steps {
            let pickle_step_id = ids.next();
            let mut ast = index
                .steps
                .get(&step.line)
                .cloned()
                .into_iter()
                .collect::<Vec<_>>();
            if let Some(row) = pickle_ast.and_then(|p| p.row.as_ref())
                && !step.background
            {
                ast.push(row.clone());
            }
            let mut ps = json!({
                "id": pickle_step_id, "text": step.text, "astNodeIds": ast,
                "type": pickle_type(step.ty),
            });
            if let Some(d) = &step.docstring {
                ps["argument"] = json!({"docString": {"content": docstring(d)}});
            } else if let Some(t) = &step.table {
                let rows: Vec<Value> = t
                    .iter()
                    .map(|r| json!({"cells": r.iter().map(|c| json!({"value": c})).collect::<Vec<_>>()}))
                    .collect();
                ps["argument"] = json!({"dataTable": {"rows": rows}});
            }
            pickle_steps.push(ps);
            let keyword = match step.ty {
                StepType::Given => "Given",
                StepType::When => "When",
                StepType::Then => "Then",
            };
            let matched: Vec<(&String, Value)> = defs
                .iter()
                .filter(|(_, _, d)| d.keyword == keyword)
                .filter_map(|(id, re, _)| Some((id, arguments(re.as_ref()?, &step.text)?)))
                .collect();
            let test_step_id = ids.next();
            test_steps.push(json!({
                "id": test_step_id,
                "pickleStepId": pickle_step_id,
                "stepDefinitionIds": matched.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "stepMatchArgumentsLists": matched.iter()
                    .map(|(_, args)| json!({"stepMatchArguments": args}))
                    .collect::<Vec<_>>(),
            }));
            step_ids.push(test_step_id);
        }
        let hook_step = s.hook_failure.as_ref().map(|failure| {
            let kind = if failure.starts_with("Before") {
                "BEFORE_TEST_CASE"
            } else {
                "AFTER_TEST_CASE"
            };
            let hook_id = hooks.entry(kind).or_insert_with(|| ids.next()).clone();
            let id = ids.next();
            test_steps.push(json!({"id": id, "hookId": hook_id}));
            (id, failure.clone())
        });
        let tags: Vec<Value> = match pickle_ast {
            Some(p) => p
                .tags
                .iter()
                .map(|(name, id)| json!({"name": name, "astNodeId": id}))
                .collect(),
            None => s
                .tags
                .iter()
                .map(|t| json!({"name": t, "astNodeId": pickle_id}))
                .collect(),
        };
        out.push(json!({"pickle": {
            "id": pickle_id,
            "uri": s.path,
            "location": {"line": s.line.max(1)},
            "name": s.name,
            "language": "en",
            "steps": pickle_steps,
            "tags": tags,
            "astNodeIds": pickle_ast.map(|p| p.ast.clone()).unwrap_or_default(),
        }}));
        let case_id = ids.next();
        cases.push(json!({"testCase": {
            "id": case_id, "pickleId": pickle_id, "testSteps": test_steps,
            "testRunStartedId": run_id,
        }}));
        execution.extend(executed(s, &case_id, &step_ids, hook_step, &mut ids));
    }

    for (id, _, d) in &defs {
        let (uri, line) = d
            .defined_at
            .rsplit_once(':')
            .map(|(u, l)| (u, l.parse::<u32>().unwrap_or(1)))
            .unwrap_or((d.defined_at.as_str(), 1));
        out.push(json!({"stepDefinition": {
            "id": id,
            "pattern": {"source": d.pattern, "type": "REGULAR_EXPRESSION"},
            "sourceReference": {"uri": uri, "location": {"line": line.max(1)}},
        }}));
    }
    for (kind, id) in &hooks {
        out.push(json!({"hook": {
            "id": id, "type": kind,
            "name": "heal every fault the scenario applied",
            "sourceReference": {"uri": "harness/src/runner.rs"},
        }}));
    }
    out.push(json!({"testRunStarted": {"id": run_id, "timestamp": timestamp(facts.started)}}));
    out.extend(cases);
    // Stable: the messages of one test case keep their order when times tie.
    execution.sort_by_key(|(at, _)| *at);
    out.extend(execution.into_iter().map(|(_, v)| v));
    let mut finished = json!({"testRunFinished": {
        "testRunStartedId": run_id,
        "success": facts.success,
        "timestamp": timestamp(facts.finished.max(facts.started)),
    }});
    if !facts.parse_errors.is_empty() {
        finished["testRunFinished"]["message"] = json!(facts.parse_errors.join("\n"));
    }
    out.push(finished);

    let mut text = String::new();
    for v in out {
        text.push_str(&v.to_string());
        text.push('\n');
    }
    text
}

/// The execution messages of one test case, each with its time.
fn executed(
    s: &ScenarioRecord,
    case_id: &str,
    step_ids: &[String],
    hook_step: Option<(String, String)>,
    ids: &mut Ids,
) -> Vec<(SystemTime, Value)> {
    let started_id = ids.next();
    let mut out = vec![(
        s.started,
        json!({"testCaseStarted": {
            "id": started_id, "testCaseId": case_id, "attempt": 0,
            "timestamp": timestamp(s.started),
        }}),
    )];
    // A step that never ran is placed where the last one ended.
    let mut now = s.started;
    let failed_step = s
        .steps
        .iter()
        .position(|st| matches!(st.status, StepStatus::Failed | StepStatus::Undefined));
    for (i, (step, id)) in s.steps.iter().zip(step_ids).enumerate() {
        let began = step.started.unwrap_or(now).max(now);
        let ended = began + step.duration;
        now = ended;
        let (status, message) = match step.status {
            StepStatus::Passed => ("PASSED", None),
            StepStatus::Failed => ("FAILED", step.error.clone()),
            StepStatus::Undefined => ("UNDEFINED", step.error.clone()),
            StepStatus::NotRun => ("SKIPPED", None),
        };
        let mut result = json!({"status": status, "duration": duration(step.duration)});
        if let Some(m) = message {
            result["message"] = json!(m);
            if step.status == StepStatus::Failed {
                result["exception"] = json!({"type": "qalens step failure", "message": m});
            }
        }
        out.push((
            began,
            json!({"testStepStarted": {
                "testCaseStartedId": started_id, "testStepId": id,
                "timestamp": timestamp(began),
            }}),
        ));
        if failed_step == Some(i)
            && let Some(logs) = &s.logs
        {
            out.push((ended, attachment(logs, &started_id, id, ended)));
        }
        out.push((
            ended,
            json!({"testStepFinished": {
                "testCaseStartedId": started_id, "testStepId": id,
                "testStepResult": result, "timestamp": timestamp(ended),
            }}),
        ));
    }
    let end = s.finished.max(now);
    if let Some((id, failure)) = hook_step {
        out.push((
            end,
            json!({"testStepStarted": {
                "testCaseStartedId": started_id, "testStepId": id, "timestamp": timestamp(end),
            }}),
        ));
        if failed_step.is_none()
            && let Some(logs) = &s.logs
        {
            out.push((end, attachment(logs, &started_id, &id, end)));
        }
        out.push((
            end,
            json!({"testStepFinished": {
                "testCaseStartedId": started_id, "testStepId": id,
                "testStepResult": {
                    "status": "FAILED", "duration": duration(Duration::ZERO), "message": failure,
                    "exception": {"type": "qalens hook failure", "message": failure},
                },
                "timestamp": timestamp(end),
            }}),
        ));
    }
    out.push((
        end,
        json!({"testCaseFinished": {
            "testCaseStartedId": started_id, "timestamp": timestamp(end), "willBeRetried": false,
        }}),
    ));
    out
}

fn attachment(logs: &str, started_id: &str, step_id: &str, at: SystemTime) -> Value {
    json!({"attachment": {
        "body": logs, "contentEncoding": "IDENTITY", "mediaType": "text/plain",
        "fileName": "component-logs.txt",
        "testCaseStartedId": started_id, "testStepId": step_id, "timestamp": timestamp(at),
    }})
}

/// The arguments a definition's expression captures from `text`, if it matches.
fn arguments(re: &Regex, text: &str) -> Option<Value> {
    let caps = re.captures(text)?;
    let args: Vec<Value> = caps
        .iter()
        .skip(1)
        .map(|g| match g {
            Some(m) => json!({"group": {"start": m.start(), "value": m.as_str(), "children": []}}),
            None => json!({"group": {"children": []}}),
        })
        .collect();
    Some(Value::Array(args))
}

/// A doc string's content without the line breaks the parser keeps after the opening
/// and before the closing delimiter.
fn docstring(text: &str) -> &str {
    let text = text.strip_prefix('\n').unwrap_or(text);
    text.strip_suffix('\n').unwrap_or(text)
}

fn pickle_type(ty: StepType) -> &'static str {
    match ty {
        StepType::Given => "Context",
        StepType::When => "Action",
        StepType::Then => "Outcome",
    }
}

fn timestamp(at: SystemTime) -> Value {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    json!({"seconds": d.as_secs(), "nanos": d.subsec_nanos()})
}

fn duration(d: Duration) -> Value {
    json!({"seconds": d.as_secs(), "nanos": d.subsec_nanos()})
}

/// Message ids: unique within one file.
#[derive(Default)]
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> String {
        self.0 += 1;
        self.0.to_string()
    }
}

/// What a pickle needs of the document: the ids of its AST nodes.
#[derive(Default)]
struct AstIndex {
    /// A step's id by its line.
    steps: HashMap<usize, String>,
    /// By the line of the scenario, or of the example row for an outline.
    pickles: HashMap<usize, PickleAst>,
}

struct PickleAst {
    /// The scenario's id, and the example row's for an outline.
    ast: Vec<String>,
    row: Option<String>,
    /// Tags that apply (feature's, rule's, scenario's, examples'), with their ids.
    tags: Vec<(String, String)>,
}

mod document;
use document::document;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::StepRecord;

    const FEATURE: &str = "@fixture
Feature: Orders

  @serial @orders
  Scenario Outline: An order of <n>
    Given a free client \"alice\"
    When the client places an order for <n> of \"SKU-1\"
    Then the response status is 201

    @small
    Examples:
      | n |
      | 1 |
      | 2 |
";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn step(kw: &str, ty: StepType, text: &str, line: usize, status: StepStatus) -> StepRecord {
        StepRecord {
            keyword: kw.into(),
            ty,
            text: text.into(),
            line,
            docstring: None,
            table: None,
            background: false,
            status,
            started: (status != StepStatus::NotRun).then(|| at(line as u64)),
            duration: Duration::from_millis(500),
            error: (status == StepStatus::Failed).then(|| "expected 201, saw 500".into()),
        }
    }

    /// The second example row, failing at its second step.
    fn record() -> ScenarioRecord {
        ScenarioRecord {
            feature: "Orders".into(),
            name: "An order of 2".into(),
            path: "features/o.feature".into(),
            line: 14,
            location: "features/o.feature:14".into(),
            lens: "orders".into(),
            tags: vec!["@serial".into()],
            started: at(5),
            finished: at(9),
            steps: vec![
                step(
                    "Given ",
                    StepType::Given,
                    "a free client \"alice\"",
                    6,
                    StepStatus::Passed,
                ),
                step(
                    "When ",
                    StepType::When,
                    "the client places an order for 2 of \"SKU-1\"",
                    7,
                    StepStatus::Failed,
                ),
                step(
                    "Then ",
                    StepType::Then,
                    "the response status is 201",
                    8,
                    StepStatus::NotRun,
                ),
            ],
            hook_failure: None,
            logs: Some("== logs of orders\nboom\n".into()),
        }
    }

    fn messages() -> Vec<Value> {
        let facts = RunFacts {
            started: at(0),
            finished: at(10),
            success: false,
            parse_errors: vec![],
        };
        let sources = BTreeMap::from([("features/o.feature".to_string(), FEATURE.to_string())]);
        let defs = [
            Definition {
                keyword: "Given".into(),
                pattern: r#"^a (free|paid) client "([^"]*)"$"#.into(),
                defined_at: "harness/src/steps/identity.rs:12".into(),
            },
            Definition {
                keyword: "Then".into(),
                pattern: r"^the response status is (\d+)$".into(),
                defined_at: "harness/src/steps/http.rs:40".into(),
            },
        ];
        render(&facts, &[record()], &sources, &defs)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn one<'a>(ms: &'a [Value], kind: &str) -> &'a Value {
        let found: Vec<_> = ms.iter().filter_map(|m| m.get(kind)).collect();
        assert_eq!(found.len(), 1, "{kind}: {found:?}");
        found[0]
    }

    #[test]
    fn an_outline_row_is_a_pickle_pointing_at_its_row_and_steps() {
        let ms = messages();
        let doc = one(&ms, "gherkinDocument");
        let feature = &doc["feature"];
        assert_eq!(feature["tags"][0]["name"], "@fixture");
        assert_eq!(
            feature["tags"][0]["location"],
            json!({"line": 1, "column": 1})
        );
        let scenario = &feature["children"][0]["scenario"];
        assert_eq!(scenario["tags"][1]["name"], "@orders");
        assert_eq!(
            scenario["tags"][1]["location"],
            json!({"line": 4, "column": 11})
        );
        let examples = &scenario["examples"][0];
        assert_eq!(
            examples["tableHeader"]["location"],
            json!({"line": 12, "column": 7})
        );
        let row = &examples["tableBody"][1];
        assert_eq!(row["location"]["line"], 14);
        assert_eq!(
            row["cells"][0],
            json!({"location": {"line": 14, "column": 9}, "value": "2"})
        );

        let pickle = one(&ms, "pickle");
        assert_eq!(pickle["astNodeIds"], json!([scenario["id"], row["id"]]));
        assert_eq!(pickle["location"]["line"], 14);
        let tags: Vec<&str> = pickle["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["@fixture", "@serial", "@orders", "@small"]);
        assert_eq!(
            pickle["steps"][1]["astNodeIds"],
            json!([scenario["steps"][1]["id"], row["id"]])
        );
        assert_eq!(
            pickle["steps"][1]["text"],
            "the client places an order for 2 of \"SKU-1\""
        );
    }

    #[test]
    fn a_failure_is_failed_then_skipped_with_the_logs_attached_to_the_failed_step() {
        let ms = messages();
        let case = one(&ms, "testCase");
        let steps = case["testSteps"].as_array().unwrap();
        // Given matched its definition (with its arguments); When matched none here.
        assert_eq!(steps[0]["stepDefinitionIds"].as_array().unwrap().len(), 1);
        assert_eq!(
            steps[0]["stepMatchArgumentsLists"][0]["stepMatchArguments"][1]["group"]["value"],
            "alice"
        );
        assert!(steps[1]["stepDefinitionIds"].as_array().unwrap().is_empty());
        let statuses: Vec<&str> = ms
            .iter()
            .filter_map(|m| m.get("testStepFinished"))
            .map(|f| f["testStepResult"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["PASSED", "FAILED", "SKIPPED"]);
        let attachment = one(&ms, "attachment");
        assert_eq!(attachment["testStepId"], steps[1]["id"]);
        assert_eq!(attachment["body"], "== logs of orders\nboom\n");
        assert!(ms[0].get("meta").is_some(), "meta first");
        let last = ms.last().unwrap();
        assert_eq!(last["testRunFinished"]["success"], false);
        let started = one(&ms, "testCaseStarted");
        assert_eq!(
            started["timestamp"],
            json!({"seconds": 1_000_005, "nanos": 0})
        );
    }
}
