//! [`Recorder`]: the one cucumber writer that keeps the record of a run. Each event is
//! recorded once, into a [`ScenarioRecord`] per scenario; the console line, the
//! [`Summary`] (exit code, self-test), the HTML page and the Cucumber Messages all read
//! those records, and every one of them takes a scenario's verdict from
//! [`ScenarioRecord::verdict`]. (JUnit and Cucumber JSON are cucumber's own writers, fed
//! the same events beside it, through [`super::verdicts::CancelledAsSkipped`].)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cucumber::event::{self, Cucumber, Feature, Hook, Rule, Scenario, Step};
use cucumber::{Event, World, Writer, cli, gherkin, parser, writer};

use crate::progress::{self, Summary};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Passed,
    Failed,
    /// It matched no step definition.
    Undefined,
    /// An earlier step failed, so it never ran.
    NotRun,
    /// It was waiting when another scenario of a fail-fast run failed, and stopped
    /// ([`qalens_engine::stop`]): neither passed nor failed.
    Cancelled,
}

impl StepStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Undefined => "undefined",
            Self::NotRun => "not run",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the scenario's later steps did not run because of how this one ended.
    pub(crate) fn stopped_the_scenario(self) -> bool {
        matches!(self, Self::Failed | Self::Undefined | Self::Cancelled)
    }

    /// How a step that failed with `error` ended (see [`Verdict::of_failure`]).
    pub fn of_failure(error: &str) -> Self {
        match Verdict::of_failure(error) {
            Verdict::Cancelled => Self::Cancelled,
            _ => Self::Failed,
        }
    }
}

/// What every report says of a scenario ([`ScenarioRecord::verdict`]): the console line
/// and summary, the HTML page, the Cucumber Messages, the self-test, and (through
/// [`super::verdicts::CancelledAsSkipped`]) JUnit and Cucumber JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Passed,
    Failed,
    /// Stopped before its verdict because another scenario of a fail-fast run failed
    /// ([`qalens_engine::stop`]): neither passed nor failed. JUnit, Cucumber JSON and Cucumber
    /// Messages, which have no such word, call it skipped.
    Cancelled,
}

/// How many of `scenarios` have this verdict.
pub(crate) fn count(scenarios: &[ScenarioRecord], verdict: Verdict) -> usize {
    scenarios.iter().filter(|s| s.verdict() == verdict).count()
}

/// `(passed, failed, total time)` of `scenarios` grouped by `key`, sorted by key (a
/// cancelled scenario adds its time only).
pub(crate) fn tally(
    scenarios: &[ScenarioRecord],
    key: impl Fn(&ScenarioRecord) -> String,
) -> std::collections::BTreeMap<String, (usize, usize, Duration)> {
    let mut rows: std::collections::BTreeMap<String, (usize, usize, Duration)> = Default::default();
    for s in scenarios {
        let e = rows.entry(key(s)).or_default();
        match s.verdict() {
            Verdict::Passed => e.0 += 1,
            Verdict::Failed => e.1 += 1,
            Verdict::Cancelled => {}
        }
        e.2 += s.duration();
    }
    rows
}

impl Verdict {
    /// What a step error or hook failure saying `message` makes of its scenario: the
    /// early stop's ([`qalens_engine::stop::CANCELLED`]) cancels it, anything else fails it.
    pub fn of_failure(message: &str) -> Self {
        if qalens_engine::stop::is_cancellation(message) {
            Self::Cancelled
        } else {
            Self::Failed
        }
    }

    /// `passed`, `failed` or `cancelled`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// `Given `, `When `, ... as written.
    pub keyword: String,
    /// Given, When or Then (`And` and `But` resolved), which decides the definitions it
    /// may match.
    pub ty: gherkin::StepType,
    /// The text after the keyword (a scenario outline's placeholders filled in).
    pub text: String,
    /// Its line in the feature file.
    pub line: usize,
    /// Its doc string and data table, if any.
    pub docstring: Option<String>,
    pub table: Option<Vec<Vec<String>>>,
    /// A step of the feature's (or rule's) background.
    pub background: bool,
    pub status: StepStatus,
    /// When it started (`None` if it never ran).
    pub started: Option<SystemTime>,
    pub duration: Duration,
    /// What was expected and what was seen, for a failed step.
    pub error: Option<String>,
}

