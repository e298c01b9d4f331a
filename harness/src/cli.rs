//! The `qalens` command line.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use futures::FutureExt as _;

use crate::cleanup;
use crate::runner::{self, RunOptions};
use crate::topology::{Topology, TopologyOptions};

#[derive(Parser, Debug)]
#[command(
    name = "qalens",
    version,
    about = "Chaos and contract test harness for microservice systems"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the topology, run feature files against it, tear it down.
    Run {
        /// Feature files or directories (default: features).
        paths: Vec<PathBuf>,
        /// Cucumber tag expression, e.g. "@rate-limit and not @serial".
        #[arg(long)]
        tags: Option<String>,
        /// Write a JUnit XML report here.
        #[arg(long, value_name = "PATH")]
        junit: Option<PathBuf>,
        /// Write a Cucumber JSON report here.
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
        /// Scenarios run at once at most (those tagged @serial always run alone).
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Switch on a known defect of the reference system (repeatable); see `refsys defects`.
        #[arg(long = "defect", value_name = "NAME")]
        defects: Vec<String>,
        /// When a scenario fails, leave the topology running (labelled) and print its
        /// endpoints and the command that removes it.
        #[arg(long)]
        keep_on_failure: bool,
        /// Run features, rules and scenarios in a shuffled order, to prove they do not
        /// depend on each other; the seed is printed, and `--shuffle SEED` repeats an order.
        #[arg(long, value_name = "SEED")]
        shuffle: Option<Option<u64>>,
        /// Run against a topology already running (`qalens up --detach`): its run id, or
        /// the file `qalens up --env-file` wrote. Nothing is started or removed.
        #[arg(long, value_name = "RUN_ID|ENV_FILE")]
        attach: Option<String>,
        /// Run only shard K of N (e.g. 2/4): a deterministic share of the scenarios; the N
        /// shards together run exactly the suite.
        #[arg(long, value_name = "K/N")]
        shard: Option<crate::shard::Shard>,
        /// Balance the shards by the scenario durations in this JUnit report of an
        /// earlier run (default: by count).
        #[arg(long, value_name = "JUNIT", requires = "shard")]
        shard_durations: Option<PathBuf>,
        /// Print how long each component took to start.
        #[arg(long)]
        timings: bool,
    },
    /// Start the topology and print its endpoints as JSON; stops on Ctrl-C unless --detach.
    Up {
        /// Also write the endpoints to this file.
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// Leave the topology running and return; `qalens down RUN_ID` removes it.
        #[arg(long)]
        detach: bool,
    },
    /// Remove the containers and networks of the given runs (or of every run with --all).
    Down {
        run_ids: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Remove the leftovers of runs whose process died.
    Sweep,
    /// Measure the latency the gateway adds (p50/p99 against calling the service directly).
    Bench {
        /// Requests per path.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Also write the figures as JSON here.
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
    },
    /// Lint feature files without Docker: parse errors, undefined and ambiguous steps.
    Check {
        /// Feature files or directories (default: features).
        paths: Vec<PathBuf>,
    },
    /// Run the suite against the correct system and once per known defect; fail on a
    /// false alarm or a blind spot.
    Selftest {
        /// Feature files or directories (default: features).
        paths: Vec<PathBuf>,
        #[arg(long)]
        tags: Option<String>,
        /// Only these defects (repeatable; default: every defect `refsys` knows).
        #[arg(long = "defect", value_name = "NAME")]
        defects: Vec<String>,
        /// Write the matrix as JSON here.
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
        /// Write the matrix as a Markdown table here.
        #[arg(long, value_name = "PATH")]
        markdown: Option<PathBuf>,
        /// Run every scenario against every defect (the full matrix) instead of stopping
        /// each defect at the first scenario that catches it.
        #[arg(long)]
        full: bool,
    },
    /// Mint a bearer token the gateways accept (signed with QALENS_JWT_SECRET or the default).
    Token {
        #[arg(long)]
        client: String,
        /// free or paid.
        #[arg(long, default_value = "free")]
        tier: String,
        /// Space-separated scopes (default: every non-admin route scope).
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Contracts between the services (contracts/schemas): list them, or compare two
    /// versions of them for breaking changes.
    Contracts {
        #[command(subcommand)]
        action: ContractsAction,
    },
    /// Print the step catalog.
    Steps {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ContractsAction {
    /// Every bundled contract: name, version, kind, producers, consumers, where it is used.
    List,
    /// Classify every change from OLD to NEW as compatible or breaking; exit 1 when a
    /// breaking change comes without a version bump, 2 when a side cannot be read.
    Diff {
        /// A contracts directory (with index.json), an index.json, or one schema file.
        old: PathBuf,
        new: PathBuf,
        /// For single schema files not listed in a sibling index.json: request, response,
        /// message or headers.
        #[arg(long)]
        kind: Option<String>,
    },
}

/// Exit codes: 0 all passed, 1 a scenario failed or a step was undefined, 2 the run could
/// not happen (bad arguments, no Docker, start-up failure), 101 harness crash,
/// 130/143 interrupted by SIGINT/SIGTERM.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qalens: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(dispatch(cli.command));
    ExitCode::from(code)
}

/// Runs one command; returns the process exit code.
pub async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Run {
            paths,
            tags,
            junit,
            json,
            concurrency,
            defects,
            keep_on_failure,
            shuffle,
            attach,
            shard,
            shard_durations,
            timings,
        } => {
            let options = RunOptions {
                tags,
                junit,
                json,
                concurrency,
                keep_on_failure,
                shuffle: shuffle.map(|seed| seed.unwrap_or_else(random_seed)),
                shard,
                shard_durations,
                timings,
                ..RunOptions::new(default_paths(paths))
            };
            match attach {
                Some(target) => attach_command(options, &target, &defects).await,
                None => run_command(options, &defects).await,
            }
        }
        Command::Up { env_file, detach } => up_command(env_file, detach).await,
        Command::Down { run_ids, all } => down_command(run_ids, all).await,
        Command::Selftest {
            paths,
            tags,
            defects,
            json,
            markdown,
            full,
        } => {
            let mut run = Box::pin(crate::selftest::run(
                default_paths(paths),
                tags,
                defects,
                full,
            ));
            let matrix = tokio::select! {
                m = &mut run => m,
                code = interrupted() => {
                    drop(run);
                    if let Ok(docker) = cleanup::docker().await
                        && let Err(e) = cleanup::remove_owned(&docker).await
                    {
                        eprintln!("qalens: cleanup after interrupt failed: {e:#}");
                    }
                    return code;
                }
            };
            match matrix {
                Err(e) => {
                    eprintln!("qalens: {e:#}");
                    2
                }
                Ok(m) => {
                    let table = m.markdown();
                    println!("\n{table}");
                    if let Some(p) = markdown
                        && let Err(e) = std::fs::write(&p, &table)
                    {
                        eprintln!("qalens: cannot write {}: {e}", p.display());
                    }
                    if let Some(p) = json
                        && let Err(e) =
                            std::fs::write(&p, serde_json::to_string_pretty(&m).unwrap_or_default())
                    {
                        eprintln!("qalens: cannot write {}: {e}", p.display());
                    }
                    println!(
                        "selftest: {} false alarm(s), {} blind spot(s) {}",
                        m.false_alarms.len(),
                        m.blind_spots.len(),
                        m.blind_spots.join(" ")
                    );
                    if m.passed() { 0 } else { 1 }
                }
            }
        }
        Command::Bench { requests, json } => {
            let report = tokio::select! {
                r = crate::bench::run(requests) => r,
                code = interrupted() => {
                    if let Ok(docker) = cleanup::docker().await {
                        let _ = cleanup::remove_owned(&docker).await;
                    }
                    return code;
                }
            };
            match report {
                Ok(r) => {
                    print!("{}", r.render());
                    if let Some(p) = json
                        && let Err(e) =
                            std::fs::write(&p, serde_json::to_string_pretty(&r).unwrap_or_default())
                    {
                        eprintln!("qalens: cannot write {}: {e}", p.display());
                    }
                    0
                }
                Err(e) => {
                    eprintln!("qalens: {e:#}");
                    2
                }
            }
        }
        Command::Check { paths } => {
            let paths = default_paths(paths);
            let started = Instant::now();
            let report = crate::lint::check(&paths);
            for p in &report.problems {
                println!("{p}");
            }
            println!(
                "qalens check: {} file(s), {} step(s), {} problem(s) in {} ms",
                report.files,
                report.steps,
                report.problems.len(),
                started.elapsed().as_millis()
            );
            if report.problems.is_empty() { 0 } else { 1 }
        }
        Command::Sweep => match sweep().await {
            Ok(swept) => {
                println!("removed {} stale run(s) {}", swept.len(), swept.join(" "));
                0
            }
            Err(e) => {
                eprintln!("qalens: {e:#}");
                2
            }
        },
        Command::Token {
            client,
            tier,
            scope,
            ttl,
        } => {
            let tier = match tier.as_str() {
                "free" => contracts::jwt::Tier::Free,
                "paid" => contracts::jwt::Tier::Paid,
                other => {
                    eprintln!("qalens: --tier {other:?} must be free or paid");
                    return 2;
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            let claims = contracts::jwt::Claims {
                sub: client,
                tier,
                scope: scope.unwrap_or_else(|| crate::steps::identity::DEFAULT_SCOPES.to_string()),
                exp: now + ttl,
            };
            let secret = crate::topology::jwt_secret_from_env();
            println!("{}", contracts::jwt::encode(&claims, secret.as_bytes()));
            0
        }
        Command::Contracts { action } => contracts_command(action),
        Command::Steps { json } => {
            if json {
                match serde_json::to_string_pretty(&crate::catalog::entries()) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("qalens: {e}");
                        return 2;
                    }
                }
            } else {
                print!("{}", crate::catalog::render_text());
            }
            0
        }
    }
}

