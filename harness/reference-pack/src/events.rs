//! The order events exchange: order events published as the orders service would
//! (single, twice, in a burst, with a sentinel behind them), and what the analytics
//! consumer counted for an order.

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::ORDER_EVENTS_EXCHANGE;
use cucumber::{then, when};
use uuid::Uuid;

use crate::domain::{current_order, event_for_order, event_of, peek, publish_sentinel, require};
use qalens_engine::clients::amqp::{MAX_BURST, Outgoing, publish, publish_burst};
use qalens_engine::clients::inspect::get_json;
use qalens_engine::context::RunContext;
use qalens_engine::wait;
use qalens_steps::world::QaWorld;
use qalens_steps::{StepError, StepResult};

#[when(
    expr = "the message {string} is published to the order events exchange with routing key {string}"
)]
async fn publish_raw(world: &mut QaWorld, body: String, routing_key: String) -> StepResult {
    require(world)?;
    let key = world.scoped(&format!("message-{}", Uuid::now_v7().simple()));
    world
        .publish_as_last(Outgoing::json(
            ORDER_EVENTS_EXCHANGE,
            &routing_key,
            &key,
            body.into_bytes(),
        ))
        .await
}

#[when(
    regex = r"^an (OrderPlaced|OrderConfirmed|OrderCancelled) event for a new order of the client is published$"
)]
async fn publish_event(world: &mut QaWorld, kind: String) -> StepResult {
    require(world)?;
    let msg = event_of(world, &kind)?;
    world.publish_as_last(msg).await
}

#[when(
    regex = r"^an (OrderPlaced|OrderConfirmed|OrderCancelled) event for a new order of the client is delivered twice$"
)]
async fn publish_twice(world: &mut QaWorld, kind: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let msg = event_of(world, &kind)?;
    publish(ctx, &msg).await?;
    world.publish_as_last(msg).await?;
    publish_sentinel(world).await
}

#[when(expr = "a sentinel event is published after the others")]
async fn sentinel(world: &mut QaWorld) -> StepResult {
    require(world)?;
    publish_sentinel(world).await
}

/// The events analytics counted for one order, by type (its inspection endpoint).
async fn analytics_counts(
    ctx: &RunContext,
    order: uuid::Uuid,
) -> Result<BTreeMap<String, u64>, StepError> {
    Ok(get_json(
        ctx,
        format!(
            "{}/internal/analytics/orders/{order}",
            ctx.endpoints.inspection("analytics")?
        ),
    )
    .await?)
}

#[then(
    expr = "within {int} second(s) analytics counted exactly {int} {word} event(s) for the order"
)]
async fn analytics_counted(world: &mut QaWorld, seconds: u64, n: u64, kind: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let order = current_order(world)?.id;
    let deadline = Duration::from_secs(seconds);
    if let Some(sentinel) = peek(world).sentinel.as_ref().map(|s| s.id) {
        // Analytics handles its queue in order: once it counted the sentinel, it counted
        // everything published before it, so the counts below are final.
        wait::until(deadline, || async move {
            let counts = analytics_counts(ctx, sentinel)
                .await
                .map_err(|e| e.to_string())?;
            match counts.values().sum::<u64>() {
                0 => Err(format!(
                    "the sentinel (order {sentinel}) is not counted yet"
                )),
                _ => Ok(Some(())),
            }
        })
        .await
        .map_err(|waited| {
            waited.map(|seen| {
                format!("analytics did not count the sentinel within {seconds} s: {seen}")
            })
        })?;
    }
    let expected: BTreeMap<String, u64> = (n > 0).then(|| (kind.clone(), n)).into_iter().collect();
    let mismatch = |seen: String| {
        format!(
            "expected analytics to count exactly {n} {kind} event(s) for order {order} (and no other type), saw {seen}"
        )
    };
    if peek(world).sentinel.is_some() {
        // The counts are final: one look.
        let counts = analytics_counts(ctx, order).await?;
        return if counts == expected {
            Ok(())
        } else {
            Err(mismatch(format!("{counts:?}")).into())
        };
    }
    wait::until(deadline, || {
        let expected = expected.clone();
        async move {
            let counts = analytics_counts(ctx, order)
                .await
                .map_err(|e| e.to_string())?;
            if counts == expected {
                Ok(Some(()))
            } else {
                Err(format!("{counts:?}"))
            }
        }
    })
    .await
    .map_err(|waited| waited.map(mismatch))?;
    Ok(())
}

#[when(
    regex = r"^a burst of (\d+) (OrderPlaced|OrderConfirmed|OrderCancelled) events for a new order of the client is published$"
)]
async fn burst(world: &mut QaWorld, n: usize, kind: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    if n == 0 || n > MAX_BURST {
        return Err(format!("a burst has 1 to {MAX_BURST} messages, not {n}").into());
    }
    let customer = world.client()?.id.clone();
    let order = uuid::Uuid::now_v7();
    let msgs = (0..n)
        .map(|_| event_for_order(world, &kind, customer.clone(), order))
        .collect::<Result<Vec<_>, _>>()?;
    publish_burst(ctx, &msgs).await?;
    world.burst = msgs.iter().map(|m| m.key.clone()).collect();
    if let Some(last) = msgs.last() {
        world.remember_last(last.clone());
    }
    Ok(())
}

/// How often the email consumer was handed the scenario's last message: its first
/// delivery and every redelivery (`/internal/consumer/attempts/{message_id}`). After the
/// message was dead-lettered for its delivery limit, that is the limit plus one.
#[then(expr = "the email consumer received the message exactly {int} time(s)")]
async fn email_attempts(world: &mut QaWorld, expected: u64) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let id = world
        .message
        .as_ref()
        .and_then(|m| m.message_id.clone())
        .ok_or("the scenario published no message with a message id before this step")?;
    let url = format!(
        "{}/internal/consumer/attempts/{id}",
        ctx.endpoints.inspection("email")?
    );
    let seen: serde_json::Value = get_json(ctx, url).await?;
    let attempts = seen["attempts"]
        .as_u64()
        .ok_or_else(|| format!("the email consumer answered no attempt count: {seen}"))?;
    if attempts == expected {
        Ok(())
    } else {
        Err(
            format!("the email consumer received message {id} {attempts} times, not {expected}")
                .into(),
        )
    }
}
