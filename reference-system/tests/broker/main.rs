//! The reference system's broker paths against a real RabbitMQ in a container: the email
//! and analytics consumers, the orders outbox relay, and a broker outage.
//!
//! One RabbitMQ container serves every test of this binary (RabbitMQ takes seconds to
//! start). Each test gets a virtual host of its own on it (its own `orders.events`,
//! dead-letter exchange and queues) and its own queue names, so the tests run
//! concurrently without seeing each other's messages: every email queue binds
//! `order.confirmed` on the events exchange, so on one shared virtual host each test's
//! messages would reach every other test's consumer.
//!
//! The image comes from `QALENS_RABBITMQ_IMAGE` (`NAME:TAG`, default
//! `rabbitmq:3.13-management`, the harness's default) and must run `rabbitmq-server` with
//! the management plugin and a `guest` user allowed to log in over the network.
//!
//! This binary has its own `main` instead of libtest (`harness = false`): libtest runs
//! each test on a runtime of its own, so a container started by one test cannot outlive
//! it, and a container kept in a `static` is never dropped, so it would be left running
//! after the last test. Here `main` owns the container and removes it when the tests end,
//! failed, panicked, timed out or interrupted (SIGINT, SIGTERM). Tests marked exclusive
//! (the outage, which stops the broker) run alone after the others.
//!
//! Arguments as with libtest: name filters (substring, or whole name with `--exact`),
//! `--skip FILTER`, `--list`, `--ignored` (none is), `--test-threads N`; others are
//! ignored. `RUST_LOG` turns on the services' logs; `REFSYS_DEFECTS` switches on
//! reference-system defects, to see these tests catch them.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod analytics;
mod email;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod outage;
mod relay;
mod support;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::task::JoinSet;

use support::Broker;

type TestFn = fn(Arc<Broker>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

struct Test {
    name: &'static str,
    /// Takes the shared broker down: runs alone, after the others.
    exclusive: bool,
    run: TestFn,
}

macro_rules! test {
    ($module:ident :: $name:ident) => {
        test!($module::$name, false)
    };
    ($module:ident :: $name:ident, exclusive) => {
        test!($module::$name, true)
    };
    ($module:ident :: $name:ident, $exclusive:expr) => {
        Test {
            name: concat!(stringify!($module), "::", stringify!($name)),
            exclusive: $exclusive,
            run: |broker| Box::pin($module::$name(broker)),
        }
    };
}

fn all_tests() -> Vec<Test> {
    vec![
        test!(email::a_confirmed_order_is_emailed_once_however_often_it_is_delivered),
        test!(email::an_unparseable_message_is_dead_lettered_at_once_and_the_consumer_keeps_going),
        test!(email::a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit),
        test!(email::the_consumer_reports_the_depths_the_broker_reports),
        test!(analytics::each_event_type_is_counted_once_per_message_id),
        test!(relay::an_order_s_events_are_published_persistent_with_their_event_id),
        test!(relay::an_order_s_events_carry_the_trace_context_of_the_request_that_placed_it),
        test!(
            outage::orders_complete_during_a_broker_outage_and_their_events_arrive_after_it,
            exclusive
        ),
    ]
}

/// Longest a test may take; the outage waits for a broker restart.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

struct Args {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    /// `--ignored`: only ignored tests, and none here is.
    ignored_only: bool,
    threads: Option<usize>,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            filters: vec![],
            skip: vec![],
            exact: false,
            list: false,
            ignored_only: false,
            threads: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--exact" => args.exact = true,
                "--list" => args.list = true,
                // No test here is ignored: `--ignored` selects none.
                "--ignored" => args.ignored_only = true,
                "--skip" => args.skip.extend(it.next()),
                "--test-threads" => args.threads = it.next().and_then(|n| n.parse().ok()),
                // libtest options that take a value.
                "--format" | "--color" | "--logfile" | "-Z" => {
                    it.next();
                }
                _ if a.starts_with("--test-threads=") => {
                    args.threads = a["--test-threads=".len()..].parse().ok();
                }
                _ if a.starts_with("--skip=") => args.skip.push(a["--skip=".len()..].into()),
                _ if a.starts_with('-') => {}
                _ => args.filters.push(a),
            }
        }
        args
    }

    fn selects(&self, name: &str) -> bool {
        let matches = |f: &String| {
            if self.exact {
                name == f
            } else {
                name.contains(f.as_str())
            }
        };
        !self.ignored_only
            && (self.filters.is_empty() || self.filters.iter().any(matches))
            && !self.skip.iter().any(|s| name.contains(s.as_str()))
    }
}

