//! `qalens bench`: the latency the gateway adds.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Leftovers, with_interrupt};
use crate::cli::SystemArg;
use crate::exit::Exit;

pub(super) async fn bench(requests: usize, json: Option<PathBuf>, system: SystemArg) -> Exit {
    let system = match super::load_system(system.file.as_deref(), true).await {
        Ok(s) => Arc::new(s),
        Err(exit) => return exit,
    };
    let run = crate::bench::run(requests, system);
    let report = match with_interrupt(run, Leftovers::Owned).await {
        Ok(r) => r,
        Err(exit) => return exit,
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
            Exit::Passed
        }
        Err(e) => {
            eprintln!("qalens: {e:#}");
            Exit::NotRun
        }
    }
}
