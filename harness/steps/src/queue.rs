//! Queues and messages: publish a raw message to any exchange, one message or a burst of
//! them, deliver the same message twice, find a message in a dead-letter queue. (Queue
//! depths: [`super::backlog`]; consumers and held messages: [`super::consumers`]; a
//! pack's domain events: `packs`.)

use std::time::{Duration, Instant};

use cucumber::gherkin::Step;
use cucumber::{then, when};
use uuid::Uuid;

use super::StepResult;
use crate::whereabouts;
use crate::world::{QaWorld, Queued};
use qalens_engine::clients::amqp::{MAX_BURST, Outgoing, await_taken, publish, publish_burst};
use qalens_engine::clients::broker;
use qalens_engine::context::RunContext;
use qalens_model::input::shorten;

/// The declared queue `msg` goes straight into (the default exchange routes by queue
/// name), if any.
fn straight_into(ctx: &RunContext, msg: &Outgoing) -> Option<String> {
    (msg.exchange.is_empty() && ctx.endpoints.queues.contains_key(&msg.routing_key))
        .then(|| msg.routing_key.clone())
}

/// A key unique to the scenario for a message about to be published.
fn fresh_key(world: &QaWorld) -> String {
    world.scoped(&format!("message-{}", Uuid::now_v7().simple()))
}

/// Remembers `msgs`, just published into `queue`, in the scenario's [`QaWorld::queued`].
fn remember_queued(world: &mut QaWorld, queue: &str, msgs: &[Outgoing], before: Option<u64>) {
    let at = Instant::now();
    for msg in msgs {
        world.queued.push(Queued {
            queue: queue.to_string(),
            key: msg.key.clone(),
            body: format!(
                "{:?}",
                shorten(&String::from_utf8_lossy(&msg.body), 60).to_string()
            ),
            at,
            redeliveries_before: before,
        });
    }
}

/// The broker's redelivery count for `queue` now, when the system file declares the
/// management API ([`broker::redeliveries`]).
async fn redeliveries_now(ctx: &RunContext, queue: Option<&str>) -> Option<u64> {
    match queue {
        Some(q) if broker::has_management(ctx) => broker::redeliveries(ctx, q).await.ok(),
        _ => None,
    }
}

/// Publishes `msg` as the scenario's last message; one that goes straight into a
/// declared queue is remembered there, so failures can say where it is.
pub(crate) async fn publish_tracked(world: &mut QaWorld, msg: Outgoing) -> StepResult {
    let ctx = world.ctx()?;
    let queue = straight_into(&ctx, &msg);
    let before = redeliveries_now(&ctx, queue.as_deref()).await;
    world.publish_as_last(msg.clone()).await?;
    if let Some(queue) = queue {
        remember_queued(world, &queue, std::slice::from_ref(&msg), before);
    }
    Ok(())
}

/// `n` messages to `exchange` with `routing_key`, each with a message id of its own, all
/// in flight at once ([`publish_burst`]); `{message_id}` in `body` is each one's own id.
/// They become the scenario's burst, the last one its last message.
async fn burst(
    world: &mut QaWorld,
    n: usize,
    body: &str,
    exchange: &str,
    routing_key: &str,
) -> StepResult {
    if n == 0 || n > MAX_BURST {
        return Err(format!("a burst has 1 to {MAX_BURST} messages, not {n}").into());
    }
    let msgs: Vec<Outgoing> = (0..n)
        .map(|_| {
            let key = fresh_key(world);
            Outgoing {
                exchange: exchange.to_string(),
                content_type: None,
                body: world.fill_for_message(body, &key).into_bytes(),
                ..Outgoing::json("", routing_key, &key, vec![])
            }
        })
        .collect();
    let ctx = world.ctx()?;
    let queue = msgs.first().and_then(|m| straight_into(&ctx, m));
    let before = redeliveries_now(&ctx, queue.as_deref()).await;
    publish_burst(&ctx, &msgs).await?;
    if let Some(queue) = &queue {
        remember_queued(world, queue, &msgs, before);
    }
    world.burst = msgs.iter().map(|m| m.key.clone()).collect();
    if let Some(last) = msgs.last() {
        world.remember_last(last.clone());
    }
    Ok(())
}

#[when(expr = "{int} messages {string} are published to the queue {string}")]
async fn burst_to_queue(world: &mut QaWorld, n: usize, body: String, queue: String) -> StepResult {
    crate::dead_letter::dead_letter_of(&*world.ctx()?, &queue)?;
    // The default exchange routes by queue name: straight into `queue`.
    burst(world, n, &body, "", &queue).await
}

#[when(
    expr = "{int} messages {string} are published to the exchange {string} with routing key {string}"
)]
async fn burst_to_exchange(
    world: &mut QaWorld,
    n: usize,
    body: String,
    exchange: String,
    routing_key: String,
) -> StepResult {
    burst(world, n, &body, &exchange, &routing_key).await
}

