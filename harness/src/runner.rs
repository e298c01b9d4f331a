//! `qalens run`: sweep stale resources, start the topology once, run the scenarios
//! concurrently against it, write the reports, tear everything down.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::runner::ScenarioType;
use cucumber::writer::Ext as _;
use cucumber::{World as _, writer};

use crate::shard::{self, Shard};
use qalens_engine::cleanup;
use qalens_engine::clients::amqp;
use qalens_engine::context::{Run, RunContext};
use qalens_engine::contracts;
use qalens_engine::scheduler::Scheduler;
use qalens_engine::stop::{self, Stop};
use qalens_engine::topology::{Running, SwitchError, Topology, TopologyOptions};
use qalens_model::features::FeatureFiles;
use qalens_report::attach::AttachLogs;
use qalens_report::progress::Summary;
use qalens_report::retime::Retime;
use qalens_report::verdicts::CancelledAsSkipped;
use qalens_report::{self as report, Recorder, Verdict};
use qalens_steps::world::QaWorld;

/// How long the purge before a scenario that holds the broker alone waits for a broker
/// that does not answer yet (started again by an earlier scenario's heal, it boots while
/// the next scenario starts).
const QUEUE_RESET: Duration = Duration::from_secs(30);

/// The feature files when a command is given none.
pub(crate) const DEFAULT_FEATURES: &str = "features";

/// What `qalens run` was asked to do. Its fields are `qalens run`'s flags (clap shows
/// their docs as the help); the self-test builds its runs' options from [`RunOptions::new`].
#[derive(clap::Args, Debug, Clone)]
pub struct RunOptions {
    /// Feature files or directories (default: features).
    #[arg(default_value = DEFAULT_FEATURES, hide_default_value = true)]
    pub paths: Vec<PathBuf>,
    /// Cucumber tag expression, e.g. "@rate-limit and not @serial".
    #[arg(long)]
    pub tags: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a Cucumber JSON report here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report here (summary, timeline with faults, steps);
    /// given twice, the last one wins (`ci/scenarios` passes a default).
    #[arg(long, value_name = "PATH", overrides_with = "html")]
    pub html: Option<PathBuf>,
    /// Write Cucumber Messages (NDJSON) here, for the Cucumber ecosystem's tools (the
    /// official HTML formatter, Allure); given twice, the last one wins.
    #[arg(long, value_name = "PATH", overrides_with = "messages")]
    pub messages: Option<PathBuf>,
    // The scheduler (`qalens_engine::scheduler`) keeps apart the scenarios whose claims
    // conflict.
    /// Scenarios run at once at most (claim tags @uses:, @disrupts: and @serial keep
    /// apart scenarios that disturb each other).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    // Switched on for the whole run, and shown in the HTML report.
    /// Switch on a known defect of the reference system (repeatable); see `refsys defects`.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<String>,
    // The topology must have been started with the `qalens.keep` label, so no sweep
    // removes it.
    /// When a scenario fails, leave the topology running (labelled) and print its
    /// endpoints and the command that removes it.
    #[arg(long)]
    pub keep_on_failure: bool,
    // `None`: file order; `Some(None)`: shuffled by a seed each run draws.
    /// Run features, rules and scenarios in a shuffled order, to prove they do not
    /// depend on each other; the seed is printed, and `--shuffle SEED` repeats an order.
    #[arg(long, value_name = "SEED")]
    pub shuffle: Option<Option<u64>>,
    /// Run only shard K of N (e.g. 2/4): a deterministic share of the scenarios; the N
    /// shards together run exactly the suite.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Balance the shards by the scenario durations in this JUnit report of an
    /// earlier run (default: by count).
    #[arg(long, value_name = "JUNIT", requires = "shard")]
    pub shard_durations: Option<PathBuf>,
    /// Print how long each component took to start.
    #[arg(long)]
    pub timings: bool,
    // As the self-test's early stop: both are recorded as cancelled (`qalens_engine::stop`).
    /// Stop at the first failing scenario: scenarios not yet started are not run and
    /// those still waiting on a condition are cancelled (reported as cancelled, never
    /// as passed), as the self-test does for each defect.
    #[arg(long)]
    pub fail_fast: bool,
    // Not a flag: run only these scenarios (`shard::key`s, `path:line`), of those
    // selected; the self-test's canary runs one.
    #[arg(skip)]
    pub only: Option<BTreeSet<String>>,
}

