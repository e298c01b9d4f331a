//! Backlogs: a burst of hundreds of events published on one channel, how many messages
//! wait in a queue (the broker's count, from a passive declare, so it works on any
//! queue of any system), and whether any message of the burst reached a dead-letter
//! queue. Single messages, duplicates and poison messages: [`super::queue`].

use std::time::Duration;

use cucumber::{then, when};
use lapin::options::{ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;

use super::StepResult;
use super::queue::{Outgoing, channel, event_for_order};
use crate::wait;
use crate::world::QaWorld;

/// The most messages a burst may have: enough for a backlog, bounded so no scenario
/// floods the broker.
const MAX_BURST: usize = 5000;

/// How long a burst may take to be confirmed, nacked messages published again included.
const BURST_DEADLINE: Duration = Duration::from_secs(60);

/// Publishes every message on one channel with confirms, all in flight at once, and
/// publishes again the ones the broker nacked until every one is confirmed. A message no
/// queue would receive fails the step.
async fn publish_burst(msgs: &[Outgoing]) -> StepResult {
    let (conn, ch) = channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let result = wait::until(BURST_DEADLINE, || {
        let ch = ch.clone();
        async move {
            let mut confirms = Vec::with_capacity(msgs.len());
            for msg in msgs {
                confirms.push(msg.publish(&ch).await?);
            }
            let mut nacked = 0;
            for confirm in confirms {
                let confirm = confirm
                    .await
                    .map_err(|e| format!("the broker did not confirm a message: {e}"))?;
                if !confirm.is_ack() {
                    nacked += 1;
                } else if confirm.take_message().is_some() {
                    return Err(
                        "no queue is bound for this routing key: the broker returned a message"
                            .into(),
                    );
                }
            }
            // Consumers deduplicate by message id: publishing the whole burst again after
            // a nack changes nothing for the messages that did arrive.
            match nacked {
                0 => Ok(Some(())),
                n => Err(format!("the broker nacked {n} of {} messages", msgs.len())),
            }
        }
    })
    .await;
    let _ = conn.close(200, "done".into()).await;
    result.map_err(|seen| format!("publishing a burst of {} messages: {seen}", msgs.len()))
}

#[when(
    regex = r"^a burst of (\d+) (OrderPlaced|OrderConfirmed|OrderCancelled) events for a new order of the client is published$"
)]
async fn burst(world: &mut QaWorld, n: usize, kind: String) -> StepResult {
    if n == 0 || n > MAX_BURST {
        return Err(format!("a burst has 1 to {MAX_BURST} messages, not {n}"));
    }
    let customer = world.client()?.id.clone();
    let order = uuid::Uuid::now_v7();
    let msgs = (0..n)
        .map(|_| event_for_order(world, &kind, customer.clone(), order))
        .collect::<Result<Vec<_>, _>>()?;
    publish_burst(&msgs).await?;
    world.burst = msgs.iter().map(|m| m.key.clone()).collect();
    world.message = msgs.last().cloned();
    Ok(())
}

/// Messages ready (waiting for a consumer) in `queue`, from a passive declare.
pub(crate) async fn ready_in(queue: &str) -> Result<u32, String> {
    let (conn, ch) = channel().await?;
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("the broker knows no queue {queue:?}: {e}"))?;
    let _ = conn.close(200, "done".into()).await;
    Ok(q.message_count())
}

#[then(expr = "within {int} seconds the queue {string} has {int} message(s) ready")]
async fn queue_depth(_world: &mut QaWorld, seconds: u64, queue: String, n: u32) -> StepResult {
    wait::until(Duration::from_secs(seconds), || {
        let queue = queue.clone();
        async move {
            match ready_in(&queue).await? {
                m if m == n => Ok(Some(())),
                m => Err(format!("{m} ready")),
            }
        }
    })
    .await
    .map_err(|seen| {
        format!("expected {n} message(s) ready in {queue} within {seconds} s, saw {seen}")
    })
}

#[then(expr = "within {int} seconds the queue {string} has at least {int} message(s) ready")]
async fn queue_backlog(_world: &mut QaWorld, seconds: u64, queue: String, n: u32) -> StepResult {
    wait::until(Duration::from_secs(seconds), || {
        let queue = queue.clone();
        async move {
            match ready_in(&queue).await? {
                m if m >= n => Ok(Some(())),
                m => Err(format!("{m} ready")),
            }
        }
    })
    .await
    .map_err(|seen| {
        format!(
            "expected at least {n} message(s) ready in {queue} within {seconds} s (a backlog the broker keeps), saw {seen}"
        )
    })
}

/// Every message in `queue` (up to [`MAX_BURST`] and a margin), read without taking any
/// out: each one's key (or message id) and x-death reason.
async fn peek_all(queue: &str) -> Result<Vec<(Option<String>, String)>, String> {
    let mut seen = vec![];
    super::queue::scan(queue, 2 * MAX_BURST, |key, (reason, _)| {
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
    let dead: Vec<(String, String)> = peek_all(&queue)
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
    ))
}