impl StepRecord {
    /// A step that has not run (yet).
    pub(crate) fn not_run(step: &gherkin::Step, background: bool) -> Self {
        Self {
            keyword: step.keyword.clone(),
            ty: step.ty,
            text: step.value.clone(),
            line: step.position.line,
            docstring: step.docstring.clone(),
            table: step.table.as_ref().map(|t| t.rows.clone()),
            background,
            status: StepStatus::NotRun,
            started: None,
            duration: Duration::ZERO,
            error: None,
        }
    }
}

/// One scenario as it ran.
#[derive(Debug, Clone)]
pub struct ScenarioRecord {
    pub feature: String,
    pub name: String,
    /// The feature file, as given to the run.
    pub path: String,
    /// The line of the scenario (of its example row, for a scenario outline).
    pub line: usize,
    /// `path:line`.
    pub location: String,
    pub lens: String,
    /// Its tags, its rule's and its feature's, with their `@`.
    pub tags: Vec<String>,
    pub started: SystemTime,
    pub finished: SystemTime,
    /// Every step: the backgrounds' and then its own, in order.
    pub steps: Vec<StepRecord>,
    /// A failed before/after hook.
    pub hook_failure: Option<String>,
    /// The component logs attached when it failed ([`crate::attach`]).
    pub logs: Option<String>,
}

impl ScenarioRecord {
    /// Its verdict, the one every report gives: failed when a step failed or matched no
    /// definition or a hook failed other than by the early stop (a cancelled scenario
    /// whose faults could not be healed failed); else cancelled when a step or the before
    /// hook was cancelled; else passed when every step passed (failed when not every step
    /// ran and nothing says why).
    pub fn verdict(&self) -> Verdict {
        let hook = self.hook_failure.as_deref().map(Verdict::of_failure);
        let step = |status: StepStatus| self.steps.iter().any(|s| s.status == status);
        if hook == Some(Verdict::Failed) || step(StepStatus::Failed) || step(StepStatus::Undefined)
        {
            Verdict::Failed
        } else if hook == Some(Verdict::Cancelled) || step(StepStatus::Cancelled) {
            Verdict::Cancelled
        } else if self.steps.iter().all(|s| s.status == StepStatus::Passed) {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }

    pub fn duration(&self) -> Duration {
        self.finished
            .duration_since(self.started)
            .unwrap_or_default()
    }

    /// Why it did not pass, for the console: the first step that failed, matched
    /// nothing or was cancelled, with its location, or the hook that failed.
    pub fn failure(&self) -> Option<String> {
        let step = self.steps.iter().find(|s| s.status.stopped_the_scenario());
        match step {
            Some(s) => {
                let at = format!("{}:{}", self.path, s.line);
                let error = s.error.as_deref().unwrap_or_default();
                Some(match s.status {
                    StepStatus::Undefined => {
                        format!("step `{}{}` ({at}) {error}", s.keyword, s.text)
                    }
                    status => format!(
                        "step `{}{}` ({at}) {}:\n{}",
                        s.keyword,
                        s.text,
                        status.as_str(),
                        progress::indent(error)
                    ),
                })
            }
            None => self.hook_failure.clone(),
        }
    }
}

/// See [`scenario_key`].
pub(crate) type Key = (String, usize, usize);

struct Open {
    record: ScenarioRecord,
    /// The index in `record.steps` of the step that runs next.
    next: usize,
}

/// See the module docs. Finished scenarios and parse errors go to the [`Summary`] given
/// to [`Recorder::new`]; each finished scenario is printed as it finishes.
pub struct Recorder {
    summary: Arc<Mutex<Summary>>,
    open: HashMap<Key, Open>,
}

impl Recorder {
    pub fn new(summary: Arc<Mutex<Summary>>) -> Self {
        Self {
            summary,
            open: HashMap::new(),
        }
    }

