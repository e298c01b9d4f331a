//! `qalens selftest`: runs the suite once against the correct reference system and once
//! per known defect, and reports which lenses caught which defect.
//!
//! A scenario that fails against the correct system is a false alarm; a defect that no
//! scenario catches is a blind spot. Either makes the self-test fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use anyhow::Context as _;

use crate::runner::{self, RunOptions};
use qalens_engine::scheduler::{Claim, Components, Scope};
use qalens_engine::topology::{Running, SwitchError, Topology, TopologyOptions, known_defects};
use qalens_model::system::System;
use qalens_report::progress::Summary;
use qalens_report::{ScenarioRecord, Verdict};

/// A scenario that failed in a variant: for a defect, one that caught it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Caught {
    pub(crate) lens: String,
    pub(crate) name: String,
    /// `path:line` of the scenario.
    pub(crate) location: String,
    /// The HTML report of the run it failed in, with its anchor
    /// (`selftest/<variant>-<phase>.html#scenario-...`), when `--html` wrote one.
    pub(crate) report: Option<String>,
}

/// One variant's verdict.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Variant {
    /// `correct` or the defect's name.
    pub(crate) name: String,
    /// The lens whose scenarios are meant to catch the defect (none for `correct`).
    pub(crate) lens: Option<String>,
    /// Scenarios that ran to a verdict (passed or failed).
    pub(crate) scenarios: usize,
    /// Scenarios stopped before their verdict because another one had already failed
    /// (fail-fast; [`qalens_engine::stop`]): neither passed nor failed.
    pub(crate) cancelled: usize,
    /// Failed scenarios by lens.
    pub(crate) failed: BTreeMap<String, Vec<String>>,
    /// The same, with where each one is.
    pub(crate) caught: Vec<Caught>,
    pub(crate) seconds: f64,
}

/// The name of the variant that runs the correct system.
pub(crate) const CORRECT: &str = "correct";

impl Variant {
    /// Whether it ran the correct system (every other variant runs a defect).
    pub(crate) fn is_correct(&self) -> bool {
        self.name == CORRECT
    }
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Matrix {
    /// Every defect ran every scenario (`--full`).
    pub(crate) full: bool,
    pub(crate) correct: Variant,
    pub(crate) defects: Vec<Variant>,
    pub(crate) false_alarms: Vec<String>,
    pub(crate) blind_spots: Vec<String>,
}

impl Matrix {
    pub(crate) fn passed(&self) -> bool {
        self.false_alarms.is_empty() && self.blind_spots.is_empty()
    }

    /// Whether `v`'s runs stopped at their first failing scenario (scenarios still
    /// running were cancelled), so the scenarios after it were not run: every defect's
    /// do unless `--full`; the correct system always runs every scenario.
    pub(crate) fn stopped_early(&self, v: &Variant) -> bool {
        !self.full && !v.is_correct()
    }

