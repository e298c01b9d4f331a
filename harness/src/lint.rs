//! `qalens check`: lints feature files without Docker. Every file must parse, and every
//! step must match exactly one step definition; an unknown step is reported with the
//! closest step of the catalog.

use std::path::PathBuf;

use cucumber::codegen::Regex;
use cucumber::gherkin::{self, StepType};

use crate::catalog;

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `path:line`, or the path alone when the line is unknown.
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// What `check` looked at.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub steps: usize,
    pub problems: Vec<Problem>,
}

struct Definition {
    keyword: &'static str,
    regex: Regex,
}

fn keyword(ty: StepType) -> &'static str {
    match ty {
        StepType::Given => "Given",
        StepType::When => "When",
        StepType::Then => "Then",
    }
}

/// Edit distance between `a` and `b`, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The catalog example closest to `text` (any keyword).
fn closest(text: &str) -> Option<&'static str> {
    catalog::all_docs()
        .filter_map(|d| catalog::split_keyword(d.example).map(|(_, t)| (d.example, t)))
        .min_by_key(|(_, t)| distance(text, t))
        .map(|(example, _)| example)
}

fn check_step(defs: &[Definition], path: &str, step: &gherkin::Step, report: &mut Report) {
    report.steps += 1;
    let kw = keyword(step.ty);
    let matching: Vec<&Definition> = defs
        .iter()
        .filter(|d| d.keyword == kw && d.regex.is_match(&step.value))
        .collect();
    let at = format!("{path}:{}", step.position.line);
    match matching.len() {
        1 => {}
        0 => {
            let hint = closest(&step.value)
                .map(|e| format!("; the closest known step is `{e}`"))
                .unwrap_or_default();
            report.problems.push(Problem {
                at,
                message: format!(
                    "undefined step `{}{}`{hint} (see `qalens steps`)",
                    step.keyword, step.value
                ),
            });
        }
        n => report.problems.push(Problem {
            at,
            message: format!(
                "ambiguous step `{}{}`: {n} definitions match: {}",
                step.keyword,
                step.value,
                matching
                    .iter()
                    .map(|d| d.regex.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        }),
    }
}

/// Checks the claim tags (`@uses:`, `@disrupts:`) of the feature, its rules and its
/// scenarios, each where it is written: the tag's own line, found above its element.
fn check_claims(
    file: &std::path::Path,
    path: &str,
    feature: &gherkin::Feature,
    report: &mut Report,
) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut tagged: Vec<(&[String], usize)> = vec![(&feature.tags, feature.position.line)];
    for r in &feature.rules {
        tagged.push((&r.tags, r.position.line));
        tagged.extend(r.scenarios.iter().map(|s| (&s.tags[..], s.position.line)));
    }
    tagged.extend(
        feature
            .scenarios
            .iter()
            .map(|s| (&s.tags[..], s.position.line)),
    );
    for (tags, line) in tagged {
        for tag in tags {
            if let Err(e) = crate::scheduler::claim(std::iter::once(tag)) {
                let written = (1..line)
                    .rev()
                    .find(|l| {
                        lines.get(l - 1).is_some_and(|t| {
                            t.split_whitespace()
                                .any(|w| w == format!("@{tag}") || w == tag)
                        })
                    })
                    .unwrap_or(line);
                report.problems.push(Problem {
                    at: format!("{path}:{written}"),
                    message: e.message,
                });
            }
        }
    }
}

/// The component a fault step disturbs, as claims name it (`the db container is
/// stopped`: db; `the link from api to db ...`: db, the callee).
fn disturbed_by(step: &str) -> Option<String> {
    let faults = Regex::new(
        r"^(?:the (\S+) container is (?:stopped|killed|paused|restarted)|the link from \S+ to (\S+) (?:adds|black-holes|resets|holds|drops) .*)$",
    )
    .ok()?;
    let c = faults.captures(step)?;
    let target = c.get(1).or_else(|| c.get(2))?.as_str();
    Some(crate::scheduler::service_of(target))
}

/// A scenario whose steps apply a fault must claim the component with `@disrupts:` (or
/// be `@serial`): otherwise it would run beside scenarios that use it.
fn check_faults_are_claimed(path: &str, feature: &gherkin::Feature, report: &mut Report) {
    let mut scenarios: Vec<(Option<&gherkin::Rule>, &gherkin::Scenario)> =
        feature.scenarios.iter().map(|s| (None, s)).collect();
    for r in &feature.rules {
        scenarios.extend(r.scenarios.iter().map(|s| (Some(r), s)));
    }
    for (rule, scenario) in scenarios {
        let tags = feature
            .tags
            .iter()
            .chain(rule.iter().flat_map(|r| r.tags.iter()))
            .chain(scenario.tags.iter());
        let Ok(claim) = crate::scheduler::claim(tags) else {
            continue; // reported by check_claims
        };
        let background = feature
            .background
            .iter()
            .chain(rule.and_then(|r| r.background.as_ref()))
            .flat_map(|b| b.steps.iter());
        for step in background.chain(scenario.steps.iter()) {
            if let Some(c) = disturbed_by(&step.value)
                && !claim.disrupts.covers(&c)
            {
                report.problems.push(Problem {
                    at: format!("{path}:{}", step.position.line),
                    message: format!(
                        "`{}{}` disrupts {c}, but the scenario does not claim it: tag it `@disrupts:{c}` so no scenario that uses {c} runs meanwhile",
                        step.keyword, step.value
                    ),
                });
            }
        }
    }
}

/// Lints every feature under `paths`.
pub fn check(paths: &[PathBuf]) -> Report {
    let defs: Vec<Definition> = catalog::registered()
        .into_iter()
        .filter_map(|r| {
            Regex::new(&r.pattern).ok().map(|regex| Definition {
                keyword: r.keyword,
                regex,
            })
        })
        .collect();
    let mut report = Report::default();
    let files = match crate::parser::feature_paths(paths) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(Problem {
                at: paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                message: e.to_string(),
            });
            return report;
        }
    };
    for file in files {
        report.files += 1;
        let path = file.display().to_string();
        let feature = match crate::parser::parse_file(&file) {
            Ok(f) => f,
            Err(e) => {
                report.problems.push(Problem {
                    at: path,
                    message: crate::parser::describe_error(&e),
                });
                continue;
            }
        };
        let scenarios = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
        let backgrounds = feature
            .background
            .iter()
            .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()));
        check_claims(&file, &path, &feature, &mut report);
        check_faults_are_claimed(&path, &feature, &mut report);
        for step in backgrounds.flat_map(|b| b.steps.iter()) {
            check_step(&defs, &path, step, &mut report);
        }
        for scenario in scenarios {
            for step in &scenario.steps {
                check_step(&defs, &path, step, &mut report);
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("qalens-lint-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_shipped_features_are_clean() {
        let features = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features");
        let report = check(&[features]);
        assert!(report.problems.is_empty(), "{:#?}", report.problems);
        assert!(report.files >= 8 && report.steps > 100, "{report:?}");
    }

    #[test]
    fn an_unknown_step_is_located_with_the_closest_known_step() {
        let p = write(
            "typo.feature",
            "Feature: f\n  Scenario: s\n    Given a free client \"a\"\n    When the client sends 5 GET request to \"/x\"\n",
        );
        let report = check(std::slice::from_ref(&p));
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
        let problem = &report.problems[0];
        assert_eq!(problem.at, format!("{}:4", p.display()));
        assert!(problem.message.contains("undefined step"), "{problem}");
        assert!(problem.message.contains("GET requests to"), "{problem}");
    }

    #[test]
    fn a_step_under_the_wrong_keyword_is_undefined() {
        let p = write(
            "kw.feature",
            "Feature: f\n  Scenario: s\n    Then a free client \"a\"\n",
        );
        let report = check(&[p]);
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    }

    #[test]
    fn a_parse_error_names_the_file_and_line() {
        let p = write(
            "bad.feature",
            "Feature: f\n  Scenario: s\n    Given ok\n  Nonsense here\n",
        );
        let report = check(std::slice::from_ref(&p));
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
        let problem = &report.problems[0];
        assert!(
            problem.at.starts_with(&p.display().to_string()),
            "{problem}"
        );
        assert!(
            problem.message.contains('4'),
            "the line must be named: {problem}"
        );
    }

    #[test]
    fn a_missing_path_is_a_problem() {
        let report = check(&[PathBuf::from("/no/such/features")]);
        assert_eq!(report.problems.len(), 1);
        assert!(
            report.problems[0].message.contains("/no/such/features"),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn a_malformed_or_unknown_claim_tag_is_located() {
        let p = write(
            "claims.feature",
            "@uses:gateway,redis\nFeature: f\n\n  @disrupts:gatewy\n  Scenario: s\n    Given a free client \"a\"\n\n  @serial @uses:\n  Scenario: t\n    Given a free client \"b\"\n",
        );
        let report = check(std::slice::from_ref(&p));
        let at: Vec<&str> = report.problems.iter().map(|p| p.at.as_str()).collect();
        let path = p.display().to_string();
        assert_eq!(
            at,
            [format!("{path}:4"), format!("{path}:8")],
            "{:#?}",
            report.problems
        );
        assert!(
            report.problems[0]
                .message
                .contains("unknown component \"gatewy\"")
        );
        assert!(report.problems[1].message.contains("names no component"));
    }

    #[test]
    fn a_fault_on_a_component_the_scenario_does_not_claim_is_located() {
        let p = write(
            "unclaimed.feature",
            "@uses:gateway,rabbitmq\nFeature: f\n\n  @disrupts:redis\n  Scenario: s\n    When the redis container is paused\n    And the link from gateway to rabbitmq adds 300 ms of latency\n\n  Scenario: t\n    When the gateway-2 container is killed\n",
        );
        let report = check(std::slice::from_ref(&p));
        let at: Vec<&str> = report.problems.iter().map(|p| p.at.as_str()).collect();
        let path = p.display().to_string();
        assert_eq!(
            at,
            [format!("{path}:7"), format!("{path}:10")],
            "{:#?}",
            report.problems
        );
        assert!(report.problems[0].message.contains("@disrupts:rabbitmq"));
        assert!(report.problems[1].message.contains("@disrupts:gateway"));
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
