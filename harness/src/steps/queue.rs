//! Queues and messages: publish raw messages or events to the order events exchange,
//! deliver the same message twice, find a message in a dead-letter queue.

use std::time::Duration;

use contracts::{OrderConfirmed, OrderEvent, OrderStatus, OrderView};
use cucumber::{then, when};
use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use uuid::Uuid;

use super::StepResult;
use crate::context;
use crate::wait;
use crate::world::QaWorld;

pub(crate) async fn channel() -> Result<(Connection, Channel), String> {
    let url = context::current()?.endpoints.amqp.clone();
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .map_err(|e| format!("cannot connect to the broker at {url}: {e}"))?;
    let ch = conn.create_channel().await.map_err(|e| e.to_string())?;
    Ok((conn, ch))
}

/// Publishes `body` with `message_id` to the order events exchange and waits for the
/// broker's confirm. A nack means the broker took no responsibility for the message
/// (for example a queue it was routed to was being deleted): it is published again, as
/// any publisher with confirms does, for up to 10 seconds. Consumers deduplicate by
/// message id, so a copy that did arrive despite the nack changes nothing.
pub(crate) async fn publish(routing_key: &str, message_id: &str, body: &[u8]) -> StepResult {
    wait::until(Duration::from_secs(10), || async move {
        match publish_once(routing_key, message_id, body).await? {
            true => Ok(Some(())),
            false => Err("the broker nacked every attempt".to_string()),
        }
    })
    .await
    .map_err(|seen| format!("publishing message {message_id} to {routing_key}: {seen}"))
}

/// One publish with confirms: whether the broker acked it.
async fn publish_once(routing_key: &str, message_id: &str, body: &[u8]) -> Result<bool, String> {
    let (conn, ch) = channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let confirm = ch
        .basic_publish(
            contracts::ORDER_EVENTS_EXCHANGE.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default()
                .with_message_id(message_id.into())
                .with_content_type("application/json".into())
                .with_delivery_mode(2),
        )
        .await
        .map_err(|e| format!("publishing failed: {e}"))?
        .await
        .map_err(|e| format!("the broker did not confirm the message: {e}"))?;
    let _ = conn.close(200, "done".into()).await;
    if !confirm.is_ack() {
        eprintln!("qalens: the broker nacked message {message_id}; publishing it again");
    }
    Ok(confirm.is_ack())
}

#[when(
    expr = "the message {string} is published to the order events exchange with routing key {string}"
)]
async fn publish_raw(world: &mut QaWorld, body: String, routing_key: String) -> StepResult {
    let id = world.scoped("message");
    publish(&routing_key, &id, body.as_bytes()).await?;
    world.message_id = Some(id);
    Ok(())
}

/// An `OrderConfirmed` event for a new order of the client (the order exists only in the
/// event), set as the scenario's current order.
fn confirmed_event(world: &mut QaWorld) -> Result<(String, Vec<u8>), String> {
    let client = world.client()?.id.clone();
    confirmed_event_for(world, client)
}

/// Like [`confirmed_event`], for `customer`.
fn confirmed_event_for(world: &mut QaWorld, client: String) -> Result<(String, Vec<u8>), String> {
    let order_id = Uuid::now_v7();
    let event = OrderEvent::OrderConfirmed(OrderConfirmed {
        event_id: Uuid::now_v7(),
        order_id,
        customer: client.clone(),
        sku: "SKU-1".into(),
        quantity: 1,
        amount_cents: 1250,
    });
    world.order = Some(OrderView {
        id: order_id,
        customer: client,
        sku: "SKU-1".into(),
        quantity: 1,
        amount_cents: 1250,
        status: OrderStatus::Confirmed,
        reason: None,
    });
    let id = event.event_id().to_string();
    world.message_id = Some(id.clone());
    Ok((id, serde_json::to_vec(&event).map_err(|e| e.to_string())?))
}

#[when(expr = "an OrderConfirmed event for a new order of the client is published")]
async fn publish_confirmed(world: &mut QaWorld) -> StepResult {
    let (id, body) = confirmed_event(world)?;
    publish(contracts::routing::ORDER_CONFIRMED, &id, &body).await
}