impl RunOptions {
    /// Every scenario under `paths`, in file order, concurrently (16 at once).
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Self {
            paths,
            tags: None,
            junit: None,
            json: None,
            html: None,
            messages: None,
            defects: Vec::new(),
            concurrency: 16,
            keep_on_failure: false,
            shuffle: None,
            shard: None,
            shard_durations: None,
            fail_fast: false,
            only: None,
            timings: false,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub(crate) struct RunReport {
    pub(crate) run_id: String,
    pub(crate) summary: Summary,
    pub(crate) topology_start: Duration,
    pub(crate) scenarios_time: Duration,
    pub(crate) teardown_time: Duration,
}

/// A seed for `--shuffle` without one: different on every run.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Spread nearby clock values apart, so two runs started together differ.
    nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id())
}

/// A tag expression (`--tags`) cucumber cannot read.
#[derive(Debug, thiserror::Error)]
#[error("invalid tag expression {expr:?}: {reason}")]
pub(crate) struct InvalidTags {
    expr: String,
    reason: String,
}

/// Parses a cucumber tag expression (`@checkout and not @serial`; tags keep their `@`).
pub(crate) fn parse_tags(expr: &str) -> Result<TagOperation, InvalidTags> {
    expr.parse::<TagOperation>().map_err(|e| InvalidTags {
        expr: expr.to_string(),
        reason: e.to_string(),
    })
}

fn create_report(path: &Option<PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    match path {
        None => Ok(Box::new(std::io::sink())),
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating report directory {}", dir.display()))?;
            }
            let f = std::fs::File::create(p)
                .with_context(|| format!("creating report {}", p.display()))?;
            Ok(Box::new(f))
        }
    }
}

/// Runs the features against a topology with run id `options.run_id`.
///
/// The topology is torn down before this returns, on success and on error; a caller
/// that drops this future early (a signal) must remove the run's resources by label
/// ([`cleanup::remove_run`]).
pub(crate) async fn run(
    options: RunOptions,
    topology: TopologyOptions,
) -> anyhow::Result<RunReport> {
    // Bad arguments fail before anything starts.
    options.tags.as_deref().map(parse_tags).transpose()?;
    let contracts = contracts::load_contracts(&topology.system)?;
    let docker = docker_swept().await?;
    let run_id = topology.run_id.clone();
    let topo = start(&docker, topology, options.timings).await?;
    if std::env::var_os("QALENS_PANIC_AFTER_TOPOLOGY").is_some() {
        // Test hook: proves that a harness crash still removes every container.
        panic!("QALENS_PANIC_AFTER_TOPOLOGY is set: simulated harness crash");
    }

    let topology_start = topo.started_in();
    let scenarios_started = Instant::now();
    let outcome = run_on(&topo, contracts, &options).await;
    let scenarios_time = scenarios_started.elapsed();

    if let Ok(summary) = &outcome
        && !summary.success()
    {
        save_logs(&topo, &options).await;
        if options.keep_on_failure {
            let endpoints = topo.current_endpoints().await;
            topo.detach();
            if let Ok(e) = endpoints {
                println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default());
            }
            println!(
                "qalens: the topology {run_id} was kept for inspection; remove it with `qalens down {run_id}`"
            );
            return Ok(RunReport {
                run_id,
                summary: outcome?,
                topology_start,
                scenarios_time,
                teardown_time: Duration::ZERO,
            });
        }
    }
    let teardown_started = Instant::now();
    let teardown = topo.teardown().await;
    let teardown_time = teardown_started.elapsed();
    let summary = outcome?;
    teardown?;
    Ok(RunReport {
        run_id,
        summary,
        topology_start,
        scenarios_time,
        teardown_time,
    })
}

