//! `qalens selftest`: runs the suite once against the correct reference system and once
//! per known defect, and reports which lenses caught which defect.
//!
//! A scenario that fails against the correct system is a false alarm; a defect that no
//! scenario catches is a blind spot. Either makes the self-test fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use anyhow::Context as _;

use crate::progress::Summary;
use crate::runner::{self, RunOptions};
use crate::topology::{Running, SwitchError, Topology, TopologyOptions, known_defects};

/// One variant's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// `correct` or the defect's name.
    pub name: String,
    pub scenarios: usize,
    /// Failed scenarios by lens.
    pub failed: BTreeMap<String, Vec<String>>,
    pub seconds: f64,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub correct: Variant,
    pub defects: Vec<Variant>,
    pub false_alarms: Vec<String>,
    pub blind_spots: Vec<String>,
}

impl Matrix {
    pub fn passed(&self) -> bool {
        self.false_alarms.is_empty() && self.blind_spots.is_empty()
    }

    /// A Markdown table: defect by lens, with the failing scenarios.
    pub fn markdown(&self) -> String {
        let lenses: BTreeSet<&String> = self
            .defects
            .iter()
            .flat_map(|v| v.failed.keys())
            .chain(self.correct.failed.keys())
            .collect();
        let mut out = String::from("| variant |");
        for l in &lenses {
            out.push_str(&format!(" {l} |"));
        }
        out.push_str(" verdict |\n|---|");
        for _ in &lenses {
            out.push_str("---|");
        }
        out.push_str("---|\n");
        for v in std::iter::once(&self.correct).chain(&self.defects) {
            out.push_str(&format!("| {} |", v.name));
            for l in &lenses {
                match v.failed.get(*l) {
                    Some(names) => out.push_str(&format!(" {} |", names.join("; "))),
                    None => out.push_str(" |"),
                }
            }
            let verdict = if v.name == "correct" {
                if v.failed.is_empty() {
                    "all passed"
                } else {
                    "FALSE ALARM"
                }
            } else if v.failed.is_empty() {
                "BLIND SPOT"
            } else {
                "caught"
            };
            out.push_str(&format!(" {verdict} |\n"));
        }
        out
    }
}

