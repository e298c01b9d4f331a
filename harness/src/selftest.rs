//! `qalens selftest`: runs the suite once against the correct reference system and once
//! per known defect, and reports which lenses caught which defect.
//!
//! A scenario that fails against the correct system is a false alarm; a defect that no
//! scenario catches is a blind spot. Either makes the self-test fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::runner::{self, RunOptions};
use crate::topology::{TopologyOptions, known_defects};

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

async fn run_variant(
    name: &str,
    paths: &[PathBuf],
    tags: &Option<String>,
    defects: &[String],
) -> anyhow::Result<Variant> {
    println!("qalens selftest: variant {name}");
    let started = std::time::Instant::now();
    let topology = TopologyOptions::from_env()?.with_defects(defects)?;
    let report = runner::run(
        RunOptions {
            paths: paths.to_vec(),
            tags: tags.clone(),
            junit: None,
            json: None,
            concurrency: 16,
        },
        topology,
    )
    .await?;
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in report.summary.scenarios.iter().filter(|s| !s.passed) {
        failed
            .entry(s.lens.clone())
            .or_default()
            .push(s.name.clone());
    }
    for e in &report.summary.parse_errors {
        failed
            .entry("parse-error".into())
            .or_default()
            .push(e.clone());
    }
    Ok(Variant {
        name: name.to_string(),
        scenarios: report.summary.scenarios.len(),
        failed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs the matrix. `defects` empty means every known defect.
pub async fn run(
    paths: Vec<PathBuf>,
    tags: Option<String>,
    defects: Vec<String>,
) -> anyhow::Result<Matrix> {
    let defects = if defects.is_empty() {
        known_defects(&crate::images::refsys_binary()?)?
    } else {
        defects
    };
    let correct = run_variant("correct", &paths, &tags, &[]).await?;
    let mut variants = vec![];
    for d in &defects {
        variants.push(run_variant(d, &paths, &tags, std::slice::from_ref(d)).await?);
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
