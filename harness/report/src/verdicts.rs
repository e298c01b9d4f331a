//! JUnit and Cucumber JSON are cucumber's own writers: each decides a scenario's verdict
//! from its events, and neither knows "cancelled". [`CancelledAsSkipped`] stands in front
//! of them and turns the failure that cancelled a scenario (a step's error or the before
//! hook's failure that [`Verdict::of_failure`] calls cancelled) into a skipped step, so they
//! report a scenario as skipped (JUnit `<skipped/>`, Cucumber JSON `"skipped"`) exactly when
//! [`ScenarioRecord::verdict`](super::ScenarioRecord::verdict) says cancelled, as the
//! Cucumber Messages do. Every other event passes unchanged.

use cucumber::event::{self, Cucumber, Feature, Hook, HookType, Rule, Scenario, Step};
use cucumber::{Event, World, Writer, gherkin, parser};

use super::Verdict;
use crate::progress;

/// See the module docs.
pub struct CancelledAsSkipped<Wr> {
    inner: Wr,
}

impl<Wr> CancelledAsSkipped<Wr> {
    pub fn new(inner: Wr) -> Self {
        Self { inner }
    }
}

impl<W: World, Wr: Writer<W>> Writer<W> for CancelledAsSkipped<Wr> {
    type Cli = Wr::Cli;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, cli: &Self::Cli) {
        let event = event.map(|ev| ev.map(translate));
        self.inner.handle_event(event, cli).await;
    }
}

/// The event as JUnit and Cucumber JSON should see it.
pub(crate) fn translate<W>(value: Cucumber<W>) -> Cucumber<W> {
    match value {
        Cucumber::Feature(f, Feature::Scenario(sc, ev)) => {
            let ev = skip_cancellation(&f, None, &sc, ev);
            Cucumber::Feature(f, Feature::Scenario(sc, ev))
        }
        Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev))) => {
            let ev = skip_cancellation(&f, Some(&r), &sc, ev);
            Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev)))
        }
        other => other,
    }
}

fn cancelled(message: &str) -> bool {
    Verdict::of_failure(message) == Verdict::Cancelled
}

fn skip_cancellation<W>(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
    ev: event::RetryableScenario<W>,
) -> event::RetryableScenario<W> {
    let retries = ev.retries;
    let event = match ev.event {
        Scenario::Step(st, Step::Failed(_, _, _, err))
            if cancelled(&progress::step_error(&err)) =>
        {
            Scenario::Step(st, Step::Skipped)
        }
        Scenario::Background(st, Step::Failed(_, _, _, err))
            if cancelled(&progress::step_error(&err)) =>
        {
            Scenario::Background(st, Step::Skipped)
        }
        // Cancelled while it waited for its claim: its first step stands for the whole
        // scenario, skipped (a scenario without steps keeps the failed hook).
        Scenario::Hook(HookType::Before, Hook::Failed(world, info))
            if cancelled(&progress::panic_text(&info)) =>
        {
            let background = feature
                .background
                .iter()
                .chain(rule.and_then(|r| r.background.as_ref()))
                .flat_map(|b| b.steps.first())
                .next();
            match (background, scenario.steps.first()) {
                (Some(first), _) => {
                    Scenario::Background(event::Source::new(first.clone()), Step::Skipped)
                }
                (None, Some(first)) => {
                    Scenario::Step(event::Source::new(first.clone()), Step::Skipped)
                }
                (None, None) => Scenario::Hook(HookType::Before, Hook::Failed(world, info)),
            }
        }
        other => other,
    };
    event::RetryableScenario { event, retries }
}

#[cfg(test)]
mod tests;