/// The rows of a step's optional table of message properties: `message-id` (made unique
/// to the scenario; `(none)` publishes without one), `content-type`, `header NAME`.
fn apply_properties(scope: &QaWorld, msg: &mut Outgoing, rows: &[Vec<String>]) -> StepResult {
    for row in rows {
        let [name, value] = row.as_slice() else {
            return Err(format!(
                "each row of the table is | property | value |, got {} cell(s): {row:?}",
                row.len()
            )
            .into());
        };
        match name.trim() {
            "message-id" if value.trim() == "(none)" => msg.message_id = None,
            "message-id" => msg.message_id = Some(scope.scoped(value.trim())),
            "content-type" => msg.content_type = Some(value.trim().to_string()),
            other => match other.strip_prefix("header ") {
                Some(header) if !header.trim().is_empty() => msg
                    .headers
                    .push((header.trim().to_string(), value.to_string())),
                _ => {
                    return Err(format!(
                        "unknown message property {other:?}: use message-id, content-type or header NAME"
                    ).into());
                }
            },
        }
    }
    Ok(())
}

#[when(
    expr = "the message {string} is published to the exchange {string} with routing key {string}"
)]
async fn publish_raw_to(
    world: &mut QaWorld,
    step: &Step,
    body: String,
    exchange: String,
    routing_key: String,
) -> StepResult {
    let key = fresh_key(world);
    let mut msg = Outgoing {
        exchange,
        content_type: None,
        ..Outgoing::json("", &routing_key, &key, vec![])
    };
    let rows = step.table.as_ref().map_or(&[][..], |t| &t.rows[..]);
    apply_properties(world, &mut msg, rows)?;
    // `{message_id}` is the message's own id (its key when it is sent without one).
    let id = msg.message_id.clone().unwrap_or(key);
    msg.body = world.fill_for_message(&body, &id).into_bytes();
    publish_tracked(world, msg).await
}

#[when(expr = "the last message is published again")]
async fn publish_again(world: &mut QaWorld) -> StepResult {
    let msg = world
        .message
        .clone()
        .ok_or("no message was published before this step")?;
    Ok(publish(&*world.ctx()?, &msg).await?)
}

#[then(
    expr = "within {int} seconds the message is in the dead-letter queue {string} with reason {string}"
)]
async fn in_dlq(world: &mut QaWorld, seconds: u64, queue: String, reason: String) -> StepResult {
    let id = world
        .message
        .as_ref()
        .map(|m| m.key.clone())
        .ok_or("no message was published before this step")?;
    let ctx = world.ctx()?;
    // The declared queues this one is the dead-letter queue of: where the message may be
    // stuck instead.
    let sources: Vec<String> = ctx
        .endpoints
        .queues
        .iter()
        .filter(|(_, dlq)| dlq.as_deref() == Some(queue.as_str()))
        .map(|(q, _)| q.clone())
        .collect();
    let mut watches = vec![];
    for source in &sources {
        watches.push(whereabouts::Watch::start(&ctx, source).await);
    }
    let found = await_taken(&ctx, &queue, &id, Duration::from_secs(seconds)).await;
    let (seen_reason, count) = match found {
        Ok(found) => found,
        Err(waited) => {
            let mut where_else = String::new();
            if !waited.is_cancelled() {
                for (source, watch) in sources.iter().zip(&watches) {
                    where_else.push('\n');
                    where_else
                        .push_str(&whereabouts::describe(&ctx, world, source, Some(watch)).await);
                }
            }
            return Err(waited
                .map(|seen| {
                    format!(
                        "expected message {id} in {queue} within {seconds} s: {seen}{where_else}"
                    )
                })
                .into());
        }
    };
    if seen_reason != reason || count != 1 {
        return Err(format!(
            "message {id} was dead-lettered with x-death reason {seen_reason:?} count {count}, expected reason {reason:?} count 1"
        ).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qalens_engine::clients::amqp::key_of;

    fn rows(cells: &[[&str; 2]]) -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    fn raw() -> Outgoing {
        Outgoing {
            exchange: "shop.events".into(),
            routing_key: "order.confirmed".into(),
            message_id: Some("fresh".into()),
            content_type: None,
            headers: vec![],
            body: b"x".to_vec(),
            key: "k-1".into(),
        }
    }

    #[test]
    fn the_table_sets_message_id_content_type_and_headers() {
        let world = QaWorld::new();
        let mut msg = raw();
        apply_properties(
            &world,
            &mut msg,
            &rows(&[
                ["message-id", " dup-1 "],
                ["content-type", "text/plain"],
                ["header x-producer ", "legacy billing"],
            ]),
        )
        .unwrap();
        assert_eq!(msg.message_id, Some(world.scoped("dup-1")));
        assert_eq!(msg.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            msg.headers,
            vec![("x-producer".to_string(), "legacy billing".to_string())]
        );
        let props = msg.properties();
        assert_eq!(key_of(&props).as_deref(), Some("k-1"));
        assert_eq!(
            props.message_id().as_ref().map(|m| m.as_str().to_string()),
            Some(world.scoped("dup-1"))
        );

        apply_properties(&world, &mut msg, &rows(&[["message-id", "(none)"]])).unwrap();
        assert_eq!(msg.message_id, None);
        assert!(msg.properties().message_id().is_none());
        // Without a message id the key header still finds the message.
        assert_eq!(key_of(&msg.properties()).as_deref(), Some("k-1"));
    }

    #[test]
    fn unknown_properties_and_malformed_rows_are_errors() {
        let world = QaWorld::new();
        let err = apply_properties(&world, &mut raw(), &rows(&[["priority", "9"]]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown message property \"priority\""),
            "{err}"
        );
        let err = apply_properties(&world, &mut raw(), &rows(&[["header ", "v"]]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown message property"), "{err}");
        let err = apply_properties(&world, &mut raw(), &[vec!["message-id".into()]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("| property | value |"), "{err}");
    }
}
