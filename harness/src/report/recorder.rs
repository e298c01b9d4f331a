//! [`Recorder`]: a cucumber writer that keeps what the HTML report shows of each scenario.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cucumber::event::{Cucumber, Feature, Hook, Rule, Scenario, Step};
use cucumber::{Event, World, Writer, cli, gherkin, parser};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Passed,
    Failed,
    /// It matched no step definition.
    Undefined,
    /// An earlier step failed, so it never ran.
    NotRun,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Undefined => "undefined",
            Self::NotRun => "not run",
        }
    }
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// `Given `, `When `, ... as written.
    pub keyword: String,
    pub text: String,
    /// A step of the feature's (or rule's) background.
    pub background: bool,
    pub status: StepStatus,
    pub duration: Duration,
    /// What was expected and what was seen, for a failed step.
    pub error: Option<String>,
}

/// One scenario as it ran.
#[derive(Debug, Clone)]
pub struct ScenarioRecord {
    pub feature: String,
    pub name: String,
    /// `path:line`.
    pub location: String,
    pub lens: String,
    /// Its tags, its rule's and its feature's, with their `@`.
    pub tags: Vec<String>,
    pub started: SystemTime,
    pub finished: SystemTime,
    pub steps: Vec<StepRecord>,
    /// A failed before/after hook.
    pub hook_failure: Option<String>,
    /// The component logs attached when it failed ([`crate::attach`]).
    pub logs: Option<String>,
}

impl ScenarioRecord {
    pub fn passed(&self) -> bool {
        self.hook_failure.is_none()
            && self
                .steps
                .iter()
                .all(|s| matches!(s.status, StepStatus::Passed))
    }

    pub fn duration(&self) -> Duration {
        self.finished
            .duration_since(self.started)
            .unwrap_or_default()
    }
}

struct Open {
    record: ScenarioRecord,
    step_started: Option<SystemTime>,
    /// Steps of the scenario itself (not the background) seen so far.
    own_steps: usize,
}

/// See the module docs. Finished scenarios go to the shared list given to [`Recorder::new`].
pub struct Recorder {
    done: Arc<Mutex<Vec<ScenarioRecord>>>,
    open: HashMap<(String, usize, usize), Open>,
}

impl Recorder {
    pub fn new(done: Arc<Mutex<Vec<ScenarioRecord>>>) -> Self {
        Self {
            done,
            open: HashMap::new(),
        }
    }

    fn record<W>(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        ev: &Scenario<W>,
        at: SystemTime,
    ) {
        let path = feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| feature.name.clone());
        let key = (path.clone(), scenario.position.line, scenario.position.col);
        if let Scenario::Started = ev {
            let tags = scenario
                .tags
                .iter()
                .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                .chain(feature.tags.iter())
                .map(|t| format!("@{}", t.trim_start_matches('@')))
                .collect();
            let record = ScenarioRecord {
                feature: feature.name.clone(),
                name: scenario.name.clone(),
                location: format!("{path}:{}", scenario.position.line),
                lens: crate::progress::lens_of(feature, rule, scenario),
                tags,
                started: at,
                finished: at,
                steps: Vec::new(),
                hook_failure: None,
                logs: None,
            };
            self.open.insert(
                key,
                Open {
                    record,
                    step_started: None,
                    own_steps: 0,
                },
            );
            return;
        }
        let Some(open) = self.open.get_mut(&key) else {
            return;
        };
        let (step, st, background) = match ev {
            Scenario::Step(s, st) => (s, st, false),
            Scenario::Background(s, st) => (s, st, true),
            Scenario::Hook(kind, Hook::Failed(_, info)) => {
                let msg = format!(
                    "{kind:?} hook failed: {}",
                    crate::progress::panic_text(info)
                );
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
                for s in scenario.steps.iter().skip(open.own_steps) {
                    open.record.steps.push(StepRecord {
                        keyword: s.keyword.clone(),
                        text: s.value.clone(),
                        background: false,
                        status: StepStatus::NotRun,
                        duration: Duration::ZERO,
                        error: None,
                    });
                }
                self.done
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(open.record);
                return;
            }
            _ => return,
        };
        let (status, error) = match st {
            Step::Started => {
                open.step_started = Some(at);
                return;
            }
            Step::Passed(..) => (StepStatus::Passed, None),
            Step::Skipped => (
                StepStatus::Undefined,
                Some("matches no step definition (see `qalens steps`)".to_string()),
            ),
            Step::Failed(_, _, _, err) => {
                (StepStatus::Failed, Some(crate::progress::step_error(err)))
            }
        };
        let duration = open
            .step_started
            .take()
            .and_then(|s| at.duration_since(s).ok())
            .unwrap_or_default();
        if !background {
            open.own_steps += 1;
        }
        open.record.steps.push(StepRecord {
            keyword: step.keyword.clone(),
            text: step.value.clone(),
            background,
            status,
            duration,
            error,
        });
    }
}

impl<W: World> Writer<W> for Recorder {
    type Cli = cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        let Ok(ev) = event else { return };
        let at = ev.at;
        match &ev.value {
            Cucumber::Feature(f, Feature::Scenario(sc, ev)) => {
                self.record(f, None, sc, &ev.event, at)
            }
            Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev))) => {
                self.record(f, Some(r), sc, &ev.event, at)
            }
            _ => {}
        }
    }
}