    fn started(
        &mut self,
        key: Key,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        at: SystemTime,
    ) {
        let tags = scenario
            .tags
            .iter()
            .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
            .chain(feature.tags.iter())
            .map(|t| format!("@{}", t.trim_start_matches('@')))
            .collect();
        let backgrounds = feature
            .background
            .iter()
            .chain(rule.and_then(|r| r.background.as_ref()))
            .flat_map(|b| b.steps.iter().map(|s| StepRecord::not_run(s, true)));
        let steps = backgrounds
            .chain(scenario.steps.iter().map(|s| StepRecord::not_run(s, false)))
            .collect();
        let record = ScenarioRecord {
            feature: feature.name.clone(),
            name: scenario.name.clone(),
            location: format!("{}:{}", key.0, scenario.position.line),
            path: key.0.clone(),
            line: scenario.position.line,
            lens: progress::lens_of(feature, rule, scenario),
            tags,
            started: at,
            finished: at,
            steps,
            hook_failure: None,
            logs: None,
        };
        self.open.insert(key, Open { record, next: 0 });
    }

    fn record<W>(&mut self, key: Key, ev: &Scenario<W>, at: SystemTime) {
        let Some(open) = self.open.get_mut(&key) else {
            return;
        };
        let (step, st, background) = match ev {
            Scenario::Step(s, st) => (s, st, false),
            Scenario::Background(s, st) => (s, st, true),
            Scenario::Hook(kind, Hook::Failed(_, info)) => {
                let msg = format!("{kind:?} hook failed: {}", progress::panic_text(info));
                open.record.hook_failure.get_or_insert(msg);
                return;
            }
            Scenario::Log(text) => {
                open.record
                    .logs
                    .get_or_insert_with(String::new)
                    .push_str(text);
                return;
            }
            Scenario::Finished => {
                let Some(mut open) = self.open.remove(&key) else {
                    return;
                };
                open.record.finished = at;
                progress::print_result(&open.record);
                self.summary
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .scenarios
                    .push(open.record);
                return;
            }
            _ => return,
        };
        // Steps run in order: the event is about the first step from `next` on that
        // stands on its line.
        let Some(index) = (open.next..open.record.steps.len()).find(|&i| {
            let s = &open.record.steps[i];
            s.line == step.position.line && s.background == background
        }) else {
            return;
        };
        let rec = &mut open.record.steps[index];
        let (status, error) = match st {
            Step::Started => {
                rec.started = Some(at);
                return;
            }
            Step::Passed(..) => (StepStatus::Passed, None),
            Step::Skipped => (
                StepStatus::Undefined,
                Some("matches no step definition (see `qalens steps`)".to_string()),
            ),
            Step::Failed(_, _, _, err) => {
                let error = progress::step_error(err);
                (StepStatus::of_failure(&error), Some(error))
            }
        };
        rec.status = status;
        rec.error = error;
        rec.duration = rec
            .started
            .and_then(|s| at.duration_since(s).ok())
            .unwrap_or_default();
        open.next = index + 1;
    }
}

/// A scenario's key while it runs: its feature file (or feature name), line and column.
pub(crate) fn scenario_key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Key {
    let path = feature
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| feature.name.clone());
    (path, scenario.position.line, scenario.position.col)
}

impl<W: World> Writer<W> for Recorder {
    type Cli = cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        let ev = match event {
            Ok(ev) => ev,
            Err(e) => {
                let msg = qalens_model::features::describe_error(&e);
                println!("ERROR {msg}");
                self.summary
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .parse_errors
                    .push(msg);
                return;
            }
        };
        let at = ev.at;
        let (feature, rule, scenario, sc_ev): (_, Option<&event::Source<gherkin::Rule>>, _, _) =
            match &ev.value {
                Cucumber::Feature(f, Feature::Scenario(sc, ev)) => (f, None, sc, &ev.event),
                Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev))) => {
                    (f, Some(r), sc, &ev.event)
                }
                _ => return,
            };
        let key = scenario_key(feature, scenario);
        if let Scenario::Started = sc_ev {
            self.started(key, feature, rule.map(|r| &**r), scenario, at);
        } else {
            self.record(key, sc_ev, at);
        }
    }
}

// The recorder keys scenarios by location, so it accepts events in any order, and prints
// each scenario as soon as it finished.
impl writer::Normalized for Recorder {}
