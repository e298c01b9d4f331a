//! The live console writer: one line per scenario as it finishes, with its duration and,
//! on failure, what was expected, what was seen and where. It also collects the
//! [`Summary`] the runner prints and turns into an exit code.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cucumber::event::{self, Cucumber, Feature, Hook, Rule, Scenario, Step};
use cucumber::gherkin;
use cucumber::{Event, World, Writer, cli, parser, writer};

/// The outcome of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub feature: String,
    pub name: String,
    /// `path:line` of the scenario.
    pub location: String,
    /// The scenario's lens: its first tag (or its feature's) other than `@serial`.
    pub lens: String,
    pub passed: bool,
    pub duration: Duration,
    pub failure: Option<String>,
}

/// Everything a run reports.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub scenarios: Vec<ScenarioResult>,
    pub parse_errors: Vec<String>,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.scenarios.iter().filter(|s| s.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.scenarios.len() - self.passed()
    }

    /// Adds the scenarios and parse errors of another run.
    pub fn merge(&mut self, other: Summary) {
        self.scenarios.extend(other.scenarios);
        self.parse_errors.extend(other.parse_errors);
    }

    /// True only when at least one scenario ran, every one passed, and every file parsed.
    pub fn success(&self) -> bool {
        !self.scenarios.is_empty() && self.failed() == 0 && self.parse_errors.is_empty()
    }

    /// `(lens, passed, failed, total time)` per lens, sorted by lens.
    pub fn by_lens(&self) -> Vec<(String, usize, usize, Duration)> {
        let mut map: std::collections::BTreeMap<String, (usize, usize, Duration)> =
            Default::default();
        for s in &self.scenarios {
            let e = map.entry(s.lens.clone()).or_default();
            if s.passed {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
            e.2 += s.duration;
        }
        map.into_iter().map(|(k, (p, f, d))| (k, p, f, d)).collect()
    }
}

struct Running {
    started: SystemTime,
    failure: Option<String>,
}

/// See the module docs.
pub struct Progress {
    summary: Arc<Mutex<Summary>>,
    running: HashMap<(String, usize, usize), Running>,
}

impl Progress {
    pub fn new(summary: Arc<Mutex<Summary>>) -> Self {
        Self {
            summary,
            running: HashMap::new(),
        }
    }

    fn record<W>(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        ev: Scenario<W>,
        at: SystemTime,
    ) {
        let path = feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| feature.name.clone());
        let key = (path.clone(), scenario.position.line, scenario.position.col);
        let step_at = |step: &gherkin::Step| format!("{path}:{}", step.position.line);
        match ev {
            Scenario::Started => {
                self.running.insert(
                    key,
                    Running {
                        started: at,
                        failure: None,
                    },
                );
            }
            Scenario::Step(step, Step::Failed(_, _, _, err))
            | Scenario::Background(step, Step::Failed(_, _, _, err)) => {
                let msg = format!(
                    "step `{}{}` ({}) failed:\n{}",
                    step.keyword,
                    step.value,
                    step_at(&step),
                    indent(&step_error(&err))
                );
                self.fail(&key, msg);
            }
            Scenario::Step(step, Step::Skipped) | Scenario::Background(step, Step::Skipped) => {
                let msg = format!(
                    "step `{}{}` ({}) matches no step definition (see `qalens steps`)",
                    step.keyword,
                    step.value,
                    step_at(&step)
                );
                self.fail(&key, msg);
            }
            Scenario::Hook(kind, Hook::Failed(_, info)) => {
                let msg = format!("{kind:?} hook failed: {}", panic_text(&info));
                self.fail(&key, msg);
            }
            Scenario::Finished => {
                let Some(run) = self.running.remove(&key) else {
                    return;
                };
                let duration = at.duration_since(run.started).unwrap_or_default();
                let lens = lens_of(feature, rule, scenario);
                let result = ScenarioResult {
                    feature: feature.name.clone(),
                    name: scenario.name.clone(),
                    location: format!("{path}:{}", scenario.position.line),
                    lens,
                    passed: run.failure.is_none(),
                    duration,
                    failure: run.failure,
                };
                print_result(&result);
                self.summary
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .scenarios
                    .push(result);
            }
            _ => {}
        }
    }

    fn fail(&mut self, key: &(String, usize, usize), msg: String) {
        if let Some(run) = self.running.get_mut(key) {
            run.failure.get_or_insert(msg);
        }
    }
}

fn print_result(r: &ScenarioResult) {
    let mut out = std::io::stdout().lock();
    let mark = if r.passed { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "{mark} [{}] {} › {} ({:.2} s)",
        r.lens,
        r.feature,
        r.name,
        r.duration.as_secs_f64()
    );
    if let Some(f) = &r.failure {
        let _ = writeln!(out, "     at {}\n{}", r.location, indent(f));
    }
    let _ = out.flush();
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("     {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn panic_text(info: &event::Info) -> String {
    if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "(no message)".into()
    }
}

pub(crate) fn step_error(err: &event::StepError) -> String {
    match err {
        event::StepError::Panic(info) => panic_text(info),
        other => other.to_string(),
    }
}

/// The first tag that names a lens (not a scheduling tag: `@serial`, `@uses:`,
/// `@disrupts:`): the scenario's, then the rule's, then the feature's.
pub fn lens_of(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> String {
    scenario
        .tags
        .iter()
        .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
        .chain(feature.tags.iter())
        .map(|t| t.trim_start_matches('@'))
        .find(|t| !crate::scheduler::is_scheduling_tag(t))
        .unwrap_or("untagged")
        .to_string()
}

impl<W: World> Writer<W> for Progress {
    type Cli = cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        match event {
            Err(e) => {
                let msg = crate::parser::describe_error(&e);
                println!("ERROR {msg}");
                self.summary
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .parse_errors
                    .push(msg);
            }
            Ok(ev) => {
                let (value, meta) = ev.split();
                let at = meta.at;
                match value {
                    Cucumber::Feature(f, Feature::Scenario(sc, ev)) => {
                        self.record(&f, None, &sc, ev.event, at)
                    }
                    Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev))) => {
                        self.record(&f, Some(&r), &sc, ev.event, at)
                    }
                    _ => {}
                }
            }
        }
    }
}

// Progress keys scenarios by location, so it accepts events in any order.
impl writer::Normalized for Progress {}
