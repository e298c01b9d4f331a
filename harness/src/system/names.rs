//! Names in feature files checked against the system file, before anything starts: a
//! fault on a link with no proxy, a container the topology does not have, a queue the
//! broker does not declare. Each problem names the feature file and line, and the key of
//! the system file that would fix it.

use std::path::PathBuf;

use cucumber::codegen::Regex;
use cucumber::gherkin;

use super::System;
use crate::lint::Problem;

/// Patterns of the steps that name things of the system file.
struct Patterns {
    link: Regex,
    container: Regex,
    queue: Regex,
}

impl Patterns {
    fn new() -> Self {
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| unreachable!("{p}: {e}"));
        Self {
            link: re(r"^the link from (\S+) to (\S+) "),
            container: re(r"^(?:within \d+ seconds )?the (\S+) container (?:is|has) "),
            queue: re(r#"(?:dead-letter queue|the queue) "([^"]+)""#),
        }
    }
}

/// Checks every step of the features under `paths` that names a link, a container or a
/// queue. `proxied` are the names of the links that get a proxy in this run.
pub fn check(system: &System, proxied: &[String], paths: &[PathBuf]) -> Vec<Problem> {
    let patterns = Patterns::new();
    let mut problems = vec![];
    let Ok(files) = crate::parser::feature_paths(paths) else {
        // `lint::check` reports unreadable paths and parse errors.
        return problems;
    };
    for file in files {
        let Ok(feature) = crate::parser::parse_file(&file) else {
            continue;
        };
        let path = file.display().to_string();
        problems.extend(super::serves::check(system, &feature, &path));
        for step in steps(&feature) {
            if let Some(message) = check_step(system, proxied, &patterns, &step.value) {
                problems.push(Problem {
                    at: format!("{path}:{}", step.position.line),
                    message,
                });
            }
        }
    }
    problems
}

fn steps(feature: &gherkin::Feature) -> impl Iterator<Item = &gherkin::Step> {
    let backgrounds = feature
        .background
        .iter()
        .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()))
        .flat_map(|b| b.steps.iter());
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()))
        .flat_map(|s| s.steps.iter());
    backgrounds.chain(scenarios)
}

fn check_step(system: &System, proxied: &[String], p: &Patterns, text: &str) -> Option<String> {
    let file = system.file.display();
    if let Some(c) = p.link.captures(text) {
        let name = format!("{}-{}", &c[1], &c[2]);
        let declared = system.qalens.links.iter().find(|l| l.name() == name);
        let Some(link) = declared else {
            return Some(format!(
                "the link from {} to {} is not declared in {file}: add it to x-qalens.links \
                 (from: {}, to: \"{}:PORT\", rewire: VARIABLE)",
                &c[1], &c[2], &c[1], &c[2]
            ));
        };
        if !proxied.contains(&name) {
            let why = if link.proxied {
                "QALENS_LINKS leaves it out".to_string()
            } else {
                format!("it is `proxied: false` in {file} and QALENS_LINKS does not name it")
            };
            return Some(format!(
                "the link {name} has no fault proxy in this run: {why}"
            ));
        }
    }
    if let Some(c) = p.container.captures(text) {
        let name = &c[1];
        let known: Vec<String> = system
            .services
            .values()
            .flat_map(|s| s.replica_names().into_iter().map(|(_, n)| n))
            .collect();
        let is_proxy = name
            .strip_prefix("link-")
            .is_some_and(|l| proxied.iter().any(|p| p == l));
        if !known.iter().any(|k| k == name) && !is_proxy {
            return Some(format!(
                "{file} has no container {name:?}; its containers are {}",
                known.join(", ")
            ));
        }
    }
    if let Some(c) = p.queue.captures(text) {
        let queue = &c[1];
        let declared: Vec<&String> = system
            .qalens
            .broker
            .iter()
            .flat_map(|b| &b.queues)
            .flat_map(|q| std::iter::once(&q.name).chain(q.dead_letter.as_ref()))
            .collect();
        if !declared.iter().any(|d| *d == queue) {
            return Some(format!(
                "the queue {queue:?} is not declared in {file}: add it to \
                 x-qalens.broker.queues (as a name or a dead_letter)"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn system() -> System {
        System::load_with(Path::new(super::super::REFERENCE_FILE), &|v| {
            (v == "QALENS_REFSYS_BIN").then(|| super::super::REFERENCE_FILE.to_string())
        })
        .unwrap()
    }

    #[test]
    fn the_shipped_features_name_only_what_the_reference_file_declares() {
        let s = system();
        let proxied: Vec<String> = s
            .qalens
            .links
            .iter()
            .filter(|l| l.proxied)
            .map(|l| l.name())
            .collect();
        let features = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features");
        let problems = check(&s, &proxied, &[features]);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn undeclared_links_unproxied_links_unknown_containers_and_queues_are_located() {
        let dir =
            std::env::temp_dir().join(format!("qalens-names-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("names.feature");
        std::fs::write(
            &f,
            "Feature: f\n  Scenario: s\n\
             \x20   When the link from orders to email adds 10 ms of latency\n\
             \x20   And the link from email to rabbitmq black-holes traffic\n\
             \x20   And the link from orders to payments is healed\n\
             \x20   And the billing container is stopped\n\
             \x20   And the gateway-3 container is restarted\n\
             \x20   Then within 5 seconds the queue \"audit\" has 0 messages ready\n\
             \x20   And within 5 seconds the message is in the dead-letter queue \"email.dlq\" with reason \"rejected\"\n",
        )
        .unwrap();
        let s = system();
        let problems = check(
            &s,
            &["orders-payments".to_string()],
            std::slice::from_ref(&f),
        );
        let at: Vec<String> = problems.iter().map(|p| p.at.clone()).collect();
        let line = |n: u32| format!("{}:{n}", f.display());
        assert_eq!(at, [line(3), line(4), line(6), line(8)], "{problems:#?}");
        assert!(
            problems[0].message.contains("not declared")
                && problems[0].message.contains("x-qalens.links")
        );
        assert!(
            problems[1].message.contains("no fault proxy"),
            "{}",
            problems[1]
        );
        assert!(
            problems[2].message.contains("no container \"billing\""),
            "{}",
            problems[2]
        );
        assert!(
            problems[3].message.contains("x-qalens.broker.queues"),
            "{}",
            problems[3]
        );
    }
}
