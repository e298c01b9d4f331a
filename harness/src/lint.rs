//! `qalens check`: lints feature files without Docker. Every file must parse, every step
//! must match exactly one step definition (an unknown step is reported with the closest
//! step of the catalog), and every number must fit its step's parameter. Text the parser
//! would silently read as description (a misspelled keyword, a step with a misspelled
//! keyword or with no scenario above it) and scenarios that would check nothing are
//! warnings ([`Report::warnings`]; `--strict` makes them errors). Given the system file,
//! the containers, gateway replicas and contracts steps name are checked against it.

use std::path::PathBuf;
use std::sync::LazyLock;

use cucumber::codegen::Regex;
use cucumber::gherkin::{self, StepType};
use qalens_engine::scheduler::Components;

use qalens_model::input::shorten;
use qalens_steps::catalog;

pub(crate) mod lost;
mod names;
mod serves;
pub(crate) mod system_names;

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
    pub(crate) files: usize,
    pub(crate) steps: usize,
    pub problems: Vec<Problem>,
    /// Text that is probably lost (read as description) or a scenario that checks
    /// nothing: not an error unless `--strict`.
    pub warnings: Vec<Problem>,
}

struct Definition {
    keyword: &'static str,
    regex: Regex,
    /// The Rust types of the step function's parameters, in capture order (empty when
    /// unknown).
    params: &'static [&'static str],
}

mod generated {
    include!(concat!(env!("OUT_DIR"), "/step_params.rs"));
}

/// The parameter types of the step defined at `defined_at` (`harness/src/x.rs:LINE`).
fn params_of(defined_at: &str) -> &'static [&'static str] {
    let Some((file, line)) = defined_at.rsplit_once(':') else {
        return &[];
    };
    let line: u32 = line.parse().unwrap_or(0);
    generated::STEP_PARAMS
        .iter()
        .find(|(rel, l, _)| *l == line && (file == *rel || file.ends_with(&format!("/{rel}"))))
        .map_or(&[], |(_, _, types)| types)
}

/// The range of an integer parameter type, as words, and whether `value` fits it.
fn fits(ty: &str, value: &str) -> Option<Result<(), String>> {
    macro_rules! check {
        ($($t:ty),*) => {
            match ty {
                $(stringify!($t) => Some(value.parse::<$t>().map(|_| ()).map_err(|_| {
                    format!("{} to {}", <$t>::MIN, <$t>::MAX)
                })),)*
                _ => None,
            }
        };
    }
    check!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize)
}

/// The value cucumber passes to each parameter of `def` for `text`: a capture group, or
/// the first non-empty one of a cucumber expression's several groups (`__N_M`).
fn arguments<'t>(def: &Definition, text: &'t str) -> Vec<&'t str> {
    let Some(c) = def.regex.captures(text) else {
        return vec![];
    };
    let names: Vec<Option<&str>> = def.regex.capture_names().collect();
    let mut out = vec![];
    let mut i = 1;
    while i < c.len() {
        let prefix = names[i]
            .filter(|n| n.starts_with("__"))
            .and_then(|n| n[2..].find('_').map(|e| &n[..e + 2]));
        let mut value = c.get(i).map_or("", |m| m.as_str());
        i += 1;
        while let Some(p) = prefix
            && i < c.len()
            && names[i].is_some_and(|n| n.starts_with(p))
        {
            if value.is_empty() {
                value = c.get(i).map_or("", |m| m.as_str());
            }
            i += 1;
        }
        out.push(value);
    }
    out
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
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    edits(&a, &b)
}

/// Edit distance between two sequences (characters, words).
fn edits<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// A clock step's amount, unit and direction.
fn clock() -> &'static Regex {
    static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^the clock of the \S+ container is (\d+) (\S+) (ahead|behind)$")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    &CLOCK
}