/// Runs the features against a topology that is already running (`qalens up --detach`):
/// nothing is started or removed. The options' defects are switched on for the run and
/// off again afterwards, whatever the outcome; faults are healed after each scenario as
/// in any run.
pub(crate) async fn run_attached(
    options: RunOptions,
    run_id: &str,
    system: Arc<qalens_model::system::System>,
) -> anyhow::Result<RunReport> {
    let defects = &options.defects;
    options.tags.as_deref().map(parse_tags).transpose()?;
    let docker = cleanup::docker().await?;
    let attached = Instant::now();
    let contracts = contracts::load_contracts(&system)?;
    let system = Running::attach(&docker, run_id, system).await?;
    println!(
        "qalens: attached to the running topology {run_id} in {:.1} s",
        attached.elapsed().as_secs_f64()
    );
    if !defects.is_empty() {
        system.switch_defects(defects).await.map_err(|e| match e {
            SwitchError::NeedsRestart(why) => anyhow::anyhow!(
                "{why}: a defect that acts at start-up cannot be switched on in a running \
                 topology; run without --attach"
            ),
            other => other.into(),
        })?;
    }
    let scenarios_started = Instant::now();
    let outcome = run_on(&system, contracts, &options).await;
    let scenarios_time = scenarios_started.elapsed();
    if !defects.is_empty() {
        system
            .switch_defects(&[])
            .await
            .context("switching the run's defects off again")?;
    }
    let summary = outcome?;
    if !summary.success() {
        save_logs(&system, &options).await;
    }
    Ok(RunReport {
        run_id: run_id.to_string(),
        summary,
        topology_start: Duration::ZERO,
        scenarios_time,
        teardown_time: Duration::ZERO,
    })
}

/// Where a failed run's component logs go ([`save_logs`] adds `<run id>/`):
/// `$QALENS_LOG_DIR` (`log_dir`), else a `logs` folder beside the first report the run
/// writes (`--html`, `--junit`, `--json`, `--messages`), else `qalens-logs` in the
/// system's temporary folder. Never the current directory's `target/`, which is nobody's
/// output folder when qalens runs from another project.
fn logs_dir(options: &RunOptions, log_dir: Option<std::ffi::OsString>) -> PathBuf {
    if let Some(dir) = log_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let reports = [
        &options.html,
        &options.junit,
        &options.json,
        &options.messages,
    ];
    match reports.into_iter().flatten().next() {
        Some(report) => report
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
            .join("logs"),
        None => std::env::temp_dir().join("qalens-logs"),
    }
}

/// Writes every component's logs to [`logs_dir`]`/<run id>/` so a failed run can be
/// diagnosed after its teardown.
async fn save_logs(system: &Running, options: &RunOptions) {
    let base = logs_dir(options, std::env::var_os("QALENS_LOG_DIR"));
    let dir = base.join(system.run_id());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("qalens: cannot write logs to {}: {e}", dir.display());
        return;
    }
    for c in system.components() {
        let text = system.logs(&c, 5000).await;
        let _ = std::fs::write(dir.join(format!("{c}.log")), text);
    }
    println!(
        "qalens: component logs of the failed run are in {}",
        dir.display()
    );
}

/// A Docker client, after removing what dead runs left behind.
pub(crate) async fn docker_swept() -> anyhow::Result<testcontainers::bollard::Docker> {
    let docker = cleanup::docker().await?;
    sweep_quietly(&docker).await;
    Ok(docker)
}

/// Removes what dead runs left behind, saying so; a leftover the engine refuses to
/// remove is reported, not fatal: it belongs to another run, not to this one.
pub(crate) async fn sweep_quietly(docker: &testcontainers::bollard::Docker) {
    match cleanup::sweep_stale(docker).await {
        Ok(swept) if !swept.is_empty() => println!(
            "qalens: removed leftovers of dead runs: {}",
            swept.join(", ")
        ),
        Ok(_) => {}
        Err(e) => eprintln!(
            "qalens: warning: could not remove the leftovers of a dead run ({e:#}); \
             `qalens sweep` tries again"
        ),
    }
}

