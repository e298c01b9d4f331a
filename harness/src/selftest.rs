//! `qalens selftest`: runs the suite once against the correct reference system and once
//! per known defect, and reports which lenses caught which defect.
//!
//! A scenario that fails against the correct system is a false alarm; a defect that no
//! scenario catches is a blind spot. Either makes the self-test fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use testcontainers::bollard::Docker;

use crate::progress::Summary;
use crate::runner::{self, RunOptions};
use crate::topology::{SwitchError, Topology, TopologyOptions, known_defects};

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
    for s in summary.scenarios.iter().filter(|s| !s.passed) {
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

/// Runs the matrix. `defects` empty means every known defect.
///
/// One topology serves the correct system and every defect that can be switched at run
/// time (`PUT /internal/defects` on each service); a defect that acts at start-up gets a
/// topology of its own.
pub async fn run(
    paths: Vec<PathBuf>,
    tags: Option<String>,
    defects: Vec<String>,
) -> anyhow::Result<Matrix> {
    let defects = if defects.is_empty() {
        known_defects(&crate::images::refsys_binary()?)?
            .into_iter()
            .map(|d| d.name)
            .collect()
    } else {
        defects
    };
    let options = RunOptions {
        paths,
        tags,
        junit: None,
        json: None,
        concurrency: 16,
        keep_on_failure: false,
        shuffle: None,
    };
    let docker = runner::docker_swept().await?;
    let shared = runner::start(&docker, TopologyOptions::from_env()?).await?;
    let outcome = matrix_on(&docker, &shared, &options, &defects).await;
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

async fn matrix_on(
    docker: &Docker,
    shared: &Topology,
    options: &RunOptions,
    defects: &[String],
) -> anyhow::Result<Matrix> {
    println!("qalens selftest: variant correct");
    let started = std::time::Instant::now();
    let correct = variant(
        "correct",
        &runner::run_on(docker, shared, options).await?,
        started,
    );
    report_variant(&correct);
    let mut variants = vec![];
    for d in defects {
        println!("qalens selftest: variant {d}");
        let started = std::time::Instant::now();
        let one = std::slice::from_ref(d);
        let revived = shared.revive().await?;
        if !revived.is_empty() {
            println!(
                "qalens selftest: restarted {} after the last variant",
                revived.join(", ")
            );
        }
        let summary = match shared.switch_defects(one).await {
            Ok(()) => {
                let summary = runner::run_on(docker, shared, options).await;
                shared.switch_defects(&[]).await?;
                summary?
            }
            Err(SwitchError::NeedsRestart(_)) => {
                let topology = TopologyOptions::from_env()?.with_defects(one)?;
                runner::run(options.clone(), topology).await?.summary
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