/// The catalog examples (the whole line, the words of its text), and for each word the
/// examples that hold it: the index the suggestion looks candidates up in.
struct Examples {
    lines: Vec<(&'static str, Vec<&'static str>)>,
    by_word: std::collections::HashMap<&'static str, Vec<usize>>,
}

fn examples() -> &'static Examples {
    static EXAMPLES: LazyLock<Examples> = LazyLock::new(|| {
        let lines: Vec<(&'static str, Vec<&'static str>)> = catalog::all_docs()
            .filter_map(|d| {
                catalog::split_keyword(d.example)
                    .map(|(_, t)| (d.example, t.split_whitespace().collect()))
            })
            .collect();
        let mut by_word: std::collections::HashMap<&'static str, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, (_, words)) in lines.iter().enumerate() {
            for w in words {
                let e = by_word.entry(*w).or_default();
                if e.last() != Some(&i) {
                    e.push(i);
                }
            }
        }
        Examples { lines, by_word }
    });
    &EXAMPLES
}

/// The most words of a step the suggestion looks at, and the most catalog examples it
/// measures the (word) edit distance to, those sharing the most words: the cost of a
/// suggestion is bounded whatever the step's length.
const SUGGEST_WORDS: usize = 32;
const SUGGEST_CANDIDATES: usize = 8;

/// The catalog example closest to `text` (any keyword).
fn closest(text: &str) -> Option<&'static str> {
    let ex = examples();
    let words: Vec<&str> = text.split_whitespace().take(SUGGEST_WORDS).collect();
    let mut shared = vec![0usize; ex.lines.len()];
    for w in &words {
        for i in ex.by_word.get(w).into_iter().flatten() {
            shared[*i] += 1;
        }
    }
    let mut ranked: Vec<usize> = (0..ex.lines.len()).collect();
    ranked.sort_by(|a, b| shared[*b].cmp(&shared[*a]).then(a.cmp(b)));
    ranked
        .into_iter()
        .take(SUGGEST_CANDIDATES)
        .min_by_key(|i| edits(&words, &ex.lines[*i].1))
        .map(|i| ex.lines[i].0)
}

fn check_step(
    defs: &[Definition],
    path: &str,
    step: &gherkin::Step,
    suggestions: &mut std::collections::HashMap<String, Option<&'static str>>,
    report: &mut Report,
) {
    report.steps += 1;
    let kw = keyword(step.ty);
    let matching: Vec<&Definition> = defs
        .iter()
        .filter(|d| d.keyword == kw && d.regex.is_match(&step.value))
        .collect();
    let at = format!("{path}:{}", step.position.line);
    let shown = shorten(&step.value, 200);
    match matching[..] {
        [def] => {
            if let Some(c) = clock().captures(&step.value)
                && let Ok(amount) = c[1].parse::<i64>()
                && let Err(e) = qalens_engine::nemesis::clock::skew_seconds(amount, &c[2], &c[3])
            {
                report.problems.push(Problem {
                    at: at.clone(),
                    message: e.to_string(),
                });
            }
            for (value, ty) in arguments(def, &step.value).into_iter().zip(def.params) {
                if let Some(Err(range)) = fits(ty, value) {
                    report.problems.push(Problem {
                        at: at.clone(),
                        message: format!(
                            "`{}` is out of range in `{}{shown}`: this step takes a number from {range}",
                            shorten(value, 40),
                            step.keyword
                        ),
                    });
                }
            }
        }
        [] => {
            let hint = suggestions
                .entry(
                    step.value
                        .split_whitespace()
                        .take(SUGGEST_WORDS)
                        .collect::<Vec<_>>()
                        .join(" "),
                )
                .or_insert_with(|| closest(&step.value))
                .map(|e| format!("; the closest known step is `{e}`"))
                .unwrap_or_default();
            report.problems.push(Problem {
                at,
                message: format!(
                    "undefined step `{}{shown}`{hint} (see `qalens steps`)",
                    step.keyword
                ),
            });
        }
        _ => report.problems.push(Problem {
            at,
            message: format!(
                "ambiguous step `{}{shown}`: {} definitions match: {}",
                step.keyword,
                matching.len(),
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
    components: &Components,
    lines: &[&str],
    path: &str,
    feature: &gherkin::Feature,
    report: &mut Report,
) {
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
            if let Err(e) = components.claim(std::iter::once(tag)) {
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
fn disturbed_by(components: &Components, step: &str) -> Option<String> {
    static FAULTS: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r"^(?:the (\S+) container is (?:stopped|killed|paused|restarted)|the link from \S+ to (\S+) (?:adds|black-holes|resets|holds|drops) .*)$",
        )
        .ok()
    });
    let c = FAULTS.as_ref()?.captures(step)?;
    let target = c.get(1).or_else(|| c.get(2))?.as_str();
    Some(components.service_of(target))
}

/// Whether a step resets or measures a queue as a whole, which only a scenario that holds
/// the broker alone may do: emptying a queue (it would purge other scenarios' messages)
/// and counting the redeliveries the broker made from it (other scenarios' messages
/// would count too).
fn needs_the_broker_alone(step: &str) -> bool {
    static QUEUE_STATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r#"^(?:the queue "[^"]*" is empty|(?:within \d+ seconds )?the message was redelivered .*)$"#,
        )
        .ok()
    });
    QUEUE_STATE.as_ref().is_some_and(|r| r.is_match(step))
}

