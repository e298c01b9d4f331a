//! `qalens selftest`: the defect matrix, printed and written as Markdown, JSON and HTML.

use std::path::PathBuf;
use std::sync::Arc;

use qalens_model::system::System;

use super::{Leftovers, with_interrupt};

/// Where the matrix is written, besides the console.
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

pub async fn selftest(
    paths: Vec<PathBuf>,
    tags: Option<String>,
    defects: Vec<String>,
    outputs: Outputs,
    full: bool,
    system: Arc<System>,
) -> u8 {
    let Outputs {
        json,
        markdown,
        html,
    } = outputs;
    // The runs' own reports go beside the page, in `selftest/`.
    let reports = html.as_ref().map(|page| crate::selftest::Reports {
        dir: page
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("selftest"),
        href: "selftest/".to_string(),
    });
    let run = crate::selftest::run(paths, tags, defects, full, reports, system);
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
            if let Some(p) = html
                && let Err(e) = std::fs::write(&p, crate::selftest::matrix::render(&m))
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