/// Starts a topology, saying so.
pub(crate) async fn start(
    docker: &testcontainers::bollard::Docker,
    topology: TopologyOptions,
    timings: bool,
) -> anyhow::Result<Topology> {
    let run_id = topology.run_id.clone();
    println!("qalens: starting topology {run_id} ...");
    let topo = Topology::start(docker, topology).await?;
    let entry = match topo.endpoints().gateway.as_str() {
        "" => "no entry point: the system file has no x-qalens.entry".to_string(),
        url => format!("gateway {url}"),
    };
    println!(
        "qalens: topology {run_id} started in {:.1} s ({entry})",
        topo.started_in().as_secs_f64(),
    );
    if timings {
        let mut timings = topo.timings().to_vec();
        timings.sort_by_key(|t| std::cmp::Reverse(t.1));
        let line: Vec<String> = timings
            .iter()
            .map(|(c, d)| format!("{c} {:.1}s", d.as_secs_f64()))
            .collect();
        println!("qalens: ready after: {}", line.join(", "));
    }
    Ok(topo)
}

/// Runs the features against a running topology (which stays up) and writes the reports.
/// `contracts` are the system file's, read once per run ([`contracts::load_contracts`]) and
/// shared by every scenario and every `run_on` of the run.
pub(crate) async fn run_on(
    system: &Running,
    contracts: Option<contracts::RunContracts>,
    options: &RunOptions,
) -> anyhow::Result<Summary> {
    let tags = options.tags.as_deref().map(parse_tags).transpose()?;
    // Drawn here, once: the order, the console and the HTML report show the same seed.
    let seed = options.shuffle.map(|seed| seed.unwrap_or_else(random_seed));
    let selected = match options.shard {
        None => None,
        Some(shard) => Some(shard_keys(options, tags.as_ref(), shard)?),
    };
    let selected = match (selected, &options.only) {
        (selected, None) => selected,
        (None, Some(only)) => Some(only.clone()),
        (Some(shard), Some(only)) => Some(shard.intersection(only).cloned().collect()),
    };
    let junit = create_report(&options.junit)?;
    let json = create_report(&options.json)?;
    let mut html = create_report(&options.html)?;
    let mut messages = create_report(&options.messages)?;
    let summary = Arc::new(Mutex::new(Summary::default()));
    let started = SystemTime::now();
    let reports = Reports {
        junit,
        json,
        recorder: Recorder::new(summary.clone()),
    };
    let faults = run_scenarios(system, contracts, options, seed, tags, selected, reports).await?;
    let finished = SystemTime::now();
    let summary = summary.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(path) = &options.html {
        let mut scenarios = summary.scenarios.clone();
        scenarios.sort_by_key(|s| s.started);
        let info = report::html::RunInfo {
            run_id: system.run_id().to_string(),
            seed,
            shard: options.shard.map(|s| s.to_string()),
            tags: options.tags.clone(),
            defects: options.defects.clone(),
            parse_errors: summary.parse_errors.clone(),
            components: qalens_engine::scheduler::Components::of(system.system()),
        };
        html.write_all(report::html::render(&info, &scenarios, &faults).as_bytes())
            .and_then(|()| html.flush())
            .with_context(|| format!("writing the HTML report {}", path.display()))?;
        println!("qalens: HTML report in {}", path.display());
    }
    if let Some(path) = &options.messages {
        let facts = report::messages::RunFacts {
            started,
            finished,
            success: summary.success(),
            parse_errors: summary.parse_errors.clone(),
        };
        let ndjson = report::messages::render(
            &facts,
            &summary.scenarios,
            &report::messages::sources(&summary.scenarios),
            &report::messages::Definition::all(),
        );
        messages
            .write_all(ndjson.as_bytes())
            .and_then(|()| messages.flush())
            .with_context(|| format!("writing the Cucumber Messages {}", path.display()))?;
        println!("qalens: Cucumber Messages in {}", path.display());
    }
    Ok(summary)
}

