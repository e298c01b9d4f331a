//! `qalens bench`: the latency the gateway adds.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Leftovers, with_interrupt};
use qalens_model::system::System;

pub async fn bench(requests: usize, json: Option<PathBuf>, system: Arc<System>) -> u8 {
    let run = crate::bench::run(requests, system);
    let report = match with_interrupt(run, Leftovers::Owned).await {
        Ok(r) => r,
        Err(code) => return code,
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