/// The feature paths, `features` when none are given.
fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("features")]
    } else {
        paths
    }
}

/// The run id `--attach` names: the argument itself, or the `run_id` in the env file
/// `qalens up --env-file` wrote.
fn attach_target(target: &str) -> anyhow::Result<String> {
    let path = std::path::Path::new(target);
    if !path.is_file() {
        return Ok(target.to_string());
    }
    let text = std::fs::read_to_string(path)?;
    let endpoints: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{target} is not an env file of `qalens up`: {e}"))?;
    endpoints["run_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("{target} has no run_id: is it an env file of `qalens up`?"))
}

async fn attach_command(options: RunOptions, target: &str, defects: &[String]) -> u8 {
    let started = Instant::now();
    if let Some(code) = lint_first(&options.paths) {
        return code;
    }
    let run_id = match attach_target(target) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qalens: --attach {target}: {e:#}");
            return 2;
        }
    };
    let run = runner::run_attached(options, &run_id, defects);
    let result = tokio::select! {
        r = run => r,
        code = interrupted() => {
            // The topology is not ours to remove; the faults of the scenario that was
            // running are healed by nobody, so say so.
            eprintln!(
                "qalens: interrupted; {run_id} is left running, possibly with a fault or \
                 defect still in effect (`qalens down {run_id}` removes it)"
            );
            return code;
        }
    };
    match result {
        Err(e) => {
            eprintln!("qalens: {e:#}");
            2
        }
        Ok(report) => {
            print_summary(&report, started.elapsed());
            if report.summary.success() { 0 } else { 1 }
        }
    }
}