/// The keys of the scenarios in `shard`, out of those the paths and tags select.
fn shard_keys(
    options: &RunOptions,
    tags: Option<&TagOperation>,
    shard: Shard,
) -> anyhow::Result<BTreeSet<String>> {
    let all = shard::scenario_keys(&options.paths, tags);
    let durations = match &options.shard_durations {
        None => Default::default(),
        Some(p) => shard::durations_from_junit(
            &std::fs::read_to_string(p)
                .with_context(|| format!("reading the durations in {}", p.display()))?,
        ),
    };
    let mine = shard::plan(&all, shard.total, &durations).swap_remove(shard.index - 1);
    println!(
        "qalens: shard {shard}: {} of {} scenarios{}",
        mine.len(),
        all.len(),
        if durations.is_empty() {
            " (balanced by count)"
        } else {
            " (balanced by the durations of the last run)"
        }
    );
    Ok(mine)
}

/// The writers of the reports: JUnit, Cucumber JSON, and the run's record (console,
/// summary, HTML, Cucumber Messages).
struct Reports {
    junit: Box<dyn Write>,
    json: Box<dyn Write>,
    recorder: Recorder,
}

async fn run_scenarios(
    system: &Running,
    contracts: Option<contracts::RunContracts>,
    options: &RunOptions,
    seed: Option<u64>,
    tags: Option<TagOperation>,
    selected: Option<BTreeSet<String>>,
    reports: Reports,
) -> anyhow::Result<Vec<report::FaultSpan>> {
    let Reports {
        junit,
        json,
        recorder,
    } = reports;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let file = system.system();
    let contracts = contracts.or_else(|| {
        qalens_steps::packs::default_registry(file).map(contracts::RunContracts::Bundled)
    });
    let run = Run::new(RunContext {
        system: file.clone(),
        contracts,
        endpoints: system.current_endpoints().await?,
        http,
        docker: system.docker().clone(),
        containers: system.container_ids(),
        switched_defects: system.switched_defects(),
    });
    // Failed scenarios get the logs their components wrote attached to every report. The
    // recorder prints each scenario as it finishes; JUnit and JSON want events in order.
    // Scenario times start when the scheduler granted the claim (`Retime`).
    // JUnit and JSON call a cancelled scenario skipped (`CancelledAsSkipped`).
    let writer = Retime::new(AttachLogs::new(
        recorder.tee::<QaWorld, _>(
            CancelledAsSkipped::new(
                writer::JUnit::for_tee(junit, 0).tee::<QaWorld, _>(writer::Json::for_tee(json)),
            )
            .normalized::<QaWorld>(),
        ),
        run.clone(),
    ));
    if let Some(seed) = seed {
        println!(
            "qalens: scenarios in shuffled order, seed {seed} (`--shuffle {seed}` repeats it)"
        );
    }
    let limit = options.concurrency.max(1);
    let scheduler = Scheduler::new(limit, run.components().clone());
    // With fail-fast, the first failure raises it: scenarios not yet granted are not run
    // and waits stop, both recorded as cancelled ([`qalens_engine::stop`]).
    let stop = Stop::default();
    let fail_fast = options.fail_fast;
    let cucumber = QaWorld::cucumber::<PathBuf>();
    let cucumber = if options.fail_fast {
        cucumber.fail_fast()
    } else {
        cucumber
    };
    let (stop_before, stop_after) = (stop.clone(), stop.clone());
    let (run_before, run_after) = (run.clone(), run.clone());
    let cucumber_run = cucumber
        .with_parser(FeatureFiles { shuffle: seed })
        .with_writer(writer)
        .with_default_cli()
        .fail_on_skipped()
        // Every scenario is started at once and waits in its before hook until the
        // scheduler grants the components it claims; `@serial` is the scheduler's too.
        .which_scenario(|_, _, _| ScenarioType::Concurrent)
        .before(move |feature, rule, scenario, world| {
            let scheduler = scheduler.clone();
            let stop = stop_before.clone();
            let run = run_before.clone();
            let tags = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| r.tags.iter()))
                .chain(scenario.tags.iter());
            let claim = run.components().claim_or_everything(tags);
            // A scenario that holds the broker alone starts from empty declared queues:
            // whatever earlier scenarios left there (a backlog, a message no consumer
            // takes) cannot reach it, and no scenario that could be publishing runs.
            let empty_queues = run
                .context()
                .system
                .qalens
                .broker
                .as_ref()
                .is_some_and(|b| claim.holds_alone(&b.service));
            Box::pin(async move {
                world.run = Some(run.clone());
                tokio::select! {
                    biased;
                    () = stop.wait() => panic!("{}", stop::CANCELLED),
                    grant = scheduler.acquire(claim) => world.grant = Some(grant),
                }
                if empty_queues {
                    let ctx = run.context();
                    if let Err(waited) = amqp::purge_declared(&ctx, QUEUE_RESET).await {
                        panic!("emptying the declared queues before the scenario: {waited}");
                    }
                }
            })
        })
        .after(move |_, _, _, finished, world| {
            if fail_fast && failed_on_its_own(finished) {
                stop_after.raise();
            }
            let run = run_after.clone();
            Box::pin(async move {
                if let Some(world) = world {
                    let heal = qalens_engine::nemesis::heal_all(&run, &mut world.faults);
                    stop::shielded(heal).await;
                    // Only once its faults are healed may others use its components.
                    world.grant = None;
                }
            })
        })
        // The self-test's early stop stops *starting* scenarios, so there cucumber also
        // starts no more than the limit at once.
        .max_concurrent_scenarios(options.fail_fast.then_some(limit))
        .filter_run(options.paths.clone(), move |feature, rule, scenario| {
            qalens_model::features::matches_tags(tags.as_ref(), feature, rule, scenario)
                && selected.as_ref().is_none_or(|keys| {
                    keys.contains(&shard::key(feature.path.as_deref(), scenario.position.line))
                })
        });
    stop::scope(stop, cucumber_run).await;
    Ok(run.faults().take())
}

