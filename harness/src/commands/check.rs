//! `qalens check` (lint feature files without Docker) and `qalens steps` (the catalog).

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::SystemArg;
use crate::exit::Exit;
use qalens_model::system::System;

/// Checks the system file first ([`Exit::NotRun`] when it cannot be used, images included
/// when a Docker engine answers, or when `QALENS_LINKS` names a link it lacks), then lints
/// the feature files ([`Exit::Failed`] on a problem, or with `strict` on a warning too).
pub(super) async fn check(paths: &[PathBuf], system: SystemArg, strict: bool) -> Exit {
    let started = Instant::now();
    // With no engine the images are not checked.
    let engine = qalens_engine::cleanup::docker().await.ok();
    let system = match super::load_system(system.file.as_deref(), false).await {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    if let Some(docker) = &engine {
        if let Err(e) = qalens_engine::topology::check_images(docker, &system).await {
            eprintln!("qalens: {e}");
            return Exit::NotRun;
        }
    } else {
        println!(
            "qalens check: no Docker engine answers; the images of {} were not checked",
            system.file.display()
        );
    }
    let proxied = match qalens_engine::topology::links_from_env(&system) {
        Ok(links) => qalens_engine::topology::link_names(&system, &links),
        Err(e) => {
            eprintln!("qalens: {e:#}");
            return Exit::NotRun;
        }
    };
    let report = feature_problems(paths, Some((&system, &proxied)));
    print_problems(&report);
    print_warnings(&report, strict);
    println!(
        "qalens check: {}: {} service(s); {} file(s), {} step(s), {} problem(s), {} warning(s){} in {} ms",
        system.file.display(),
        system.services.len(),
        report.files,
        report.steps,
        report.problems.len(),
        report.warnings.len(),
        if strict {
            " (--strict: warnings fail)"
        } else {
            ""
        },
        started.elapsed().as_millis()
    );
    let failed = !report.problems.is_empty() || (strict && !report.warnings.is_empty());
    Exit::passed_if(!failed)
}

/// Prints each warning of `report` on a line of its own (`file:line: warning: message`,
/// `error:` instead with `--strict`).
pub(super) fn print_warnings(report: &crate::lint::Report, strict: bool) {
    let kind = if strict { "error" } else { "warning" };
    for w in &report.warnings {
        println!("{}: {kind}: {}", w.at, w.message);
    }
}

/// The problems of the feature files under `paths`, each with its file and line: parse
/// errors and steps no definition matches ([`crate::lint`]) and, given the system file
/// and the names of the links proxied in this run, steps naming a link, container or
/// queue the file does not declare ([`crate::lint::system_names`]). The one check `qalens
/// check` makes and `qalens run` makes before it starts anything.
pub(super) fn feature_problems(
    paths: &[PathBuf],
    names: Option<(&System, &[String])>,
) -> crate::lint::Report {
    let mut report = crate::lint::check_with(paths, names.map(|(s, _)| s));
    if let Some((system, proxied)) = names {
        report
            .problems
            .extend(crate::lint::system_names::check(system, proxied, paths));
    }
    report
}

/// Prints each problem of `report` on a line of its own (`file:line: message`).
pub(super) fn print_problems(report: &crate::lint::Report) {
    for p in &report.problems {
        println!("{p}");
    }
}

/// The steps the system file can serve (`--system`, else the reference system's).
pub(super) async fn steps(json: bool, system: SystemArg) -> Exit {
    let system = match super::load_system(system.file.as_deref(), false).await {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let entries = qalens_steps::catalog::entries_for(&system);
    if json {
        match serde_json::to_string_pretty(&entries) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("qalens: {e}");
                return Exit::NotRun;
            }
        }
    } else {
        let components = qalens_engine::scheduler::Components::of(&system);
        print!(
            "{}",
            qalens_steps::catalog::render_text(&entries, &components)
        );
    }
    Exit::Passed
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn one_check_locates_lint_and_name_problems_and_names_only_with_the_system() {
        let dir =
            std::env::temp_dir().join(format!("qalens-check-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f.feature");
        std::fs::write(
            &f,
            "Feature: f\n  @serial\n  Scenario: s\n\
             \x20   Given nothing any step definition matches\n\
             \x20   When the link from api to ledger adds 10 ms of latency\n",
        )
        .unwrap();
        let text = "services:\n  api: { image: \"img:1\", expose: [8080], \
                    environment: { LEDGER_URL: \"http://ledger:8080\" } }\n  \
                    ledger: { image: \"img:1\", expose: [8080] }\n\
                    x-qalens:\n  links:\n    - { from: api, to: \"ledger:8080\", rewire: LEDGER_URL }\n";
        let system = System::parse(
            Path::new("test.yml"),
            Path::new(env!("CARGO_MANIFEST_DIR")),
            text,
            &|_| None,
        )
        .unwrap();
        let paths = std::slice::from_ref(&f);
        let at = |r: &crate::lint::Report| -> Vec<String> {
            r.problems.iter().map(|p| p.at.clone()).collect()
        };
        let line = |n: u32| format!("{}:{n}", f.display());

        // No proxy on api-ledger in this run: the fault step is located too.
        let none: Vec<String> = vec![];
        let report = feature_problems(paths, Some((&system, &none)));
        assert_eq!(at(&report), [line(4), line(5)], "{:#?}", report.problems);
        assert!(
            report.problems[1].message.contains("no fault proxy"),
            "{}",
            report.problems[1]
        );

        let proxied = ["api-ledger".to_string()];
        assert_eq!(
            at(&feature_problems(paths, Some((&system, &proxied)))),
            [line(4)]
        );
        assert_eq!(at(&feature_problems(paths, None)), [line(4)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