/// Lints the feature files; on a problem prints it and returns exit code 1.
fn lint_first(paths: &[PathBuf]) -> Option<u8> {
    let lint = crate::lint::check(paths);
    if lint.problems.is_empty() {
        return None;
    }
    for p in &lint.problems {
        println!("{p}");
    }
    println!(
        "qalens: {} problem(s) in the feature files; nothing was started (see `qalens check`)",
        lint.problems.len()
    );
    Some(1)
}

async fn sweep() -> anyhow::Result<Vec<String>> {
    let docker = cleanup::docker().await?;
    cleanup::sweep_stale(&docker).await
}

/// Resolves on SIGINT or SIGTERM with the conventional exit code (130 or 143).
async fn interrupted() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return futures::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        130
    }
}

/// Removes whatever run `run_id` still has in Docker, saying what happened.
async fn remove_leftovers(run_id: &str) {
    match cleanup::docker().await {
        Ok(docker) => {
            match cleanup::remove_run_settled(&docker, run_id, std::time::Duration::from_secs(2))
                .await
            {
                Ok((0, 0)) => {}
                Ok((c, n)) => {
                    eprintln!("qalens: removed {c} container(s) and {n} network(s) of {run_id}")
                }
                Err(e) => eprintln!("qalens: could not remove the resources of {run_id}: {e:#}"),
            }
        }
        Err(e) => eprintln!("qalens: could not remove the resources of {run_id}: {e:#}"),
    }
}

