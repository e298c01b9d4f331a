//! A queue's consumer side and its state: how many consumers a queue has (a passive
//! declare), how many messages they hold delivered and not acknowledged
//! ([`broker::holding`]), how often the broker redelivered the scenario's message (the
//! management API), and a queue emptied before the scenario works on it.
//!
//! Emptying a queue and counting its redeliveries need the broker to the scenario alone
//! (`@disrupts:<broker>`; `qalens check` says so): other scenarios' messages would be
//! purged, or counted. Such a scenario starts from empty declared queues anyway (the
//! runner purges them first); the step says so in the feature, and fails when a consumer
//! holds a message a purge cannot remove.

use std::time::Duration;

use cucumber::{given, then};

use super::StepResult;
use crate::StepError;
use crate::whereabouts::{self, Watch};
use crate::world::QaWorld;
use qalens_engine::clients::amqp;
use qalens_engine::clients::broker::{self, Holding};
use qalens_engine::wait;

/// How long `the queue ... is empty` lets consumers finish messages they hold (purging
/// again what they put back) before it fails.
const SETTLE: Duration = Duration::from_secs(5);

/// Why a queue that was just purged is not empty, if it is not.
fn not_empty(queue: &str, h: &Holding) -> Option<String> {
    match (h.ready, h.unacknowledged) {
        (0, 0) => None,
        (ready, 0) => Some(format!(
            "{ready} message(s) arrived in {queue} right after the purge: something still publishes there"
        )),
        (_, held) => Some(format!(
            "{held} message(s) of {queue} are delivered to its {} consumer(s) and neither acknowledged nor rejected: a purge removes only the messages that wait. A consumer that never acknowledges a message it cannot handle, or puts it back again and again, keeps it at the head of its queue, and every message behind it waits: stop the consumer first, or let the queue dead-letter what its consumer rejects",
            h.consumers
        )),
    }
}

#[given(expr = "the queue {string} is empty")]
async fn queue_is_empty(world: &mut QaWorld, queue: String) -> StepResult {
    let ctx = world.ctx()?;
    declared(&ctx, &queue)?;
    let outcome = wait::until(SETTLE, || {
        let (ctx, queue) = (ctx.clone(), queue.clone());
        async move {
            if amqp::purge(&ctx, &queue).await?.is_none() {
                // Not declared yet: its consumer declares it when it starts. Empty.
                return Ok(Some(()));
            }
            let h = broker::holding(&ctx, &queue).await?;
            match not_empty(&queue, &h) {
                None => Ok(Some(())),
                Some(why) => Err(StepError::from(why)),
            }
        }
    })
    .await;
    outcome.map_err(|waited| {
        waited
            .map(|seen| {
                format!(
                    "the queue {queue:?} is not empty {} s after it was purged: {seen}",
                    SETTLE.as_secs()
                )
            })
            .into()
    })
}

/// Fails unless the system file declares `queue` (as a queue or a dead-letter queue).
fn declared(ctx: &qalens_engine::context::RunContext, queue: &str) -> StepResult {
    if amqp::declared_queues(ctx).iter().any(|q| q == queue) {
        Ok(())
    } else {
        Err(format!(
            "the queue {queue:?} is not declared in the system file (x-qalens.broker.queues)"
        )
        .into())
    }
}

#[then(expr = "within {int} seconds the queue {string} has {int} consumer(s)")]
async fn consumers(world: &mut QaWorld, seconds: u64, queue: String, n: u32) -> StepResult {
    let ctx = world.ctx()?;
    let outcome = wait::until(Duration::from_secs(seconds), || {
        let (ctx, queue) = (ctx.clone(), queue.clone());
        async move {
            match amqp::depth(&ctx, &queue).await?.consumers {
                m if m == n => Ok(Some(())),
                m => Err(StepError::from(format!("{m} consumer(s)"))),
            }
        }
    })
    .await;
    outcome.map_err(|waited| {
        waited
            .map(|seen| {
                format!("expected {n} consumer(s) of {queue} within {seconds} s, saw {seen}")
            })
            .into()
    })
}

#[then(expr = "within {int} seconds the queue {string} has {int} message(s) unacknowledged")]
async fn unacknowledged(world: &mut QaWorld, seconds: u64, queue: String, n: u32) -> StepResult {
    let ctx = world.ctx()?;
    let watch = Watch::start(&ctx, &queue).await;
    let outcome = wait::until(Duration::from_secs(seconds), || {
        let (ctx, queue) = (ctx.clone(), queue.clone());
        async move {
            let h = broker::holding(&ctx, &queue).await?;
            match h.unacknowledged {
                m if m == n => Ok(Some(())),
                m => Err(StepError::from(format!(
                    "{m} unacknowledged ({} ready, {} consumer(s))",
                    h.ready, h.consumers
                ))),
            }
        }
    })
    .await;
    let Err(waited) = outcome else {
        return Ok(());
    };
    let there = if waited.is_cancelled() {
        String::new()
    } else {
        format!(
            "\n{}",
            whereabouts::describe(&ctx, world, &queue, Some(&watch)).await
        )
    };
    Err(waited
        .map(|seen| {
            format!(
                "expected {n} message(s) of {queue} delivered and not acknowledged within {seconds} s, saw {seen}{there}"
            )
        })
        .into())
}

#[then(expr = "within {int} seconds the message was redelivered at least {int} time(s)")]
async fn redelivered(world: &mut QaWorld, seconds: u64, n: u64) -> StepResult {
    let key = world
        .message
        .as_ref()
        .map(|m| m.key.clone())
        .ok_or("no message was published before this step")?;
    let sent = world
        .queued
        .iter()
        .rev()
        .find(|q| q.key == key)
        .cloned()
        .ok_or(
            "the scenario's last message went to an exchange, not straight into a declared queue: publish it with `When the message \"...\" is published to the queue \"...\"`",
        )?;
    let ctx = world.ctx()?;
    let before = sent.redeliveries_before.ok_or(StepError::from(
        "the broker's redeliveries were not counted when the message was published: the \
         system file declares no management API (x-qalens.broker.management_port), or it \
         did not answer",
    ))?;
    let queue = sent.queue.clone();
    let outcome = wait::until(Duration::from_secs(seconds), || {
        let (ctx, queue) = (ctx.clone(), queue.clone());
        async move {
            let count = broker::redeliveries(&ctx, &queue)
                .await?
                .saturating_sub(before);
            if count >= n {
                Ok(Some(()))
            } else {
                Err(StepError::from(format!(
                    "{count} redelivery(ies) from {queue} since it was published"
                )))
            }
        }
    })
    .await;
    outcome.map_err(|waited| {
        waited
            .map(|seen| {
                format!(
                    "expected message {key} to be redelivered at least {n} time(s) within {seconds} s, saw {seen} (the management API's statistics)"
                )
            })
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ready: u32, unacknowledged: u32) -> Holding {
        Holding {
            ready,
            unacknowledged,
            consumers: 1,
        }
    }

    #[test]
    fn a_purged_queue_is_empty_unless_a_consumer_holds_a_message() {
        assert_eq!(not_empty("jobs", &h(0, 0)), None);
        let held = not_empty("jobs", &h(3, 1)).unwrap();
        assert!(
            held.starts_with("1 message(s) of jobs are delivered to its 1 consumer(s)"),
            "{held}"
        );
        assert!(
            held.contains("a purge removes only the messages that wait"),
            "{held}"
        );
        let arrived = not_empty("jobs", &h(2, 0)).unwrap();
        assert!(
            arrived.contains("something still publishes there"),
            "{arrived}"
        );
    }
}
