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
//! A step definition is described as it was written (a Cucumber Expression or a regular
//! expression), with one argument per parameter, as cucumber-js writes them, so that the
//! official HTML formatter shows each step as its text (`messages/arguments.rs`).
//!
//! A step that never ran (an earlier one failed) is `SKIPPED`; one that matched no
//! definition is `UNDEFINED`. The run's after-hook (which heals faults) appears as a test
//! step only in a test case where it failed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cucumber::gherkin::{self, GherkinEnv, StepType};
use serde_json::{Value, json};

use super::{ScenarioRecord, StepStatus, Verdict};

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
        qalens_steps::catalog::registered()
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

    let defs: Vec<(String, Option<Matcher>, &Definition)> = definitions
        .iter()
        .map(|d| (ids.next(), Matcher::new(&d.pattern), d))
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
                .filter_map(|(id, m, _)| Some((id, m.as_ref()?.arguments(&step.text)?)))
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

    for (id, matcher, d) in &defs {
        let (uri, line) = d
            .defined_at
            .rsplit_once(':')
            .map(|(u, l)| (u, l.parse::<u32>().unwrap_or(1)))
            .unwrap_or((d.defined_at.as_str(), 1));
        out.push(json!({"stepDefinition": {
            "id": id,
            "pattern": matcher.as_ref().map_or_else(
                || json!({"source": d.pattern, "type": "REGULAR_EXPRESSION"}),
                Matcher::pattern,
            ),
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
        .position(|st| st.status.stopped_the_scenario());
    for (i, (step, id)) in s.steps.iter().zip(step_ids).enumerate() {
        let began = step.started.unwrap_or(now).max(now);
        let ended = began + step.duration;
        now = ended;
        let (status, message) = match step.status {
            StepStatus::Passed => ("PASSED", None),
            StepStatus::Failed => ("FAILED", step.error.clone()),
            StepStatus::Undefined => ("UNDEFINED", step.error.clone()),
            StepStatus::NotRun => ("SKIPPED", None),
            // Messages have no "cancelled": skipped, with why.
            StepStatus::Cancelled => ("SKIPPED", step.error.clone()),
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
                "testStepResult": hook_result(&failure),
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

/// A failed hook's result: skipped when the failure is the early stop's (see
/// [`Verdict::of_failure`]), else failed.
fn hook_result(failure: &str) -> Value {
    match Verdict::of_failure(failure) {
        Verdict::Cancelled => json!({
            "status": "SKIPPED", "duration": duration(Duration::ZERO), "message": failure,
        }),
        _ => json!({
            "status": "FAILED", "duration": duration(Duration::ZERO), "message": failure,
            "exception": {"type": "qalens hook failure", "message": failure},
        }),
    }
}

fn attachment(logs: &str, started_id: &str, step_id: &str, at: SystemTime) -> Value {
    json!({"attachment": {
        "body": logs, "contentEncoding": "IDENTITY", "mediaType": "text/plain",
        "fileName": "component-logs.txt",
        "testCaseStartedId": started_id, "testStepId": step_id, "timestamp": timestamp(at),
    }})
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

mod arguments;
mod document;
use arguments::Matcher;
use document::document;

#[cfg(test)]
mod tests;
