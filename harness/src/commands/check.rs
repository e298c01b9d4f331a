//! `qalens check` (lint feature files without Docker) and `qalens steps` (the catalog).

use std::path::PathBuf;
use std::time::Instant;

pub fn check(paths: &[PathBuf]) -> u8 {
    let started = Instant::now();
    let report = crate::lint::check(paths);
    for p in &report.problems {
        println!("{p}");
    }
    println!(
        "qalens check: {} file(s), {} step(s), {} problem(s) in {} ms",
        report.files,
        report.steps,
        report.problems.len(),
        started.elapsed().as_millis()
    );
    if report.problems.is_empty() { 0 } else { 1 }
}

pub fn steps(json: bool) -> u8 {
    if json {
        match serde_json::to_string_pretty(&crate::catalog::entries()) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("qalens: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", crate::catalog::render_text());
    }
    0
}