/// A scenario whose steps apply a fault must claim the component with `@disrupts:` (or
/// be `@serial`): otherwise it would run beside scenarios that use it. One whose steps
/// empty a queue or count its redeliveries must so claim the broker (`broker`, the
/// service of `x-qalens.broker`).
fn check_faults_are_claimed(
    components: &Components,
    broker: Option<&str>,
    path: &str,
    feature: &gherkin::Feature,
    report: &mut Report,
) {
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
        let Ok(claim) = components.claim(tags) else {
            continue; // reported by check_claims
        };
        let background = feature
            .background
            .iter()
            .chain(rule.and_then(|r| r.background.as_ref()))
            .flat_map(|b| b.steps.iter());
        for step in background.chain(scenario.steps.iter()) {
            if let Some(c) = disturbed_by(components, &step.value)
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
            if let Some(b) = broker
                && needs_the_broker_alone(&step.value)
                && !claim.holds_alone(b)
            {
                report.problems.push(Problem {
                    at: format!("{path}:{}", step.position.line),
                    message: format!(
                        "`{}{}` needs the broker's queues to itself, but the scenario shares {b} with scenarios that publish and consume meanwhile: tag it `@disrupts:{b}`",
                        step.keyword, step.value
                    ),
                });
            }
        }
    }
}

/// Lints every feature under `paths`.
pub fn check(paths: &[PathBuf]) -> Report {
    check_with(paths, None)
}

