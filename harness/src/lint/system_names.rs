//! Names in feature files checked against the system file, before anything starts: a
//! fault on a link with no proxy, a container the topology does not have, a queue the
//! broker does not declare, a step from a pack the file does not enable. Each problem names the feature file and line, and the key of
//! the system file that would fix it.

use std::path::PathBuf;

use cucumber::codegen::Regex;

use crate::lint::Problem;
use qalens_model::system::System;

/// Patterns of the steps that name things of the system file.
struct Patterns {
    link: Regex,
    container: Regex,
    queue: Regex,
    /// Every step definition that comes from a pack the system file does not enable,
    /// with its pack's name; and every other definition.
    disabled: Vec<(Regex, &'static str)>,
    served: Vec<Regex>,
}

impl Patterns {
    fn new(system: &System) -> Self {
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| unreachable!("{p}: {e}"));
        let (mut disabled, mut served) = (vec![], vec![]);
        let steps = qalens_steps::catalog::registered();
        let off = |defined_at: &str| {
            qalens_steps::packs::of_definition(defined_at)
                .filter(|p| !qalens_steps::packs::enabled(system, *p))
        };
        // Nothing to tell apart when the file enables every pack (the reference file).
        if steps.iter().any(|s| off(&s.defined_at).is_some()) {
            for step in steps {
                let Ok(regex) = Regex::new(&step.pattern) else {
                    continue;
                };
                match off(&step.defined_at) {
                    Some(p) => disabled.push((regex, qalens_steps::packs::name(p))),
                    None => served.push(regex),
                }
            }
        }
        Self {
            disabled,
            served,
            link: re(r"^the link from (\S+) to (\S+) "),
            container: re(r"^(?:within \d+ seconds )?the (\S+) container (?:is|has) "),
            queue: re(r#"(?:dead-letter queue|the queue) "([^"]+)""#),
        }
    }
}

/// Checks every step of the features under `paths` that names a link, a container or a
/// queue. `proxied` are the names of the links that get a proxy in this run.
pub(crate) fn check(system: &System, proxied: &[String], paths: &[PathBuf]) -> Vec<Problem> {
    let patterns = Patterns::new(system);
    let mut problems = vec![];
    let Ok(files) = qalens_model::features::feature_paths(paths) else {
        // `lint::check` reports unreadable paths and parse errors.
        return problems;
    };
    for file in files {
        let Ok(feature) = qalens_model::features::parse_file(&file) else {
            continue;
        };
        let path = file.display().to_string();
        problems.extend(super::serves::check(system, &feature, &path));
        // Outline steps with each row filled in: `the <svc> container` names no service.
        for (line, text) in super::serves::expanded_steps(&feature) {
            if let Some(message) = check_step(system, proxied, &patterns, &text) {
                let problem = Problem {
                    at: format!("{path}:{line}"),
                    message,
                };
                // Rows that fill a step in alike give one problem, not one per row.
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
    }
    problems
}

fn check_step(system: &System, proxied: &[String], p: &Patterns, text: &str) -> Option<String> {
    let file = system.file.display();
    let from_pack = p.disabled.iter().find(|(r, _)| r.is_match(text));
    if let Some((_, pack)) = from_pack
        && !p.served.iter().any(|r| r.is_match(text))
    {
        return Some(format!(
            "this step comes from the {pack} pack, which {file} does not enable: add \
             `packs: [{pack}]` to its x-qalens section, or use generic steps \
             (`qalens steps --system {file}` lists what it serves)"
        ));
    }
    if let Some(c) = p.link.captures(text) {
        let name = format!("{}-{}", &c[1], &c[2]);
        let declared = system.qalens.links.iter().find(|l| l.name() == name);
        let Some(link) = declared else {
            return Some(format!(
                "the link from {} to {} is not declared in {file}: add it to x-qalens.links \
                 (from: {}, to: \"{}:PORT\", and rewire: VARIABLE or takeover: true)",
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
        System::load_with(Path::new(qalens_model::system::REFERENCE_FILE), &|v| {
            (v == "QALENS_REFSYS_BIN").then(|| qalens_model::system::REFERENCE_FILE.to_string())
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
}
