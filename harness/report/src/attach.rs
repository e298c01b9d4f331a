//! Attaches component logs to the reports of failed scenarios.
//!
//! [`AttachLogs`] wraps the report writers (the [`Recorder`](crate::Recorder),
//! JUnit, Cucumber JSON). When a step or hook
//! of a scenario fails, it reads, from every container of the run, what the container
//! wrote since the scenario started, and hands it to the wrapped writers as a scenario
//! log, which JUnit puts in the test case's `<system-out>` and Cucumber JSON embeds in
//! the failed step. Scenarios run concurrently on one topology, so some of those lines may
//! belong to other scenarios; the services log only warnings and errors, so what is left
//! is short and mostly to the point.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use cucumber::event::{self, Cucumber, Feature, Hook, Rule, Scenario, Step};
use cucumber::{Event, World, Writer, gherkin, parser, writer};
use futures::StreamExt as _;
use testcontainers::bollard::query_parameters::LogsOptions;

use std::sync::Arc;

use qalens_engine::context::{Run, RunContext};

/// Lines kept per component (the last ones).
const MAX_LINES: usize = 80;

/// See the module docs.
pub struct AttachLogs<Wr> {
    inner: Wr,
    /// The run whose containers' logs are attached.
    run: Arc<Run>,
    /// When each running scenario started, by location; removed once logs are attached.
    started: HashMap<(String, usize, usize), SystemTime>,
}

impl<Wr> AttachLogs<Wr> {
    pub fn new(inner: Wr, run: Arc<Run>) -> Self {
        Self {
            inner,
            run,
            started: HashMap::new(),
        }
    }
}

/// A scenario event with where it happened: feature, rule, scenario, event.
type ScenarioEvent<'a, W> = (
    &'a event::Source<gherkin::Feature>,
    Option<&'a event::Source<gherkin::Rule>>,
    &'a event::Source<gherkin::Scenario>,
    &'a event::RetryableScenario<W>,
);

/// The scenario a Cucumber event is about, with its event.
fn scenario_event<W>(value: &Cucumber<W>) -> Option<ScenarioEvent<'_, W>> {
    match value {
        Cucumber::Feature(f, Feature::Scenario(sc, ev)) => Some((f, None, sc, ev)),
        Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev))) => {
            Some((f, Some(r), sc, ev))
        }
        _ => None,
    }
}

fn is_failure<W>(ev: &Scenario<W>) -> bool {
    matches!(
        ev,
        Scenario::Step(_, Step::Failed(..))
            | Scenario::Background(_, Step::Failed(..))
            | Scenario::Hook(_, Hook::Failed(..))
    )
}

impl<W: World, Wr: Writer<W>> Writer<W> for AttachLogs<Wr> {
    type Cli = Wr::Cli;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, cli: &Self::Cli) {
        let mut attach = None;
        if let Ok(ev) = &event
            && let Some((feature, rule, scenario, sc_ev)) = scenario_event(&ev.value)
        {
            let k = crate::scenario_key(feature, scenario);
            match &sc_ev.event {
                Scenario::Started => {
                    self.started.insert(k, ev.at);
                }
                Scenario::Finished => {
                    self.started.remove(&k);
                }
                e if is_failure(e) => {
                    if let Some(since) = self.started.remove(&k) {
                        let log = Cucumber::scenario(
                            feature.clone(),
                            rule.cloned(),
                            scenario.clone(),
                            event::RetryableScenario {
                                event: Scenario::Log(
                                    component_logs(&self.run.context(), since).await,
                                ),
                                retries: sc_ev.retries,
                            },
                        );
                        attach = Some(Event::new(log));
                    }
                }
                _ => {}
            }
        }
        // Before the failure itself: Cucumber JSON embeds the logs that precede a step's
        // result in that step; JUnit puts every log of the scenario in `<system-out>`.
        if let Some(log) = attach {
            self.inner.handle_event(Ok(log), cli).await;
        }
        self.inner.handle_event(event, cli).await;
    }
}

// It passes every event on, in the order it came, adding logs before a failure.
impl<Wr: writer::Normalized> writer::Normalized for AttachLogs<Wr> {}

/// What every container of the run wrote since `since`, component by component, the
/// last [`MAX_LINES`] lines of each; components that wrote nothing are left out.
pub(crate) async fn component_logs(ctx: &RunContext, since: SystemTime) -> String {
    // Docker's `since` has a resolution of one second: start a second early.
    let since = since
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(1))
        .unwrap_or(0);
    let mut out = String::new();
    for (component, id) in &ctx.containers {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            since: i32::try_from(since).unwrap_or(0),
            ..Default::default()
        };
        let mut stream = ctx.docker.logs(id, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => text.push_str(&String::from_utf8_lossy(&c.into_bytes())),
                Err(e) => {
                    text.push_str(&format!("(reading the logs failed: {e})\n"));
                    break;
                }
            }
        }
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            continue;
        }
        let kept = &lines[lines.len().saturating_sub(MAX_LINES)..];
        out.push_str(&format!(
            "== logs of {component} while the scenario ran (last {} of {} lines)\n",
            kept.len(),
            lines.len()
        ));
        for l in kept {
            out.push_str(&printable(l));
            out.push('\n');
        }
    }
    if out.is_empty() {
        out.push_str("no component wrote logs while the scenario ran\n");
    }
    out
}

/// `line` without terminal escape sequences and control characters, which XML 1.0
/// (the JUnit report) does not allow even in CDATA.
fn printable(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequence: ESC [ parameters final-byte (one of @..~).
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escape_sequences_and_control_characters_are_removed() {
        assert_eq!(
            printable("\u{1b}[38;5;87m[info] accepting\u{1b}[0m\tok\u{7}"),
            "[info] accepting\tok"
        );
        assert_eq!(printable("plain text: 1 < 2"), "plain text: 1 < 2");
    }
}