/// A seed for `--shuffle` without one: different on every run.
pub fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Spread nearby clock values apart, so two runs started together differ.
    nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id())
}

async fn run_command(options: RunOptions, defects: &[String]) -> u8 {
    let started = Instant::now();
    // A broken feature file fails the run before anything starts.
    if let Some(code) = lint_first(&options.paths) {
        return code;
    }
    let topology = match TopologyOptions::from_env().and_then(|t| t.with_defects(defects)) {
        Ok(mut t) => {
            t.keep = options.keep_on_failure;
            t
        }
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return 2;
        }
    };
    let run_id = topology.run_id.clone();
    let mut run = Box::pin(AssertUnwindSafe(runner::run(options, topology)).catch_unwind());
    let outcome = tokio::select! {
        r = &mut run => Ok(r),
        code = interrupted() => Err(code),
    };
    // Dropping the run stops the scenarios and drops the container handles.
    drop(run);
    let result = match outcome {
        Err(code) => {
            eprintln!("qalens: interrupted; removing the topology of {run_id}");
            remove_leftovers(&run_id).await;
            return code;
        }
        Ok(Err(_panic)) => {
            eprintln!("qalens: the harness crashed; removing the topology of {run_id}");
            remove_leftovers(&run_id).await;
            return 101;
        }
        Ok(Ok(result)) => result,
    };
    match result {
        Err(e) => {
            eprintln!("qalens: {e:#}");
            remove_leftovers(&run_id).await;
            2
        }
        Ok(report) => {
            print_summary(&report, started.elapsed());
            if report.summary.success() { 0 } else { 1 }
        }
    }
}

fn print_summary(report: &runner::RunReport, total: std::time::Duration) {
    let s = &report.summary;
    println!();
    println!("qalens run {} summary", report.run_id);
    println!(
        "  {:<24} {:>6} {:>6} {:>9}",
        "lens", "passed", "failed", "time"
    );
    for (lens, passed, failed, time) in s.by_lens() {
        println!(
            "  {lens:<24} {passed:>6} {failed:>6} {:>8.1}s",
            time.as_secs_f64()
        );
    }
    for e in &s.parse_errors {
        println!("  parse error: {e}");
    }
    println!(
        "  {} scenario(s): {} passed, {} failed",
        s.scenarios.len(),
        s.passed(),
        s.failed()
    );
    if s.scenarios.is_empty() {
        println!("  no scenario ran: check the paths and the --tags expression");
    }
    println!(
        "  timings: topology start {:.1}s, scenarios {:.1}s, teardown {:.1}s, total {:.1}s",
        report.topology_start.as_secs_f64(),
        report.scenarios_time.as_secs_f64(),
        report.teardown_time.as_secs_f64(),
        total.as_secs_f64()
    );
}

