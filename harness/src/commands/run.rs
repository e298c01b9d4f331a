//! `qalens run`: start a topology (or attach to a running one), run the features, report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::anyhow;

use super::{Leftovers, with_interrupt};
use crate::cli::SystemArg;
use crate::exit::Exit;
use crate::runner::{self, RunOptions};
use qalens_engine::cleanup;
use qalens_engine::topology::TopologyOptions;
use qalens_model::system::System;

/// `qalens run`: against a topology it starts, or the one `attach` names.
pub(super) async fn run(options: RunOptions, attach: Option<String>, system: SystemArg) -> Exit {
    // An attached run uses the system file its topology was started from.
    let file = match &attach {
        Some(target) => match system_for_attach(target, system.file.as_deref()).await {
            Ok(file) => file,
            Err(e) => {
                eprintln!("qalens: --attach {e}");
                return Exit::NotRun;
            }
        },
        None => system.file,
    };
    // Nothing starts on a system file that cannot be used; an attached run starts
    // nothing, so only the file is checked.
    let system = match super::load_system(file.as_deref(), attach.is_none()).await {
        Ok(s) => Arc::new(s),
        Err(exit) => return exit,
    };
    match attach {
        Some(target) => attached(options, &target, system).await,
        None => fresh(options, system).await,
    }
}

/// `qalens run` without `--attach`.
async fn fresh(options: RunOptions, system: Arc<System>) -> Exit {
    let started = Instant::now();
    let links = match qalens_engine::topology::links_from_env(&system) {
        Ok(links) => links,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return Exit::NotRun;
        }
    };
    // A broken feature file, or one naming what the system file does not declare, fails
    // the run before anything starts.
    let proxied = qalens_engine::topology::link_names(&system, &links);
    if let Some(exit) = lint_first(&options.paths, Some((&system, &proxied))) {
        return exit;
    }
    let topology = match TopologyOptions::with_links(system, links)
        .and_then(|t| t.with_defects(&options.defects))
    {
        Ok(mut t) => {
            t.keep = options.keep_on_failure;
            t
        }
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return Exit::NotRun;
        }
    };
    let run_id = topology.run_id.clone();
    let result = match with_interrupt(runner::run(options, topology), Leftovers::Run(&run_id)).await
    {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    match result {
        Err(e) => {
            eprintln!("qalens: {e:#}");
            super::remove_leftovers(&run_id).await;
            Exit::NotRun
        }
        Ok(report) => {
            print_summary(&report, started.elapsed());
            Exit::passed_if(report.summary.success())
        }
    }
}

/// `qalens run --attach`.
async fn attached(options: RunOptions, target: &str, system: Arc<System>) -> Exit {
    let started = Instant::now();
    let run_id = match attach_target(target) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qalens: --attach {target}: {e:#}");
            return Exit::NotRun;
        }
    };
    // The names steps take from the system file are checked against the topology that
    // runs: its proxied links are its link containers. Without it (no engine, no such
    // run) only the lint runs here, and attaching says what is wrong.
    let proxied = match cleanup::docker().await {
        Ok(docker) => cleanup::components_of(&docker, &run_id)
            .await
            .ok()
            .filter(|components| !components.is_empty())
            .map(|components| qalens_engine::topology::proxied_among(components.keys())),
        Err(_) => None,
    };
    let names = proxied.as_deref().map(|p| (&*system, p));
    if let Some(exit) = lint_first(&options.paths, names) {
        return exit;
    }
    let run = runner::run_attached(options, &run_id, system);
    let result = match with_interrupt(run, Leftovers::NotOurs(&run_id)).await {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    match result {
        Err(e) => {
            eprintln!("qalens: {e:#}");
            Exit::NotRun
        }
        Ok(report) => {
            print_summary(&report, started.elapsed());
            Exit::passed_if(report.summary.success())
        }
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
        .map_err(|e| anyhow!("{target} is not an env file of `qalens up`: {e}"))?;
    endpoints["run_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{target} has no run_id: is it an env file of `qalens up`?"))
}

/// The key of the env file that records the system file `qalens up` started.
const SYSTEM_FILE_KEY: &str = "system_file";

/// What `qalens up --env-file` writes: the endpoints, plus the absolute path of the
/// system file the topology was started from, which `run --attach` reads back.
pub(super) fn env_file_text(endpoints: serde_json::Value, system_file: &Path) -> String {
    let mut value = endpoints;
    let file = std::path::absolute(system_file).unwrap_or_else(|_| system_file.to_path_buf());
    if let Some(map) = value.as_object_mut() {
        map.insert(SYSTEM_FILE_KEY.into(), file.display().to_string().into());
    }
    let json = serde_json::to_string_pretty(&value).unwrap_or_default();
    format!("{json}\n")
}

