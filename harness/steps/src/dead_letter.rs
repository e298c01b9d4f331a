//! Any queue the system file declares (`x-qalens.broker.queues`): publish any body to it,
//! and whether a message its consumer cannot handle is dead-lettered. A queue with a
//! `dead_letter` queue is watched there; one without is watched for what happens to the
//! message instead. Either way a failure says where the message is
//! ([`crate::whereabouts`]): still ready, held by a consumer, redelivered how often.

use std::time::Duration;

use cucumber::{then, when};
use uuid::Uuid;

use super::StepResult;
use crate::StepError;
use crate::whereabouts::{self, Watch};
use crate::world::QaWorld;
use qalens_engine::clients::amqp::{Outgoing, await_taken, ready_in};
use qalens_engine::context::RunContext;
use qalens_engine::wait;

/// The dead-letter queue of `queue`, which must be declared in the system file.
pub(crate) fn dead_letter_of(ctx: &RunContext, queue: &str) -> Result<Option<String>, StepError> {
    ctx.endpoints.queues.get(queue).cloned().ok_or_else(|| {
        format!("the queue {queue:?} is not declared in the system file (x-qalens.broker.queues)")
            .into()
    })
}

#[when(expr = "the message {string} is published to the queue {string}")]
async fn publish_to_queue(world: &mut QaWorld, body: String, queue: String) -> StepResult {
    dead_letter_of(&*world.ctx()?, &queue)?;
    let key = world.scoped(&format!("message-{}", Uuid::now_v7().simple()));
    // The default exchange routes by queue name: straight into `queue`.
    let msg = Outgoing {
        content_type: None,
        body: world.fill_for_message(&body, &key).into_bytes(),
        ..Outgoing::json("", &queue, &key, vec![])
    };
    crate::queue::publish_tracked(world, msg).await
}

#[then(expr = "within {int} seconds the message from the queue {string} is dead-lettered")]
async fn dead_lettered(world: &mut QaWorld, seconds: u64, queue: String) -> StepResult {
    let key = world
        .message
        .as_ref()
        .map(|m| m.key.clone())
        .ok_or("no message was published before this step")?;
    let deadline = Duration::from_secs(seconds);
    let ctx = world.ctx()?;
    // Redeliveries are counted from the message's publication when they were counted
    // then, else from now.
    let published = world
        .queued
        .iter()
        .rev()
        .find(|q| q.key == key && q.queue == queue)
        .and_then(Watch::since_published);
    let watch = match published {
        Some(w) => w,
        None => Watch::start(&ctx, &queue).await,
    };
    if let Some(dlq) = dead_letter_of(&ctx, &queue)? {
        let Err(waited) = await_taken(&ctx, &dlq, &key, deadline).await else {
            return Ok(());
        };
        let seen_there = if waited.is_cancelled() {
            String::new()
        } else {
            format!(
                "\n{}",
                whereabouts::describe(&ctx, world, &queue, Some(&watch)).await
            )
        };
        return Err(waited
            .map(|seen| {
                format!(
                    "expected the message from {queue} in its dead-letter queue {dlq} within {seconds} s: {seen}{seen_there}"
                )
            })
            .into());
    }
    // No dead-letter queue: RabbitMQ has nowhere to put the message. Watch where it goes.
    let gone = wait::until(deadline, || {
        let queue = queue.clone();
        let ctx = ctx.clone();
        async move {
            match ready_in(&ctx, &queue).await.map_err(|e| e.to_string())? {
                0 => Ok(Some(())),
                n => Err(format!("{n} message(s) still ready in {queue}")),
            }
        }
    })
    .await;
    let never = |fate: String| {
        format!(
            "message {key} was never dead-lettered: the queue {queue:?} has no dead-letter queue \
             (x-qalens.broker.queues declares none), so a message its consumer cannot handle is \
             dropped or stays; {fate}"
        )
    };
    // Cancelled by the early stop, it stays a cancellation and looks no further.
    let seen_there = match &gone {
        Err(waited) if waited.is_cancelled() => String::new(),
        _ => format!(
            "\n{}",
            whereabouts::describe(&ctx, world, &queue, Some(&watch)).await
        ),
    };
    Err(match gone {
        Ok(()) => never(format!(
            "a consumer has taken it from {queue} (no message is ready there) and nothing \
             dead-lettered it{seen_there}"
        ))
        .into(),
        Err(waited) => waited
            .map(|seen| never(format!("after {seconds} s: {seen}{seen_there}")))
            .into(),
    })
}
