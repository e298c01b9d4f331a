//! Scenario times start when the scenario got its components, not when cucumber started
//! it. Every scenario is started at once and waits in its before hook for the
//! [`scheduler`](qalens_engine::scheduler) to grant its claim; [`Retime`] holds a scenario's
//! `Started` event (and its before hook's `Started`) until the before hook finished and
//! gives them that time, so the console, JUnit, Cucumber JSON and the HTML timeline show
//! how long the scenario ran, not how long it queued.

use std::collections::HashMap;

use cucumber::event::{Cucumber, Feature, Hook, HookType, Rule, Scenario};
use cucumber::{Event, World, Writer, parser, writer};

/// A scenario by location: feature path, line, column.
type Key = (String, usize, usize);

/// See the module docs.
pub struct Retime<W: World, Wr> {
    inner: Wr,
    /// Held `Started` events (scenario, then hook) by scenario location.
    held: HashMap<Key, Vec<Event<Cucumber<W>>>>,
}

impl<W: World, Wr> Retime<W, Wr> {
    pub fn new(inner: Wr) -> Self {
        Self {
            inner,
            held: HashMap::new(),
        }
    }
}

/// The scenario an event is about (its location) and the scenario event.
fn scenario_of<W>(value: &Cucumber<W>) -> Option<(Key, &Scenario<W>)> {
    let (f, sc, ev) = match value {
        Cucumber::Feature(f, Feature::Scenario(sc, ev)) => (f, sc, ev),
        Cucumber::Feature(f, Feature::Rule(_, Rule::Scenario(sc, ev))) => (f, sc, ev),
        _ => return None,
    };
    let path = f
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| f.name.clone());
    Some(((path, sc.position.line, sc.position.col), &ev.event))
}

impl<W: World, Wr: Writer<W>> Writer<W> for Retime<W, Wr> {
    type Cli = Wr::Cli;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, cli: &Self::Cli) {
        let Ok(ev) = event else {
            return self.inner.handle_event(event, cli).await;
        };
        let Some((key, sc)) = scenario_of(&ev.value) else {
            return self.inner.handle_event(Ok(ev), cli).await;
        };
        match sc {
            Scenario::Started | Scenario::Hook(HookType::Before, Hook::Started) => {
                self.held.entry(key).or_default().push(ev);
            }
            _ => {
                let at = ev.at;
                for mut held in self.held.remove(&key).unwrap_or_default() {
                    held.at = at;
                    self.inner.handle_event(Ok(held), cli).await;
                }
                self.inner.handle_event(Ok(ev), cli).await;
            }
        }
    }
}

impl<W: World, Wr: writer::Normalized> writer::Normalized for Retime<W, Wr> {}