/// Whether a scenario failed by itself: a step failed, matched no definition, or its
/// before hook failed, other than by being cancelled ([`Verdict::of_failure`]).
fn failed_on_its_own(finished: &cucumber::event::ScenarioFinished) -> bool {
    use cucumber::event::ScenarioFinished as F;
    let failed = |message: String| Verdict::of_failure(&message) == Verdict::Failed;
    match finished {
        F::StepPassed => false,
        F::StepSkipped => true,
        F::BeforeHookFailed(info) => failed(qalens_report::progress::panic_text(info)),
        F::StepFailed(_, _, err) => failed(qalens_report::progress::step_error(err)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A failed run wrote its logs under the current directory's `target/`: a run from
    /// any other project scattered them there. They go beside the reports now.
    #[test]
    fn a_failed_runs_logs_go_beside_its_reports_or_where_qalens_log_dir_says() {
        let mut options = RunOptions::new(vec![PathBuf::from("features")]);
        options.junit = Some(PathBuf::from("out/ci/junit.xml"));
        options.html = Some(PathBuf::from("reports/run.html"));
        assert_eq!(logs_dir(&options, None), Path::new("reports/logs"));
        options.html = None;
        assert_eq!(logs_dir(&options, None), Path::new("out/ci/logs"));
        options.junit = Some(PathBuf::from("junit.xml"));
        assert_eq!(logs_dir(&options, None), Path::new("./logs"));
        assert_eq!(
            logs_dir(&options, Some("/var/tmp/x".into())),
            Path::new("/var/tmp/x")
        );
        options.junit = None;
        let none = logs_dir(&options, None);
        assert_eq!(none, std::env::temp_dir().join("qalens-logs"));
        assert!(!none.starts_with("target"), "{none:?}");
    }
}