    /// A Markdown table: defect by lens, with the failing scenarios.
    pub(crate) fn markdown(&self) -> String {
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
            let verdict = if v.is_correct() {
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

/// One run of a variant: what it recorded, and where its HTML report is (relative to the
/// matrix page).
struct Phase {
    summary: Summary,
    report: Option<String>,
}

fn variant(
    name: &str,
    lens: Option<&str>,
    phases: &[Phase],
    started: std::time::Instant,
) -> Variant {
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut caught = Vec::new();
    for phase in phases {
        let summary = &phase.summary;
        for s in summary
            .scenarios
            .iter()
            .filter(|s| s.verdict() == Verdict::Failed)
        {
            failed
                .entry(s.lens.clone())
                .or_default()
                .push(s.name.clone());
            caught.push(Caught {
                lens: s.lens.clone(),
                name: s.name.clone(),
                location: s.location.clone(),
                report: phase
                    .report
                    .as_ref()
                    .map(|r| format!("{r}#{}", qalens_report::html::anchor(&s.location))),
            });
        }
        for e in &summary.parse_errors {
            failed
                .entry("parse-error".into())
                .or_default()
                .push(e.clone());
        }
    }
    Variant {
        name: name.to_string(),
        lens: lens.map(str::to_string),
        scenarios: phases
            .iter()
            .map(|p| p.summary.scenarios.len() - p.summary.cancelled())
            .sum(),
        cancelled: phases.iter().map(|p| p.summary.cancelled()).sum(),
        failed,
        caught,
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
/// time (`PUT /internal/defects` on each service: every defect of the reference system);
/// a defect the system refuses to switch (409) gets a topology of its own. The correct
/// system always runs every scenario. Unless `full`, a defect runs the scenarios of the
/// lens it targets first and stops at the first scenario that fails (scenarios still
/// running are cancelled, [`qalens_engine::stop`]); only when none of them fails do the other
/// lenses run, again until the first failure. After a variant that stopped a disruptor
/// halfway, the next one waits for the correct system to pass a canary ([`settle`]).
///
/// With `reports`, every run writes its HTML report into that directory
/// (`<variant>-<phase>.html`), so the matrix page can link each cell to the scenario in it.
pub(crate) async fn run(
    paths: Vec<PathBuf>,
    tags: Option<String>,
    defects: Vec<String>,
    full: bool,
    reports: Option<Reports>,
    system: Arc<System>,
) -> anyhow::Result<Matrix> {
    let known = known_defects(&qalens_model::images::refsys_binary()?)?;
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
    // Read once: every variant's runs and canaries share them.
    let contracts = qalens_engine::contracts::load_contracts(&system)?;
    let docker = runner::docker_swept().await?;
    let shared = runner::start(&docker, TopologyOptions::from_env(system)?, false).await?;
    if let Some(r) = &reports {
        std::fs::create_dir_all(&r.dir).with_context(|| format!("creating {}", r.dir.display()))?;
    }
    let outcome = matrix_on(
        &shared,
        contracts.as_ref(),
        &options,
        &targets,
        full,
        reports.as_ref(),
    )
    .await;
    let teardown = shared.teardown().await;
    let matrix = outcome?;
    teardown?;
    Ok(matrix)
}

fn report_variant(v: &Variant) {
    println!(
        "qalens selftest: {}: {} of {} scenarios failed{} ({:.0} s)",
        v.name,
        v.failed.values().map(Vec::len).sum::<usize>(),
        v.scenarios,
        match v.cancelled {
            0 => String::new(),
            n => format!(", {n} cancelled by the early stop"),
        },
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

/// Where the runs of a self-test write their HTML reports.
#[derive(Debug, Clone)]
pub(crate) struct Reports {
    pub(crate) dir: PathBuf,
    /// How the matrix page links to `dir` (`selftest/`).
    pub(crate) href: String,
}

/// Runs one variant's phases on `system` until one of them fails a scenario.
async fn caught_on(
    system: &Running,
    contracts: Option<&qalens_engine::contracts::RunContracts>,
    variant: &str,
    phases: &[RunOptions],
    reports: Option<&Reports>,
) -> anyhow::Result<Vec<Phase>> {
    let mut done = Vec::new();
    for (i, options) in phases.iter().enumerate() {
        let file = format!("{variant}-{}.html", i + 1);
        let options = RunOptions {
            html: reports.map(|r| r.dir.join(&file)),
            ..options.clone()
        };
        let summary = runner::run_on(system, contracts.cloned(), &options).await?;
        let caught = summary.failed() > 0 || !summary.parse_errors.is_empty();
        done.push(Phase {
            summary,
            report: reports.map(|r| format!("{}{file}", r.href)),
        });
        if caught {
            break;
        }
    }
    Ok(done)
}

/// The scenario that shows the correct system works again after a variant: of the
/// correct run's scenarios that passed and disrupt nothing, the one whose `@uses:` claim
/// names the most components (it goes through most of the system), the quickest of
/// those; else the quickest of all.
struct Canary {
    key: String,
    name: String,
}

fn canary(components: &Components, correct: &Summary) -> Option<Canary> {
    let candidates = correct
        .scenarios
        .iter()
        .filter(|s| s.verdict() == Verdict::Passed && !disrupts(components, s));
    // How many components its `@uses:` tags name (0 without one: it uses everything).
    let breadth = |s: &ScenarioRecord| match claim_of(components, s).uses {
        Scope::Only(components) => components.len(),
        Scope::All => 0,
    };
    candidates
        .clone()
        .filter(|s| breadth(s) > 0)
        .min_by_key(|s| (std::cmp::Reverse(breadth(s)), s.duration()))
        .or_else(|| candidates.min_by_key(|s| s.duration()))
        .map(|s| Canary {
            key: crate::shard::key(Some(std::path::Path::new(&s.path)), s.line),
            name: s.name.clone(),
        })
}

/// Whether a variant's runs stopped a scenario that disrupts components before its end
/// (it failed or was cancelled after it started), so the recovery checks it ends with
/// did not run: the next variant must not start on a system still recovering, or an
/// unrelated failure could pass for its catch.
fn left_unsettled(components: &Components, phases: &[Phase]) -> bool {
    phases.iter().flat_map(|p| &p.summary.scenarios).any(|s| {
        s.verdict() != Verdict::Passed && s.hook_failure.is_none() && disrupts(components, s)
    })
}

/// The claim a scenario's tags make, read as the scheduler reads them.
fn claim_of(components: &Components, s: &ScenarioRecord) -> Claim {
    components.claim_or_everything(&s.tags)
}

/// Whether a scenario claims to disrupt a component (`@disrupts:`, `@serial`).
fn disrupts(components: &Components, s: &ScenarioRecord) -> bool {
    claim_of(components, s).is_disruptor()
}

/// How long the correct system may take to pass the canary again.
const SETTLE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs the canary against the correct system until it passes (see [`left_unsettled`]).
async fn settle(
    system: &Running,
    contracts: Option<&qalens_engine::contracts::RunContracts>,
    options: &RunOptions,
    canary: &Canary,
    after: &str,
) -> anyhow::Result<()> {
    println!(
        "qalens selftest: after {after}, waiting until the correct system passes {:?} again",
        canary.name
    );
    let started = std::time::Instant::now();
    let probe = RunOptions {
        tags: None,
        only: Some(BTreeSet::from([canary.key.clone()])),
        ..RunOptions::new(options.paths.clone())
    };
    qalens_engine::wait::until(SETTLE_DEADLINE, || async {
        let summary = runner::run_on(system, contracts.cloned(), &probe)
            .await
            .map_err(|e| format!("{e:#}"))?;
        if summary.success() {
            return Ok(Some(()));
        }
        Err(summary
            .scenarios
            .iter()
            .find_map(|s| s.failure())
            .unwrap_or_else(|| "it did not run".into()))
    })
    .await
    .map_err(|seen| {
        anyhow::anyhow!(
            "the correct system did not pass {:?} again within {SETTLE_DEADLINE:?} after \
             {after}: {seen}",
            canary.name
        )
    })?;
    println!(
        "qalens selftest: settled after {after} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn matrix_on(
    shared: &Topology,
    contracts: Option<&qalens_engine::contracts::RunContracts>,
    options: &RunOptions,
    targets: &[Target],
    full: bool,
    reports: Option<&Reports>,
) -> anyhow::Result<Matrix> {
    println!("qalens selftest: variant {CORRECT}");
    let started = std::time::Instant::now();
    let runs = caught_on(
        shared,
        contracts,
        CORRECT,
        std::slice::from_ref(options),
        reports,
    )
    .await?;
    let correct = variant(CORRECT, None, &runs, started);
    report_variant(&correct);
    let components = Components::of(shared.system());
    let canary = runs.first().and_then(|p| canary(&components, &p.summary));
    let mut variants = vec![];
    // The variant after which the shared topology must settle before it serves again:
    // settled when the next variant starts, so never after the last one.
    let mut unsettled_after: Option<String> = None;
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
        let variant_options = RunOptions {
            defects: one.to_vec(),
            ..options.clone()
        };
        let phases = phases(&variant_options, target.lens.as_deref(), full);
        if let (Some(after), Some(canary)) = (unsettled_after.take(), canary.as_ref()) {
            settle(shared, contracts, options, canary, &after).await?;
        }
        let runs = match shared.switch_defects(one).await {
            Ok(()) => {
                let summary = caught_on(shared, contracts, d, &phases, reports).await;
                shared.switch_defects(&[]).await?;
                let summary = summary?;
                if left_unsettled(&components, &summary) {
                    unsettled_after = Some(d.clone());
                }
                summary
            }
            Err(SwitchError::NeedsRestart(_)) => {
                let topology =
                    TopologyOptions::from_env(shared.system().clone())?.with_defects(one)?;
                let docker = shared.docker();
                let own = runner::start(docker, topology, false).await?;
                let summary = caught_on(&own, contracts, d, &phases, reports).await;
                let teardown = own.teardown().await;
                let summary = summary?;
                teardown?;
                summary
            }
            Err(e) => return Err(e.into()),
        };
        let v = variant(d, target.lens.as_deref(), &runs, started);
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
        full,
        correct,
        defects: variants,
        false_alarms,
        blind_spots,
    })
}

pub(crate) mod matrix;
#[cfg(test)]
mod tests;
