//! `qalens up`, `qalens down` and `qalens sweep`: topologies kept between runs.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Leftovers, interrupted, remove_leftovers, with_interrupt};
use qalens_engine::cleanup;
use qalens_engine::topology::{Topology, TopologyOptions};
use qalens_model::system::System;

pub async fn sweep() -> u8 {
    let swept = async {
        let docker = cleanup::docker().await?;
        cleanup::sweep_stale(&docker).await
    };
    match swept.await {
        Ok(swept) => {
            println!("removed {} stale run(s) {}", swept.len(), swept.join(" "));
            0
        }
        Err(e) => {
            eprintln!("qalens: {e:#}");
            2
        }
    }
}

pub async fn up(env_file: Option<PathBuf>, detach: bool, system: Arc<System>) -> u8 {
    let system_file = system.file.clone();
    let mut options = match TopologyOptions::from_env(system) {
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
        crate::runner::sweep_quietly(&docker).await;
        Topology::start(&docker, options).await
    };
    let topo = match with_interrupt(start, Leftovers::Run(&run_id)).await {
        Ok(t) => t,
        Err(code) => return code,
    };
    let topo = match topo {
        Ok(t) => t,
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return 2;
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
pub async fn down(run_ids: Vec<String>, all: bool) -> u8 {
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
