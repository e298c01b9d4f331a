//! `qalens bench`: the latency the gateway adds.

use std::path::PathBuf;

use super::{Leftovers, with_interrupt};

pub async fn bench(requests: usize, json: Option<PathBuf>) -> u8 {
    let report = match with_interrupt(crate::bench::run(requests), Leftovers::Owned).await {
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