/// Publishes a sentinel OrderConfirmed event behind everything published so far: the
/// consumer handles its queue in order, so once the sentinel's email exists, every
/// earlier message has been handled. The scenario's current order stays as it was.
pub(crate) async fn publish_sentinel(world: &mut QaWorld) -> StepResult {
    let (current, message_id) = (world.order.clone(), world.message_id.clone());
    // Its own recipient, so no test aid keyed on the client's name touches it.
    let recipient = world.scoped("sentinel");
    let (sentinel_id, sentinel_body) = confirmed_event_for(world, recipient)?;
    publish(
        contracts::routing::ORDER_CONFIRMED,
        &sentinel_id,
        &sentinel_body,
    )
    .await?;
    world.sentinel = world.order.take();
    world.order = current;
    world.message_id = message_id;
    Ok(())
}

#[when(expr = "an OrderConfirmed event for a new order of the client is delivered twice")]
async fn publish_twice(world: &mut QaWorld) -> StepResult {
    let (id, body) = confirmed_event(world)?;
    publish(contracts::routing::ORDER_CONFIRMED, &id, &body).await?;
    publish(contracts::routing::ORDER_CONFIRMED, &id, &body).await?;
    publish_sentinel(world).await
}

#[when(expr = "a sentinel event is published after the others")]
async fn sentinel(world: &mut QaWorld) -> StepResult {
    publish_sentinel(world).await
}

fn x_death(headers: &FieldTable) -> Option<(String, i64)> {
    let AMQPValue::FieldArray(deaths) = headers.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(first) = deaths.as_slice().first()? else {
        return None;
    };
    let reason = match first.inner().get("reason")? {
        AMQPValue::LongString(s) => s.to_string(),
        AMQPValue::ShortString(s) => s.as_str().to_string(),
        other => format!("{other:?}"),
    };
    let count = match first.inner().get("count") {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        _ => 0,
    };
    Some((reason, count))
}

/// Looks through `queue` for the message with `message_id`; takes it out when found and
/// puts every other message back. Returns its x-death reason and count.
pub(crate) async fn take_from(
    queue: &str,
    message_id: &str,
) -> Result<Option<(String, i64)>, String> {
    let (conn, ch) = channel().await?;
    let mut found = None;
    let mut others = vec![];
    for _ in 0..1000 {
        let Some(msg) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(|e| format!("reading {queue}: {e}"))?
        else {
            break;
        };
        let id = msg
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_string());
        if id.as_deref() == Some(message_id) {
            let death = msg
                .delivery
                .properties
                .headers()
                .as_ref()
                .and_then(x_death)
                .unwrap_or(("(no x-death header)".into(), 0));
            msg.delivery
                .ack(Default::default())
                .await
                .map_err(|e| e.to_string())?;
            found = Some(death);
            break;
        }
        others.push(msg);
    }
    for m in others {
        let _ = m
            .delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await;
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(found)
}

#[then(
    expr = "within {int} seconds the message is in the dead-letter queue {string} with reason {string}"
)]
async fn in_dlq(world: &mut QaWorld, seconds: u64, queue: String, reason: String) -> StepResult {
    let id = world
        .message_id
        .clone()
        .ok_or("no message was published before this step")?;
    let (seen_reason, count) = wait::until(Duration::from_secs(seconds), || {
        let (queue, id) = (queue.clone(), id.clone());
        async move {
            match take_from(&queue, &id).await? {
                Some(d) => Ok(Some(d)),
                None => Err(format!("message {id} not in {queue}")),
            }
        }
    })
    .await
    .map_err(|seen| format!("expected message {id} in {queue} within {seconds} s: {seen}"))?;
    if seen_reason != reason || count != 1 {
        return Err(format!(
            "message {id} was dead-lettered with x-death reason {seen_reason:?} count {count}, expected reason {reason:?} count 1"
        ));
    }
    Ok(())
}

/// Messages ready (waiting for a consumer) in `queue`, from a passive declare.
async fn ready_in(queue: &str) -> Result<u32, String> {
    let (conn, ch) = channel().await?;
    let q = ch
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
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
