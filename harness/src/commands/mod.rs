//! One module per `qalens` command; [`dispatch`] picks it. Every command that starts
//! containers runs its work under `with_interrupt`, which owns the signals (SIGINT,
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
use std::path::Path;

use futures::FutureExt as _;

use crate::cli::Command;
use crate::exit::{Exit, Signal};
use qalens_engine::cleanup;
use qalens_engine::topology::check_images;
use qalens_model::system::System;

/// Runs one command; returns how it ended.
pub async fn dispatch(command: Command) -> Exit {
    match command {
        Command::Run {
            options,
            attach,
            system,
        } => run::run(options, attach, system).await,
        Command::Up {
            env_file,
            detach,
            system,
        } => topology::up(env_file, detach, system).await,
        Command::Down { run_ids, all } => topology::down(run_ids, all).await,
        Command::Sweep => topology::sweep().await,
        Command::Bench {
            requests,
            json,
            system,
        } => bench::bench(requests, json, system).await,
        Command::Check {
            paths,
            system,
            strict,
        } => check::check(&paths, system, strict).await,
        Command::Selftest(args) => selftest::selftest(args).await,
        Command::Token(args) => token::token(args).await,
        Command::Contracts { action } => contracts::contracts(action),
        Command::Steps { json, system } => check::steps(json, system).await,
        Command::Proxy => proxy::proxy().await,
    }
}

/// Loads the system file (`--system`, else the reference system) and, when `images`, checks
/// that the Docker engine has or can pull every image. On a problem, prints it and gives
/// [`Exit::NotRun`]: nothing has started.
async fn load_system(file: Option<&Path>, images: bool) -> Result<System, Exit> {
    let system = System::load_or_reference(file).map_err(|e| {
        eprintln!("qalens: {e}");
        Exit::NotRun
    })?;
    if images {
        let docker = cleanup::docker().await.map_err(|e| {
            eprintln!("qalens: {e:#}");
            Exit::NotRun
        })?;
        check_images(&docker, &system).await.map_err(|e| {
            eprintln!("qalens: {e}");
            Exit::NotRun
        })?;
    }
    Ok(system)
}

/// What [`with_interrupt`] removes when the work is interrupted or panics.
enum Leftovers<'a> {
    /// Everything labelled with this run id.
    Run(&'a str),
    /// Everything this process started (a command that starts several runs).
    Owned,
    /// Nothing: the containers are not ours (an attached run); say so.
    NotOurs(&'a str),
}

/// Runs `work` until it finishes, a signal arrives ([`Exit::Interrupted`]) or it panics
/// ([`Exit::Crashed`]). On a signal or a panic, the work is dropped (which drops its
/// container handles) and `leftovers` are removed; the error is how the command ends.
async fn with_interrupt<T>(
    work: impl Future<Output = T>,
    leftovers: Leftovers<'_>,
) -> Result<T, Exit> {
    let mut work = Box::pin(AssertUnwindSafe(work).catch_unwind());
    let outcome = tokio::select! {
        r = &mut work => Ok(r),
        signal = interrupted() => Err(signal),
    };
    // Dropping the work stops the scenarios and drops the container handles.
    drop(work);
    let (exit, what) = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(_panic)) => (Exit::Crashed, "the harness crashed"),
        Err(signal) => (Exit::Interrupted(signal), "interrupted"),
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
    Err(exit)
}

/// Resolves on SIGINT or SIGTERM with the signal that arrived.
async fn interrupted() -> Signal {
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
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
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
