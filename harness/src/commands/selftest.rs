//! `qalens selftest`: the defect matrix, printed and written as Markdown and JSON.

use std::path::PathBuf;
use std::sync::Arc;

use crate::system::System;

use super::{Leftovers, with_interrupt};

pub async fn selftest(
    paths: Vec<PathBuf>,
    tags: Option<String>,
    defects: Vec<String>,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
    full: bool,
    system: Arc<System>,
) -> u8 {
    let run = crate::selftest::run(paths, tags, defects, full, system);
    let matrix = match with_interrupt(run, Leftovers::Owned).await {
        Ok(m) => m,
        Err(code) => return code,
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