/// Lints every feature under `paths`; given `system`, also the containers, gateway
/// replicas and contracts that steps name ([`names`]).
pub(crate) fn check_with(
    paths: &[PathBuf],
    system: Option<&qalens_model::system::System>,
) -> Report {
    static DEFS: LazyLock<Vec<Definition>> = LazyLock::new(|| {
        catalog::registered()
            .into_iter()
            .filter_map(|r| {
                Regex::new(&r.pattern).ok().map(|regex| Definition {
                    keyword: r.keyword,
                    regex,
                    params: params_of(&r.defined_at),
                })
            })
            .collect()
    });
    let defs: &[Definition] = &DEFS;
    let mut report = Report::default();
    let files = match qalens_model::features::feature_paths(paths) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(Problem {
                at: e.at,
                message: e.message,
            });
            return report;
        }
    };
    let mut suggestions = std::collections::HashMap::new();
    let known = system.map(names::Known::of);
    // Claims name the components of the system the features run against (else the
    // reference system's).
    let reference = qalens_model::system::System::reference().ok();
    let components = system
        .or(reference.as_ref())
        .map(Components::of)
        .unwrap_or_default();
    let broker = system
        .or(reference.as_ref())
        .and_then(|s| s.qalens.broker.as_ref())
        .map(|b| b.service.clone());
    for file in files {
        report.files += 1;
        let path = file.display().to_string();
        let parsed = qalens_model::features::parse_unexpanded(&file)
            .and_then(|(f, text)| Ok((qalens_model::features::expand(f.clone())?, f, text)));
        let (feature, unexpanded, text) = match parsed {
            Ok(f) => f,
            Err(e) => {
                report.problems.push(Problem {
                    at: e.at,
                    message: e.message,
                });
                continue;
            }
        };
        let lines: Vec<&str> = text.lines().collect();
        lost::check(&path, &lines, &unexpanded, defs, &mut report.warnings);
        let scenarios = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
        let backgrounds = feature
            .background
            .iter()
            .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()));
        check_claims(&components, &lines, &path, &feature, &mut report);
        check_faults_are_claimed(&components, broker.as_deref(), &path, &feature, &mut report);
        for step in backgrounds.flat_map(|b| b.steps.iter()) {
            check_step(defs, &path, step, &mut suggestions, &mut report);
        }
        for scenario in scenarios {
            for step in &scenario.steps {
                check_step(defs, &path, step, &mut suggestions, &mut report);
            }
        }
        if let Some(known) = &known {
            names::check(known, &path, &feature, &mut report.problems);
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
        assert_eq!(problem.at, format!("{}:4:3", p.display()), "{problem}");
        assert!(
            problem.message.starts_with("cannot read `Nonsense here`"),
            "{problem}"
        );
    }

    #[test]
    fn a_fault_followed_by_blank_lines_is_named_at_its_own_line() {
        let p = write(
            "blank.feature",
            "Feature: f\n  Scenario: s\n    Given ok\n  Nonsense here\n\n\n  Scenario: t\n",
        );
        let report = check(std::slice::from_ref(&p));
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
        assert_eq!(report.problems[0].at, format!("{}:4:3", p.display()));
    }

    #[test]
    fn a_fifo_named_feature_is_refused_without_blocking() {
        let p = write("x.feature", "");
        std::fs::remove_file(&p).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(made.success());
        let report = check(std::slice::from_ref(&p));
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
        assert!(
            report.problems[0].message.contains("FIFO"),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn a_ragged_examples_row_is_a_warning() {
        let p = write(
            "cells.feature",
            "Feature: f\n  Scenario Outline: s\n    Given a free client \"<a>\"\n    Examples:\n      | a |\n      | 1 | 2 |\n      | 3 |\n",
        );
        let report = check(std::slice::from_ref(&p));
        let at: Vec<&str> = report.warnings.iter().map(|w| w.at.as_str()).collect();
        assert_eq!(at, [format!("{}:6", p.display())], "{report:#?}");
    }

    #[test]
    fn a_missing_path_is_a_problem() {
        let report = check(&[PathBuf::from("/no/such/features")]);
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].at, "/no/such/features");
        assert_eq!(report.problems[0].message, "no such file or directory");
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
    fn emptying_a_queue_or_counting_its_redeliveries_needs_the_broker_alone() {
        let p = write(
            "queue_state.feature",
            "@uses:rabbitmq\nFeature: f\n\n  Scenario: shares the broker\n    Given the queue \"jobs\" is empty\n    When the message \"x\" is published to the queue \"jobs\"\n    Then within 5 seconds the message was redelivered at least 2 times\n\n  @disrupts:rabbitmq\n  Scenario: holds it alone\n    Given the queue \"jobs\" is empty\n    Then within 5 seconds the message was redelivered at least 2 times\n\n  @serial\n  Scenario: holds everything\n    Given the queue \"jobs\" is empty\n",
        );
        let report = check(std::slice::from_ref(&p));
        let at: Vec<&str> = report.problems.iter().map(|p| p.at.as_str()).collect();
        let path = p.display().to_string();
        assert_eq!(
            at,
            [format!("{path}:5"), format!("{path}:7")],
            "{:#?}",
            report.problems
        );
        for problem in &report.problems {
            assert!(
                problem.message.contains("tag it `@disrupts:rabbitmq`"),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_bom_is_accepted_and_lost_text_is_a_warning_at_its_line() {
        let p = write(
            "lost.feature",
            "\u{feff}Feature: lost\n  Scenaro: one\n    Given a free client \"a\"\n\n  S\u{441}enario: two\n\n  Scenario: three\n    Givn a free client \"c\"\n    When the client sends GET \"/x\"\n\n  Rule: r\n    Given a free client \"d\"\n\n    Scenario: four\n",
        );
        let report = check(std::slice::from_ref(&p));
        assert!(report.problems.is_empty(), "{:#?}", report.problems);
        let at: Vec<String> = report.warnings.iter().map(|w| w.at.clone()).collect();
        let line = |n: u32| format!("{}:{n}", p.display());
        assert_eq!(
            at,
            [line(2), line(3), line(5), line(8), line(12), line(14)],
            "{:#?}",
            report.warnings
        );
        assert!(report.warnings[0].message.contains("misspelt keyword"));
        assert!(report.warnings[2].message.contains("look-alike"));
        assert!(
            report.warnings[3]
                .message
                .contains("misspelt keyword `Givn`")
        );
        assert!(
            report.warnings[4]
                .message
                .contains("no Scenario or Background")
        );
        assert!(report.warnings[5].message.contains("has no steps"));
    }

    #[test]
    fn a_number_beyond_its_steps_type_or_a_clock_too_far_is_a_problem() {
        let p = write(
            "range.feature",
            "Feature: f\n  @disrupts:gateway\n  Scenario: s\n    Given a free client \"a\"\n    When the clock of the gateway-1 container is 99999999999999 hours ahead\n    And the client sends 99999999999999999999999 GET requests to \"/x\" round-robin across the gateway replicas\n    And the client sends 5 GET requests to \"/x\" round-robin across the gateway replicas\n",
        );
        let report = check(std::slice::from_ref(&p));
        let at: Vec<String> = report.problems.iter().map(|w| w.at.clone()).collect();
        let line = |n: u32| format!("{}:{n}", p.display());
        assert_eq!(at, [line(5), line(6)], "{:#?}", report.problems);
        assert!(report.problems[0].message.contains("too far"));
        assert!(
            report.problems[1]
                .message
                .contains("takes a number from 0 to 18446744073709551615")
        );
    }

    #[test]
    fn big_outlines_and_many_undefined_steps_stay_fast() {
        let mut outline = String::from(
            "Feature: o\n  Scenario Outline: s\n    Given a free client \"<c>\"\n    Examples:\n      | c |\n",
        );
        for i in 0..20_000 {
            outline.push_str(&format!("      | c{i} |\n"));
        }
        let mut undefined = String::from("Feature: u\n  Scenario: s\n");
        for i in 0..10_000 {
            undefined.push_str(&format!(
                "    Given an undefined step number {i} nobody wrote\n"
            ));
        }
        undefined.push_str(&format!("    Given {}\n", "word ".repeat(60_000)));
        for (name, text, steps) in [
            ("outline.feature", outline, 20_000),
            ("undefined.feature", undefined, 10_001),
        ] {
            let p = write(name, &text);
            let started = std::time::Instant::now();
            let report = check(std::slice::from_ref(&p));
            // A debug build on a shared 2-core machine: generous, yet far below the
            // quadratic costs (37 s and 56 s) this guards against.
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{name}: {:?}",
                started.elapsed()
            );
            assert_eq!(report.steps, steps, "{name}");
        }
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
