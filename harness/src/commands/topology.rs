//! `qalens up`, `qalens down` and `qalens sweep`: topologies kept between runs.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Leftovers, interrupted, remove_leftovers, with_interrupt};
use crate::cli::SystemArg;
use crate::exit::Exit;
use qalens_engine::cleanup;
use qalens_engine::topology::{Topology, TopologyOptions};

pub(super) async fn sweep() -> Exit {
    let swept = async {
        let docker = cleanup::docker().await?;
        cleanup::sweep_stale(&docker).await
    };
    match swept.await {
        Ok(swept) => {
            println!("removed {} stale run(s) {}", swept.len(), swept.join(" "));
            Exit::Passed
        }
        Err(e) => {
            eprintln!("qalens: {e:#}");
            Exit::NotRun
        }
    }
}

pub(super) async fn up(env_file: Option<PathBuf>, detach: bool, system: SystemArg) -> Exit {
    let system = match super::load_system(system.file.as_deref(), true).await {
        Ok(s) => Arc::new(s),
        Err(exit) => return exit,
    };
    let system_file = system.file.clone();
    let mut options = match TopologyOptions::from_env(system) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return Exit::NotRun;
        }
    };
    options.keep = detach;
    let run_id = options.run_id.clone();
    let start = async {
        let docker = cleanup::docker().await?;
        crate::runner::sweep_quietly(&docker).await;
        Topology::start(&docker, options).await
    };
    let topo = match with_interrupt(start, Leftovers::Run(&run_id)).await {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let topo = match topo {
        Ok(t) => t,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return Exit::NotRun;
        }
    };
    let endpoints = serde_json::to_value(topo.endpoints()).unwrap_or_default();
    let text = super::run::env_file_text(endpoints, &system_file);
    print!("{text}");
    if let Some(path) = env_file
        && let Err(e) = std::fs::write(&path, text)
    {
        eprintln!("qalens: cannot write {}: {e}", path.display());
    }
    if detach {
        topo.detach();
        eprintln!("qalens: {run_id} left running; remove it with `qalens down {run_id}`");
        return Exit::Passed;
    }
    eprintln!("qalens: {run_id} is up; press Ctrl-C to stop it");
    let signal = interrupted().await;
    if let Err(e) = topo.teardown().await {
        eprintln!("qalens: {e:#}");
        remove_leftovers(&run_id).await;
    }
    Exit::Interrupted(signal)
}

pub(super) async fn down(run_ids: Vec<String>, all: bool) -> Exit {
    let docker = match cleanup::docker().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return Exit::NotRun;
        }
    };
    let targets = if all {
        match cleanup::list_runs(&docker).await {
            Ok(runs) => runs.into_iter().map(|r| r.run_id).collect(),
            Err(e) => {
                eprintln!("qalens: {e:#}");
                return Exit::NotRun;
            }
        }
    } else {
        run_ids
    };
    if targets.is_empty() {
        eprintln!("qalens: name the runs to remove, or pass --all");
        return Exit::NotRun;
    }
    let mut exit = Exit::Passed;
    for run_id in targets {
        match cleanup::remove_run(&docker, &run_id).await {
            Ok((c, n)) => println!("{run_id}: removed {c} container(s), {n} network(s)"),
            Err(e) => {
                eprintln!("qalens: {e:#}");
                exit = Exit::Failed;
            }
        }
    }
    exit
}
