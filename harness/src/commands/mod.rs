//! One module per `qalens` command; [`dispatch`] picks it. Every command that starts
//! containers runs its work under [`with_interrupt`], which owns the signals (SIGINT,
//! SIGTERM), a harness panic, and the last-resort removal of what the work left behind.

mod bench;
mod check;
mod contracts;
mod proxy;
mod run;
mod selftest;
mod token;
mod topology;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::FutureExt as _;

use crate::cli::Command;
use crate::runner::RunOptions;
use qalens_engine::cleanup;
use qalens_engine::topology::check_images;
use qalens_model::system::System;

pub use run::random_seed;

/// Runs one command; returns the process exit code.
pub async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Run {
            paths,
            tags,
            junit,
            json,
            html,
            messages,
            concurrency,
            defects,
            keep_on_failure,
            shuffle,
            attach,
            shard,
            shard_durations,
            timings,
            fail_fast,
            system,
        } => {
            // An attached run uses the system file its topology was started from.
            let system = match &attach {
                Some(target) => match run::system_for_attach(target, system.as_deref()).await {
                    Ok(file) => file,
                    Err(e) => {
                        eprintln!("qalens: --attach {e}");
                        return 2;
                    }
                },
                None => system,
            };
            // Nothing starts on a system file that cannot be used; an attached run starts
            // nothing, so only the file is checked.
            let system = match load_system(system.as_deref(), attach.is_none()).await {
                Ok(s) => Arc::new(s),
                Err(code) => return code,
            };
            let options = RunOptions {
                tags,
                junit,
                json,
                html,
                messages,
                defects: defects.clone(),
                concurrency,
                keep_on_failure,
                shuffle: shuffle.map(|seed| seed.unwrap_or_else(random_seed)),
                shard,
                shard_durations,
                timings,
                fail_fast,
                ..RunOptions::new(default_paths(paths))
            };
            match attach {
                Some(target) => run::attached(options, &target, &defects, system).await,
                None => run::run(options, &defects, system).await,
            }
        }
        Command::Up {
            env_file,
            detach,
            system,
        } => match load_system(system.as_deref(), true).await {
            Ok(s) => topology::up(env_file, detach, Arc::new(s)).await,
            Err(code) => code,
        },
        Command::Down { run_ids, all } => topology::down(run_ids, all).await,
        Command::Sweep => topology::sweep().await,
        Command::Selftest {
            paths,
            tags,
            defects,
            json,
            markdown,
            html,
            full,
            system,
        } => match load_system(system.as_deref(), true).await {
            Ok(s) => {
                let paths = default_paths(paths);
                selftest::selftest(
                    paths,
                    tags,
                    defects,
                    selftest::Outputs {
                        json,
                        markdown,
                        html,
                    },
                    full,
                    Arc::new(s),
                )
                .await
            }
            Err(code) => code,
        },
        Command::Bench {
            requests,
            json,
            system,
        } => match load_system(system.as_deref(), true).await {
            Ok(s) => bench::bench(requests, json, Arc::new(s)).await,
            Err(code) => code,
        },
        Command::Check {
            paths,
            system,
            strict,
        } => check::check(&default_paths(paths), system.as_deref(), strict).await,
        Command::Token {
            client,
            tier,
            scope,
            ttl,
            system,
        } => token::token(client, tier, scope, ttl, system.as_deref()).await,
        Command::Contracts { action } => contracts::contracts(action),
        Command::Steps { json, system } => match load_system(system.as_deref(), false).await {
            Ok(system) => check::steps(json, &system),
            Err(code) => code,
        },
        Command::Proxy => proxy::proxy().await,
    }
}

/// Loads the system file (`--system`, else the reference system) and, when `images`, checks
/// that the Docker engine has or can pull every image. On a problem, prints it and gives
/// exit code 2: nothing has started.
pub(crate) async fn load_system(file: Option<&Path>, images: bool) -> Result<System, u8> {
    let system = System::load_or_reference(file).map_err(|e| {
        eprintln!("qalens: {e}");
        2u8
    })?;
    if images {
        let docker = cleanup::docker().await.map_err(|e| {
            eprintln!("qalens: {e:#}");
            2u8
        })?;
        check_images(&docker, &system).await.map_err(|e| {
            eprintln!("qalens: {e}");
            2u8
        })?;
    }
    Ok(system)
}

/// The feature paths, `features` when none are given.
fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("features")]
    } else {
        paths
    }
}

/// What [`with_interrupt`] removes when the work is interrupted or panics.
pub(crate) enum Leftovers<'a> {
    /// Everything labelled with this run id.
    Run(&'a str),
    /// Everything this process started (a command that starts several runs).
    Owned,
    /// Nothing: the containers are not ours (an attached run); say so.
    NotOurs(&'a str),
}

/// Runs `work` until it finishes, a signal arrives (exit code 130 for SIGINT, 143 for
/// SIGTERM) or it panics (101). On a signal or a panic, the work is dropped (which drops
/// its container handles) and `leftovers` are removed; the error is the exit code.
pub(crate) async fn with_interrupt<T>(
    work: impl Future<Output = T>,
    leftovers: Leftovers<'_>,
) -> Result<T, u8> {
    let mut work = Box::pin(AssertUnwindSafe(work).catch_unwind());
    let outcome = tokio::select! {
        r = &mut work => Ok(r),
        code = interrupted() => Err(code),
    };
    // Dropping the work stops the scenarios and drops the container handles.
    drop(work);
    let (code, what) = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(_panic)) => (101, "the harness crashed"),
        Err(code) => (code, "interrupted"),
    };
    match leftovers {
        Leftovers::Run(run_id) => {
            eprintln!("qalens: {what}; removing the topology of {run_id}");
            remove_leftovers(run_id).await;
        }
        Leftovers::Owned => {
            eprintln!("qalens: {what}; removing every container this process started");
            if let Ok(docker) = cleanup::docker().await
                && let Err(e) = cleanup::remove_owned(&docker).await
            {
                eprintln!("qalens: cleanup after interrupt failed: {e:#}");
            }
        }
        Leftovers::NotOurs(run_id) => eprintln!(
            "qalens: {what}; {run_id} is left running, possibly with a fault or defect \
             still in effect (`qalens down {run_id}` removes it)"
        ),
    }
    Err(code)
}

/// Resolves on SIGINT or SIGTERM with the conventional exit code (130 or 143).
async fn interrupted() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return futures::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        130
    }
}
/// Removes whatever run `run_id` still has in Docker, saying what happened.
async fn remove_leftovers(run_id: &str) {
    match cleanup::docker().await {
        Ok(docker) => {
            match cleanup::remove_run_settled(&docker, run_id, std::time::Duration::from_secs(2))
                .await
            {
                Ok((0, 0)) => {}
                Ok((c, n)) => {
                    eprintln!("qalens: removed {c} container(s) and {n} network(s) of {run_id}")
                }
                Err(e) => eprintln!("qalens: could not remove the resources of {run_id}: {e:#}"),
            }
        }
        Err(e) => eprintln!("qalens: could not remove the resources of {run_id}: {e:#}"),
    }
}