fn variant(name: &str, summary: &Summary, started: std::time::Instant) -> Variant {
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in summary.scenarios.iter().filter(|s| !s.passed()) {
        failed
            .entry(s.lens.clone())
            .or_default()
            .push(s.name.clone());
    }
    for e in &summary.parse_errors {
        failed
            .entry("parse-error".into())
            .or_default()
            .push(e.clone());
    }
    Variant {
        name: name.to_string(),
        scenarios: summary.scenarios.len(),
        failed,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// A defect to run, with the lens whose scenarios run first.
#[derive(Debug, Clone)]
struct Target {
    name: String,
    lens: Option<String>,
}

/// Runs the matrix. `defects` empty means every known defect.
///
/// One topology serves the correct system and every defect that can be switched at run
/// time (`PUT /internal/defects` on each service); a defect that acts at start-up gets a
/// topology of its own. The correct system always runs every scenario. Unless `full`, a
/// defect runs the scenarios of the lens it targets first and stops at the first
/// scenario that fails (scenarios already running finish); only when none of them
/// fails do the other lenses run, again until the first failure.
pub async fn run(
    paths: Vec<PathBuf>,
    tags: Option<String>,
    defects: Vec<String>,
    full: bool,
) -> anyhow::Result<Matrix> {
    let known = known_defects(&crate::images::refsys_binary()?)?;
    let targets = if defects.is_empty() {
        known
            .into_iter()
            .map(|d| Target {
                name: d.name,
                lens: d.lens,
            })
            .collect()
    } else {
        defects
            .into_iter()
            .map(|name| {
                let found = known.iter().find(|k| k.name == name).with_context(|| {
                    let names: Vec<&str> = known.iter().map(|k| k.name.as_str()).collect();
                    format!(
                        "unknown defect {name:?}; known defects: {}",
                        names.join(", ")
                    )
                })?;
                Ok(Target {
                    lens: found.lens.clone(),
                    name,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let options = RunOptions {
        tags,
        ..RunOptions::new(paths)
    };
    // Bad arguments fail before anything starts.
    options
        .tags
        .as_deref()
        .map(runner::parse_tags)
        .transpose()?;
    let docker = runner::docker_swept().await?;
    let shared = runner::start(&docker, TopologyOptions::from_env()?, false).await?;
    let outcome = matrix_on(&shared, &options, &targets, full).await;
    let teardown = shared.teardown().await;
    let matrix = outcome?;
    teardown?;
    Ok(matrix)
}

fn report_variant(v: &Variant) {
    println!(
        "qalens selftest: {}: {} of {} scenarios failed ({:.0} s)",
        v.name,
        v.failed.values().map(Vec::len).sum::<usize>(),
        v.scenarios,
        v.seconds
    );
}

/// `user and part`, or `part` alone.
fn and_tags(user: Option<&str>, part: &str) -> String {
    match user {
        Some(u) => format!("({u}) and ({part})"),
        None => part.to_string(),
    }
}

/// The runs one defect gets: its lens first and then the rest, each stopping at the
/// first failure; or, with `full`, every scenario once.
fn phases(options: &RunOptions, lens: Option<&str>, full: bool) -> Vec<RunOptions> {
    if full {
        return vec![options.clone()];
    }
    let user = options.tags.as_deref();
    let phase = |tags: Option<String>| RunOptions {
        tags,
        fail_fast: true,
        ..options.clone()
    };
    match lens {
        None => vec![phase(options.tags.clone())],
        Some(lens) => vec![
            phase(Some(and_tags(user, &format!("@{lens}")))),
            phase(Some(and_tags(user, &format!("not @{lens}")))),
        ],
    }
}

/// Runs one defect's phases on `system` until one of them fails a scenario.
async fn caught_on(system: &Running, phases: &[RunOptions]) -> anyhow::Result<Summary> {
    let mut total = Summary::default();
    for options in phases {
        let summary = runner::run_on(system, options).await?;
        let caught = summary.failed() > 0 || !summary.parse_errors.is_empty();
        total.merge(summary);
        if caught {
            break;
        }
    }
    Ok(total)
}

async fn matrix_on(
    shared: &Topology,
    options: &RunOptions,
    targets: &[Target],
    full: bool,
) -> anyhow::Result<Matrix> {
    println!("qalens selftest: variant correct");
    let started = std::time::Instant::now();
    let correct = variant("correct", &runner::run_on(shared, options).await?, started);
    report_variant(&correct);
    let mut variants = vec![];
    for target in targets {
        let d = &target.name;
        println!(
            "qalens selftest: variant {d}{}",
            match (&target.lens, full) {
                (Some(lens), false) => format!(" (@{lens} first, until a scenario fails)"),
                _ => String::new(),
            }
        );
        let started = std::time::Instant::now();
        let one = std::slice::from_ref(d);
        let revived = shared.revive().await?;
        if !revived.is_empty() {
            println!(
                "qalens selftest: restarted {} after the last variant",
                revived.join(", ")
            );
        }
        let phases = phases(options, target.lens.as_deref(), full);
        let summary = match shared.switch_defects(one).await {
            Ok(()) => {
                let summary = caught_on(shared, &phases).await;
                shared.switch_defects(&[]).await?;
                summary?
            }
            Err(SwitchError::NeedsRestart(_)) => {
                let topology = TopologyOptions::from_env()?.with_defects(one)?;
                let docker = shared.docker();
                let own = runner::start(docker, topology, false).await?;
                let summary = caught_on(&own, &phases).await;
                let teardown = own.teardown().await;
                let summary = summary?;
                teardown?;
                summary
            }
            Err(e) => return Err(e.into()),
        };
        let v = variant(d, &summary, started);
        report_variant(&v);
        variants.push(v);
    }
    let false_alarms = correct.failed.values().flatten().cloned().collect();
    let blind_spots = variants
        .iter()
        .filter(|v| v.failed.is_empty())
        .map(|v| v.name.clone())
        .collect();
    Ok(Matrix {
        correct,
        defects: variants,
        false_alarms,
        blind_spots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_defect_runs_its_lens_first_then_the_rest_each_stopping_at_a_failure() {
        let options = RunOptions::new(vec![PathBuf::from("features")]);
        let p = phases(&options, Some("rate-limit"), false);
        let tags: Vec<_> = p.iter().map(|o| o.tags.clone().unwrap()).collect();
        assert_eq!(tags, ["@rate-limit", "not @rate-limit"]);
        assert!(p.iter().all(|o| o.fail_fast));
        for t in &tags {
            runner::parse_tags(t).unwrap();
        }

        let narrowed = RunOptions {
            tags: Some("@orders or @rate-limit".into()),
            ..options.clone()
        };
        let p = phases(&narrowed, Some("rate-limit"), false);
        assert_eq!(
            p[1].tags.as_deref(),
            Some("(@orders or @rate-limit) and (not @rate-limit)")
        );
        runner::parse_tags(p[1].tags.as_deref().unwrap()).unwrap();

        let p = phases(&options, Some("rate-limit"), true);
        assert_eq!(p.len(), 1);
        assert!(!p[0].fail_fast && p[0].tags.is_none());
        let p = phases(&options, None, false);
        assert_eq!(p.len(), 1);
        assert!(p[0].fail_fast && p[0].tags.is_none());
    }
}