/// The system file an attached run uses: the one the topology records, unless `--system`
/// names it too (the same file is fine; another one is refused, since the steps would
/// read names and policies of a system that is not the one running). The record is the
/// env file's `system_file` for an env file, else the [`cleanup::SYSTEM_LABEL`] on the
/// run's containers. A topology with no record leaves `--system` (or the reference).
async fn system_for_attach(target: &str, given: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let recorded = match env_file_system(target)? {
        Some(file) => Some(file),
        None => labelled_system(target).await?,
    };
    match recorded {
        Some(recorded) => the_recorded_system(target, &recorded, given).map(Some),
        None => Ok(given.map(Path::to_path_buf)),
    }
}

/// The system file `target` records when it is an env file of `qalens up` that has the
/// record; `None` for a bare run id or an env file from before the record.
fn env_file_system(target: &str) -> anyhow::Result<Option<PathBuf>> {
    let path = Path::new(target);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{target}: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{target} is not an env file of `qalens up`: {e}"))?;
    Ok(value[SYSTEM_FILE_KEY].as_str().map(PathBuf::from))
}

/// The system file the containers of the run `target` names carry as a label. No engine,
/// or no such run, is no record here: attaching reports it.
async fn labelled_system(target: &str) -> anyhow::Result<Option<PathBuf>> {
    let Ok(run_id) = attach_target(target) else {
        return Ok(None);
    };
    let Ok(docker) = cleanup::docker().await else {
        return Ok(None);
    };
    cleanup::system_file_of(&docker, &run_id)
        .await
        .map_err(|e| anyhow!("{target}: {e:#}"))
}

/// `recorded`, unless `given` names another file.
fn the_recorded_system(
    target: &str,
    recorded: &Path,
    given: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let same = |a: &Path, b: &Path| {
        let real = |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p));
        matches!((real(a), real(b)), (Ok(a), Ok(b)) if a == b)
    };
    match given {
        Some(g) if !same(g, recorded) => Err(anyhow!(
            "{target} is a topology started from {}, and --system names {}: attach without \
             --system (the recorded file is used), or start a topology of that file",
            recorded.display(),
            g.display()
        )),
        _ => Ok(recorded.to_path_buf()),
    }
}

/// Checks the feature files as `qalens check` does (and, given the system file and the
/// links proxied in this run, the names they use: links, containers, queues); on a
/// problem prints it and returns [`Exit::Failed`].
fn lint_first(paths: &[PathBuf], names: Option<(&System, &[String])>) -> Option<Exit> {
    let report = super::check::feature_problems(paths, names);
    if report.problems.is_empty() {
        return None;
    }
    super::check::print_problems(&report);
    println!(
        "qalens: {} problem(s) in the feature files; nothing was started (see `qalens check`)",
        report.problems.len()
    );
    Some(Exit::Failed)
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
        "  {} scenario(s): {} passed, {} failed{}",
        s.scenarios.len(),
        s.passed(),
        s.failed(),
        match s.cancelled() {
            0 => String::new(),
            n => format!(", {n} cancelled"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_env_file_records_the_system_file_and_attach_reads_it_back() {
        let dir =
            std::env::temp_dir().join(format!("qalens-env-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let system = dir.join("shop.yml");
        std::fs::write(&system, "services: {}\n").unwrap();
        let other = dir.join("other.yml");
        std::fs::write(&other, "services: {}\n").unwrap();
        let env = dir.join("run.env");
        let text = env_file_text(serde_json::json!({ "run_id": "qalens-1234abcd" }), &system);
        std::fs::write(&env, text).unwrap();
        let target = env.to_str().unwrap();

        assert_eq!(attach_target(target).unwrap(), "qalens-1234abcd");
        assert_eq!(
            system_for_attach(target, None).await.unwrap(),
            Some(system.clone())
        );
        // The same file named another way is the same file.
        let same = dir.join(".").join("shop.yml");
        assert_eq!(
            system_for_attach(target, Some(&same)).await.unwrap(),
            Some(system.clone())
        );
        let e = system_for_attach(target, Some(&other))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("shop.yml") && e.contains("other.yml") && e.contains("--system"),
            "{e}"
        );
        // The record wins over --system naming the same file, for a bare run id too.
        assert_eq!(
            the_recorded_system("qalens-1234abcd", &system, Some(&same)).unwrap(),
            system
        );
        let e = the_recorded_system("qalens-1234abcd", &system, Some(&other))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("qalens-1234abcd is a topology started from"),
            "{e}"
        );
        // A run without a record (no such run here), or an env file from before the
        // record, keeps --system.
        assert_eq!(
            system_for_attach("qalens-00000000", Some(&other))
                .await
                .unwrap(),
            Some(other.clone())
        );
        std::fs::write(&env, r#"{ "run_id": "qalens-1234abcd" }"#).unwrap();
        assert_eq!(system_for_attach(target, None).await.unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
