//! The reference system's contracts inside end-to-end scenarios: the order events on
//! the order events exchange, and the email consumer's handling of every message
//! contract example.

use std::time::Duration;

use contract_tools::schema::{Contract, Kind};
use cucumber::{given, then, when};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::Value;

use crate::domain::{
    EventRecorder, RecordedEvent, current_order, emails_for, peek, publish_sentinel, require,
    sentinel_handled, state,
};
use qalens_engine::checks::{contract, fresh_example, publish_example};
use qalens_engine::clients::amqp::{channel, take_from};
use qalens_engine::wait;
use qalens_steps::world::QaWorld;
use qalens_steps::{StepError, StepResult};

#[given(expr = "the order events are recorded")]
async fn record_events(world: &mut QaWorld) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let (conn, ch) = channel(ctx).await?;
    // A private queue, deleted with the connection, bound to every order event.
    let queue = ch
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("declaring a recording queue: {e}"))?;
    ch.queue_bind(
        queue.name().clone(),
        contracts::ORDER_EVENTS_EXCHANGE.into(),
        contracts::routing::ALL_ORDER_EVENTS.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .map_err(|e| format!("binding the recording queue: {e}"))?;
    let mut consumer = ch
        .basic_consume(
            queue.name().clone(),
            "qalens-recorder".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("consuming the recording queue: {e}"))?;
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let task = tokio::spawn(async move {
        // Holds the connection until the scenario's recorder is dropped (which aborts
        // this task and so closes the connection and its private queue).
        let _conn = conn;
        while let Some(Ok(d)) = consumer.next().await {
            let p = &d.properties;
            let event = RecordedEvent {
                routing_key: d.routing_key.as_str().to_string(),
                message_id: p.message_id().as_ref().map(|m| m.as_str().to_string()),
                kind: p.kind().as_ref().map(|m| m.as_str().to_string()),
                body: String::from_utf8_lossy(&d.data).into_owned(),
            };
            let Ok(mut list) = sink.lock() else { return };
            list.push(event);
        }
    });
    state(world).events = Some(EventRecorder::new(events, task));
    Ok(())
}

/// Checks one recorded event against message contract `c`.
fn check_event(c: &Contract, e: &RecordedEvent) -> Result<(), StepError> {
    let body: Value =
        serde_json::from_str(&e.body).map_err(|err| format!("the body is not JSON: {err}"))?;
    c.validate(&body).map_err(|v| v.to_string())?;
    if let Some(key) = &c.routing_key
        && &e.routing_key != key
    {
        return Err(format!(
            "published with routing key {:?}, the contract says {key:?}",
            e.routing_key
        )
        .into());
    }
    let event_id = body.get("event_id").and_then(Value::as_str);
    if e.message_id.as_deref() != event_id {
        return Err(format!(
            "message-id {:?} differs from event_id {event_id:?}: consumers deduplicate on it",
            e.message_id
        )
        .into());
    }
    Ok(())
}

#[then(
    expr = "within {int} seconds the order's message on the order events exchange conforms to contract {word} v{int}"
)]
async fn event_conforms(
    world: &mut QaWorld,
    seconds: u64,
    name: String,
    version: u32,
) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let c = &contract(ctx, &name, version)?;
    if c.kind != Kind::Message {
        return Err(format!("{} is not a message contract", c.id()).into());
    }
    let order = current_order(world)?.id.to_string();
    let events = peek(world)
        .events
        .as_ref()
        .ok_or("record the order events first: Given the order events are recorded")?
        .events
        .clone();
    let event = wait::until(Duration::from_secs(seconds), || {
        let (events, order) = (events.clone(), order.clone());
        let c_name = c.name.clone();
        async move {
            let list = events.lock().map_err(|e| e.to_string())?;
            let seen: Vec<String> = list.iter().map(|e| e.routing_key.clone()).collect();
            let found = list.iter().find(|e| {
                e.body.contains(&order)
                    && (e.kind.as_deref() == Some(c_name.as_str())
                        || serde_json::from_str::<Value>(&e.body)
                            .ok()
                            .and_then(|v| v.get("type").cloned())
                            == Some(Value::String(c_name.clone())))
            });
            match found {
                Some(e) => Ok(Some(e.clone())),
                None => Err(format!("events recorded so far: {seen:?}")),
            }
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| format!("no {name} event for order {order} within {seconds} s; {seen}"))
    })?;
    check_event(c, &event)
        .map_err(|e| format!("{name} event {}\n  breaks {}: {e}", event.body, c.id()))?;
    Ok(())
}

#[when(expr = "every example of every message contract is published for the client")]
async fn publish_all_examples(world: &mut QaWorld) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let customer = world.client()?.id.clone();
    for c in crate::registry()
        .contracts()
        .iter()
        .filter(|c| c.kind == Kind::Message)
    {
        for example in &c.examples {
            let body = fresh_example(example, &customer);
            c.validate(&body)
                .map_err(|v| format!("a fresh copy of an example of {} is invalid: {v}", c.id()))?;
            let id = publish_example(ctx, c, &body).await?.key;
            state(world).examples.push((c.id(), id, body));
        }
    }
    if peek(world).examples.is_empty() {
        return Err("the registry has no message contract with examples".into());
    }
    publish_sentinel(world).await
}

#[then(
    expr = "within {int} seconds the email consumer handled every published example: one email per OrderConfirmed, none dead-lettered"
)]
async fn examples_handled(world: &mut QaWorld, seconds: u64) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let sentinel = peek(world)
        .sentinel
        .clone()
        .ok_or("no examples were published before this step")?;
    // The queue is handled in order: once the sentinel's email exists, so is the rest.
    sentinel_handled(ctx, &sentinel, Duration::from_secs(seconds))
        .await
        .map_err(|waited| {
            waited.map(|seen| {
                format!(
                    "the email consumer did not get through the examples within {seconds} s: {seen}"
                )
            })
        })?;
    let mut problems = vec![];
    for (contract_id, message_id, body) in &peek(world).examples {
        if let Some((reason, _)) =
            take_from(ctx, &format!("{}.dlq", contracts::EMAIL_QUEUE), message_id).await?
        {
            problems.push(format!(
                "{contract_id} example {body} was dead-lettered ({reason})"
            ));
            continue;
        }
        if body.get("type").and_then(Value::as_str) == Some("OrderConfirmed") {
            let order: contracts::OrderView = example_order(body)?;
            let emails = emails_for(ctx, &order).await?;
            if emails.len() != 1 {
                problems.push(format!(
                    "{contract_id} example {body} gave {} emails, expected 1",
                    emails.len()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// The order an OrderConfirmed example is about, as the email lookup needs it.
fn example_order(body: &Value) -> Result<contracts::OrderView, StepError> {
    let e: contracts::OrderConfirmed =
        serde_json::from_value(body.clone()).map_err(|e| format!("{body}: {e}"))?;
    Ok(contracts::OrderView {
        id: e.order_id,
        customer: e.customer,
        sku: e.sku,
        quantity: e.quantity,
        amount_cents: e.amount_cents,
        status: contracts::OrderStatus::Confirmed,
        reason: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_examples_stay_valid_and_get_new_ids() {
        for c in crate::registry()
            .contracts()
            .iter()
            .filter(|c| c.kind == Kind::Message)
        {
            for example in &c.examples {
                let fresh = fresh_example(example, "alice-s1234");
                c.validate(&fresh).unwrap();
                assert_ne!(fresh["event_id"], example["event_id"], "{}", c.id());
                assert_eq!(fresh["customer"], "alice-s1234");
            }
        }
    }
}
