//! `qalens selftest`: the defect matrix, printed and written as Markdown, JSON and HTML.

use std::sync::Arc;

use super::{Leftovers, with_interrupt};
use crate::cli::SelftestArgs;
use crate::exit::Exit;

pub(super) async fn selftest(args: SelftestArgs) -> Exit {
    let SelftestArgs {
        paths,
        tags,
        defects,
        json,
        markdown,
        html,
        full,
        system,
    } = args;
    let system = match super::load_system(system.file.as_deref(), true).await {
        Ok(s) => Arc::new(s),
        Err(exit) => return exit,
    };
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
        Err(exit) => return exit,
    };
    match matrix {
        Err(e) => {
            eprintln!("qalens: {e:#}");
            Exit::NotRun
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
            Exit::passed_if(m.passed())
        }
    }
}