fn main() -> ExitCode {
    support::ensure_fail_marker_env();
    let args = Args::parse();
    let tests: Vec<Test> = all_tests()
        .into_iter()
        .filter(|t| args.selects(t.name))
        .collect();
    if args.list {
        for t in &tests {
            println!("{}: test", t.name);
        }
        return ExitCode::SUCCESS;
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    if let Err(e) = refsys::defects::init_from_env() {
        eprintln!("REFSYS_DEFECTS: {e}");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(tests, args.threads))
}

struct Finished {
    name: &'static str,
    took: Duration,
    failure: Option<String>,
}

async fn run(tests: Vec<Test>, threads: Option<usize>) -> ExitCode {
    println!("\nrunning {} tests", tests.len());
    let started = Instant::now();
    if tests.is_empty() {
        println!("\ntest result: ok. 0 passed; 0 failed; finished in 0.00s\n");
        return ExitCode::SUCCESS;
    }
    let broker = Arc::new(Broker::start().await);
    println!(
        "broker: {} (AMQP on 127.0.0.1:{}), started in {:.1}s",
        broker.image,
        broker.amqp_port,
        started.elapsed().as_secs_f64()
    );

    let mut running = JoinSet::new();
    let mut finished = vec![];
    let interrupted = tokio::select! {
        () = run_all(&tests, &broker, threads, &mut running, &mut finished) => None,
        signal = support::interrupted() => Some(signal),
    };
    // Aborts what still runs and waits for it, so no test holds the broker any more.
    running.shutdown().await;
    broker_removed(broker).await;

    if let Some(signal) = interrupted {
        eprintln!("\ninterrupted by {signal}; the broker container was removed");
        // As a shell reports death by that signal: 128 + its number.
        return ExitCode::from(if signal == "SIGTERM" { 143 } else { 130 });
    }
    let failed: Vec<&Finished> = finished.iter().filter(|f| f.failure.is_some()).collect();
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for f in &failed {
            println!(
                "---- {} ----\n{}\n",
                f.name,
                f.failure.as_deref().unwrap_or("")
            );
        }
        println!("failures:");
        for f in &failed {
            println!("    {}", f.name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        finished.len() - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}

/// Runs the shared tests concurrently (at most `threads` at once), then the exclusive
/// ones one by one, pushing each result as it ends.
async fn run_all(
    tests: &[Test],
    broker: &Arc<Broker>,
    threads: Option<usize>,
    running: &mut JoinSet<Finished>,
    finished: &mut Vec<Finished>,
) {
    let (exclusive, shared): (Vec<&Test>, Vec<&Test>) = tests.iter().partition(|t| t.exclusive);
    let permits = Arc::new(tokio::sync::Semaphore::new(
        threads.unwrap_or(shared.len()).max(1),
    ));
    for t in shared {
        let permits = permits.clone();
        let (name, run, broker) = (t.name, t.run, broker.clone());
        running.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("never closed");
            run_one(name, run, broker).await
        });
    }
    while let Some(done) = running.join_next().await {
        finished.push(report(done.expect("run_one catches panics")));
    }
    for t in exclusive {
        running.spawn(run_one(t.name, t.run, broker.clone()));
        while let Some(done) = running.join_next().await {
            finished.push(report(done.expect("run_one catches panics")));
        }
    }
}

async fn run_one(name: &'static str, run: TestFn, broker: Arc<Broker>) -> Finished {
    let start = Instant::now();
    let outcome =
        tokio::time::timeout(TEST_TIMEOUT, AssertUnwindSafe(run(broker)).catch_unwind()).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(panic)) => Some(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()),
        ),
        Err(_) => Some(format!("timed out after {TEST_TIMEOUT:?}")),
    };
    Finished {
        name,
        took: start.elapsed(),
        failure,
    }
}

fn report(f: Finished) -> Finished {
    println!(
        "test {} ... {} ({:.1}s)",
        f.name,
        if f.failure.is_none() { "ok" } else { "FAILED" },
        f.took.as_secs_f64()
    );
    f
}

/// Removes the container now, reporting a failure to do so (a leaked container is named
/// so it can be removed by hand).
async fn broker_removed(broker: Arc<Broker>) {
    match Arc::try_unwrap(broker) {
        Ok(broker) => broker.remove().await,
        // Unreachable: every test task has ended. Dropping the last reference removes it.
        Err(still_shared) => drop(still_shared),
    }
}
