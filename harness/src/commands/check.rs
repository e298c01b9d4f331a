//! `qalens check` (lint feature files without Docker) and `qalens steps` (the catalog).

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Checks the system file first (exit 2 when it cannot be used, images included when a
/// Docker engine answers), then lints the feature files (exit 1 on a problem).
pub async fn check(paths: &[PathBuf], system: Option<&Path>) -> u8 {
    let started = Instant::now();
    let system = match super::load_system(system, false).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::cleanup::docker().await {
        Ok(docker) => {
            if let Err(e) = crate::system::check_images(&docker, &system).await {
                eprintln!("qalens: {e}");
                return 2;
            }
        }
        Err(_) => println!(
            "qalens check: no Docker engine answers; the images of {} were not checked",
            system.file.display()
        ),
    }
    let mut report = crate::lint::check(paths);
    match crate::topology::links_from_env(&system) {
        Ok(links) => report.problems.extend(crate::system::names::check(
            &system,
            &crate::topology::link_names(&system, &links),
            paths,
        )),
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return 2;
        }
    }
    for p in &report.problems {
        println!("{p}");
    }
    println!(
        "qalens check: {}: {} service(s); {} file(s), {} step(s), {} problem(s) in {} ms",
        system.file.display(),
        system.services.len(),
        report.files,
        report.steps,
        report.problems.len(),
        started.elapsed().as_millis()
    );
    if report.problems.is_empty() { 0 } else { 1 }
}

/// The steps `system` can serve (`--system`, else the reference system's).
pub fn steps(json: bool, system: &crate::system::System) -> u8 {
    let entries = crate::catalog::entries_for(system);
    if json {
        match serde_json::to_string_pretty(&entries) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("qalens: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", crate::catalog::render_text(&entries));
    }
    0
}
