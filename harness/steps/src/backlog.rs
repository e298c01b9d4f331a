//! Backlogs: how many messages wait in a queue (the broker's count, from a passive
//! declare, so it works on any queue of any system), and whether any message of the
//! scenario's burst (`When 400 messages "..." are published to the queue "jobs"`, or a
//! pack's) reached a dead-letter queue. A wait that fails says what the queue holds
//! instead ([`crate::whereabouts`]). Single messages, duplicates and poison messages:
//! [`super::queue`].

use std::time::Duration;

use cucumber::then;

use super::StepResult;
use crate::StepError;
use crate::whereabouts::{self, Watch};
use crate::world::QaWorld;
use qalens_engine::clients::amqp::{MAX_BURST, ready_in, scan};
use qalens_engine::context::RunContext;
use qalens_engine::wait;

/// `waited`, a wait on `queue` that failed, with what the queue holds now
/// ([`whereabouts::describe`]) unless the early stop cut it short.
async fn with_queue_state(
    ctx: &RunContext,
    world: &QaWorld,
    queue: &str,
    watch: &Watch,
    waited: wait::Waited,
    message: impl FnOnce(String) -> String,
) -> StepError {
    let there = if waited.is_cancelled() {
        String::new()
    } else {
        format!(
            "\n{}",
            whereabouts::describe(ctx, world, queue, Some(watch)).await
        )
    };
    waited
        .map(|seen| format!("{}{there}", message(seen)))
        .into()
}

#[then(expr = "within {int} seconds the queue {string} has {int} message(s) ready")]
async fn queue_depth(world: &mut QaWorld, seconds: u64, queue: String, n: u32) -> StepResult {
    let ctx = world.ctx()?;
    let watch = Watch::start(&ctx, &queue).await;
    let outcome = wait::until(Duration::from_secs(seconds), || {
        let queue = queue.clone();
        let ctx = ctx.clone();
        async move {
            match ready_in(&ctx, &queue).await.map_err(|e| e.to_string())? {
                m if m == n => Ok(Some(())),
                m => Err(format!("{m} ready")),
            }
        }
    })
    .await;
    let Err(waited) = outcome else {
        return Ok(());
    };
    Err(
        with_queue_state(&ctx, world, &queue, &watch, waited, |seen| {
            format!("expected {n} message(s) ready in {queue} within {seconds} s, saw {seen}")
        })
        .await,
    )
}

#[then(expr = "within {int} seconds the queue {string} has at least {int} message(s) ready")]
async fn queue_backlog(world: &mut QaWorld, seconds: u64, queue: String, n: u32) -> StepResult {
    let ctx = world.ctx()?;
    let watch = Watch::start(&ctx, &queue).await;
    let outcome = wait::until(Duration::from_secs(seconds), || {
        let queue = queue.clone();
        let ctx = ctx.clone();
        async move {
            match ready_in(&ctx, &queue).await.map_err(|e| e.to_string())? {
                m if m >= n => Ok(Some(())),
                m => Err(format!("{m} ready")),
            }
        }
    })
    .await;
    let Err(waited) = outcome else {
        return Ok(());
    };
    Err(with_queue_state(&ctx, world, &queue, &watch, waited, |seen| {
        format!(
            "expected at least {n} message(s) ready in {queue} within {seconds} s (a backlog the broker keeps), saw {seen}"
        )
    })
    .await)
}

/// Every message in `queue` (up to [`MAX_BURST`] and a margin), read without taking any
/// out: each one's key (or message id) and x-death reason.
async fn peek_all(
    ctx: &RunContext,
    queue: &str,
) -> Result<Vec<(Option<String>, String)>, StepError> {
    let mut seen = vec![];
    scan(ctx, queue, 2 * MAX_BURST, |key, (reason, _)| {
        seen.push((key, reason));
        false
    })
    .await?;
    Ok(seen)
}

#[then(expr = "no message of the burst is in the dead-letter queue {string}")]
async fn burst_not_dead_lettered(world: &mut QaWorld, queue: String) -> StepResult {
    if world.burst.is_empty() {
        return Err("no burst was published before this step".into());
    }
    let burst: std::collections::HashSet<&str> = world.burst.iter().map(String::as_str).collect();
    let dead: Vec<(String, String)> = peek_all(&*world.ctx()?, &queue)
        .await?
        .into_iter()
        .filter_map(|(key, reason)| {
            key.filter(|k| burst.contains(k.as_str()))
                .map(|k| (k, reason))
        })
        .collect();
    if dead.is_empty() {
        return Ok(());
    }
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, reason) in &dead {
        *reasons.entry(reason.as_str()).or_default() += 1;
    }
    Err(format!(
        "{} of the burst's {} messages are in {queue} (x-death reasons: {reasons:?}); the first: {}",
        dead.len(),
        world.burst.len(),
        dead[0].0
    ).into())
}