async fn up_command(env_file: Option<PathBuf>, detach: bool) -> u8 {
    let mut options = match TopologyOptions::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return 2;
        }
    };
    options.keep = detach;
    let run_id = options.run_id.clone();
    let start = async {
        let docker = cleanup::docker().await?;
        cleanup::sweep_stale(&docker).await?;
        Topology::start(&docker, options).await
    };
    let topo = tokio::select! {
        t = start => t,
        code = interrupted() => {
            remove_leftovers(&run_id).await;
            return code;
        }
    };
    let topo = match topo {
        Ok(t) => t,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return 2;
        }
    };
    let json = serde_json::to_string_pretty(topo.endpoints()).unwrap_or_default();
    println!("{json}");
    if let Some(path) = env_file
        && let Err(e) = std::fs::write(&path, format!("{json}\n"))
    {
        eprintln!("qalens: cannot write {}: {e}", path.display());
    }
    if detach {
        topo.detach();
        eprintln!("qalens: {run_id} left running; remove it with `qalens down {run_id}`");
        return 0;
    }
    eprintln!("qalens: {run_id} is up; press Ctrl-C to stop it");
    let code = interrupted().await;
    if let Err(e) = topo.teardown().await {
        eprintln!("qalens: {e:#}");
        remove_leftovers(&run_id).await;
    }
    code
}

async fn down_command(run_ids: Vec<String>, all: bool) -> u8 {
    let docker = match cleanup::docker().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return 2;
        }
    };
    let targets = if all {
        match cleanup::list_runs(&docker).await {
            Ok(runs) => runs.into_iter().map(|r| r.run_id).collect(),
            Err(e) => {
                eprintln!("qalens: {e:#}");
                return 2;
            }
        }
    } else {
        run_ids
    };
    if targets.is_empty() {
        eprintln!("qalens: name the runs to remove, or pass --all");
        return 2;
    }
    let mut code = 0;
    for run_id in targets {
        match cleanup::remove_run(&docker, &run_id).await {
            Ok((c, n)) => println!("{run_id}: removed {c} container(s), {n} network(s)"),
            Err(e) => {
                eprintln!("qalens: {e:#}");
                code = 1;
            }
        }
    }
    code
}

fn contracts_command(action: ContractsAction) -> u8 {
    use contracts::diff;
    match action {
        ContractsAction::List => {
            for c in contracts::schema::Registry::bundled().contracts() {
                let used: Vec<String> = if let Some(key) = &c.routing_key {
                    vec![format!(
                        "{} {key}",
                        c.exchange.as_deref().unwrap_or("(exchange?)")
                    )]
                } else {
                    c.endpoints
                        .iter()
                        .map(|e| {
                            let statuses: Vec<String> =
                                e.statuses.iter().map(u16::to_string).collect();
                            if statuses.is_empty() {
                                format!("{} {}", e.method, e.path)
                            } else {
                                format!("{} {} [{}]", e.method, e.path, statuses.join(","))
                            }
                        })
                        .collect()
                };
                println!(
                    "{:<24} {:<9} {} -> {}\n    schema contracts/schemas/{}; {}",
                    c.id(),
                    c.kind.as_str(),
                    c.producers.join(","),
                    c.consumers.join(","),
                    c.file,
                    if used.is_empty() {
                        "on every routed request".to_string()
                    } else {
                        used.join("; ")
                    }
                );
            }
            0
        }
        ContractsAction::Diff { old, new, kind } => {
            let kind = match kind.as_deref() {
                None => None,
                Some("request") => Some(diff::Kind::Request),
                Some("response") => Some(diff::Kind::Response),
                Some("message") => Some(diff::Kind::Message),
                Some("headers") => Some(diff::Kind::Headers),
                Some(other) => {
                    eprintln!(
                        "qalens: --kind {other:?} must be request, response, message or headers"
                    );
                    return 2;
                }
            };
            let load = |p: &std::path::Path| diff::load_side(p, kind);
            let (old_docs, new_docs) = match (load(&old), load(&new)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("qalens contracts diff: {e}");
                    return 2;
                }
            };
            let report = diff::diff_owned(&old_docs, &new_docs);
            let text = report.render();
            println!("{}", text.trim_end());
            if report.unbumped_breaking().is_empty() {
                0
            } else {
                1
            }
        }
    }
}
