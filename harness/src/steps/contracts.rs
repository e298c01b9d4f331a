//! Contracts inside end-to-end scenarios: the requests a service sent over a link (as
//! its fault proxy recorded them), the events on the order events exchange and the
//! consumers' handling of every contract example, each checked against the versioned
//! JSON Schemas in `contracts/schemas`.

use std::time::Duration;

use contract_tools::schema::{Contract, Kind};
use cucumber::{given, then, when};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::Value;
use uuid::Uuid;

use super::StepResult;
use super::faults::link_url;
use super::orders::{current_order, emails_for};
use super::queue::{Outgoing, channel, publish, publish_sentinel, take_from};
use crate::wait;
use crate::world::{EventRecorder, QaWorld, RecordedEvent};

/// `name v<version>` from the bundled registry, or an error listing the known ones.
fn contract(name: &str, version: u32) -> Result<&'static Contract, String> {
    contracts::bundled::registry()
        .get(name, version)
        .map_err(|e| e.to_string())
}

// A request as the fault proxy on a link recorded it.
use contracts::RecordedRequest as Recorded;

/// Every request the proxy on the link from `from` to `to` recorded, oldest first.
async fn recorded(from: &str, to: &str) -> Result<Vec<Recorded>, String> {
    let (name, url) = link_url(from, to)?;
    super::orders::inspect(format!("{url}/internal/requests"))
        .await
        .map_err(|e| format!("reading what the proxy on {name} recorded: {e}"))
}

/// Whether `r` was sent for this scenario: it names the order (in its path or body) or,
/// for header contracts, carries the client's id.
fn belongs(r: &Recorded, order: Option<Uuid>, client: Option<&str>) -> bool {
    let by_order = order.is_some_and(|id| {
        let id = id.to_string();
        r.path.contains(&id) || r.body.contains(&id)
    });
    let by_client = client.is_some_and(|c| r.headers.get("x-client-id").is_some_and(|v| v == c));
    by_order || by_client
}

/// Checks one recorded request against `c`; the violations as text.
fn check_request(c: &Contract, r: &Recorded) -> Result<(), String> {
    let missing: Vec<&String> = c
        .required_headers
        .iter()
        .filter(|h| !r.headers.contains_key(h.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing required header(s) {missing:?}"));
    }
    let instance = match c.kind {
        Kind::Headers => serde_json::to_value(&r.headers).map_err(|e| e.to_string())?,
        _ => serde_json::from_str(&r.body).map_err(|e| format!("the body is not JSON: {e}"))?,
    };
    c.validate(&instance).map_err(|v| v.to_string())
}

#[then(regex = r"^the request (?:the )?(\S+) sent to (\S+) conforms to contract (\S+) v(\d+)$")]
async fn request_conforms(
    world: &mut QaWorld,
    from: String,
    to: String,
    name: String,
    version: u32,
) -> StepResult {
    let c = contract(&name, version)?;
    let registry = contracts::bundled::registry();
    let order = world.order.as_ref().map(|o| o.id);
    let client = world.client.as_ref().map(|c| c.id.clone());
    let all = recorded(&from, &to).await?;
    let mine: Vec<&Recorded> = all
        .iter()
        .filter(|r| belongs(r, order, client.as_deref()))
        .filter(|r| match c.kind {
            Kind::Headers => true,
            _ => registry
                .request_for(&r.method, &r.path)
                .is_some_and(|found| found.name == c.name && found.version == c.version),
        })
        .collect();
    if mine.is_empty() {
        let endpoints: Vec<String> = c
            .endpoints
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        let theirs: Vec<String> = all
            .iter()
            .filter(|r| belongs(r, order, client.as_deref()))
            .map(ToString::to_string)
            .collect();
        return Err(format!(
            "{from} sent {to} no request for this scenario that {} governs ({}); it sent: {}",
            c.id(),
            endpoints.join(", "),
            if theirs.is_empty() {
                "nothing".to_string()
            } else {
                theirs.join("; ")
            }
        ));
    }
    let failures: Vec<String> = mine
        .iter()
        .filter_map(|r| check_request(c, r).err().map(|e| format!("{r}\n  {e}")))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} request(s) from {from} to {to} break {}:\n{}",
            failures.len(),
            mine.len(),
            c.id(),
            failures.join("\n")
        ))
    }
}

#[given(expr = "the order events are recorded")]
async fn record_events(world: &mut QaWorld) -> StepResult {
    let (conn, ch) = channel().await?;
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
    world.events = Some(EventRecorder::new(events, task));
    Ok(())
}

/// Checks one recorded event against message contract `c`.
fn check_event(c: &Contract, e: &RecordedEvent) -> Result<(), String> {
    let body: Value =
        serde_json::from_str(&e.body).map_err(|err| format!("the body is not JSON: {err}"))?;
    c.validate(&body).map_err(|v| v.to_string())?;
    if let Some(key) = &c.routing_key
        && &e.routing_key != key
    {
        return Err(format!(
            "published with routing key {:?}, the contract says {key:?}",
            e.routing_key
        ));
    }
    let event_id = body.get("event_id").and_then(Value::as_str);
    if e.message_id.as_deref() != event_id {
        return Err(format!(
            "message-id {:?} differs from event_id {event_id:?}: consumers deduplicate on it",
            e.message_id
        ));
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
    let c = contract(&name, version)?;
    if c.kind != Kind::Message {
        return Err(format!("{} is not a message contract", c.id()));
    }
    let order = current_order(world)?.id.to_string();
    let events = world
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
    .map_err(|seen| format!("no {name} event for order {order} within {seconds} s; {seen}"))?;
    check_event(c, &event)
        .map_err(|e| format!("{name} event {}\n  breaks {}: {e}", event.body, c.id()))
}

/// `example` with fresh ids (every `*_id` uuid field) and `customer` set to `customer`,
/// so it can be published again and again; still valid under its contract.
fn fresh_example(example: &Value, customer: &str) -> Value {
    let mut v = example.clone();
    if let Some(obj) = v.as_object_mut() {
        for (k, field) in obj.iter_mut() {
            if k.ends_with("_id") && field.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()) {
                *field = Value::String(Uuid::now_v7().to_string());
            }
        }
        if obj.contains_key("customer") {
            obj.insert("customer".into(), Value::String(customer.to_string()));
        }
    }
    v
}

/// Publishes `body` as the message contract `c` describes.
async fn publish_example(c: &Contract, body: &Value) -> Result<Outgoing, String> {
    let key = c
        .routing_key
        .as_deref()
        .ok_or_else(|| format!("{} names no routing key", c.id()))?;
    let id = body
        .get("event_id")
        .and_then(Value::as_str)
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_string);
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let msg = Outgoing::event(key, &id, bytes);
    publish(&msg).await?;
    Ok(msg)
}

#[when(expr = "every example of every message contract is published for the client")]
async fn publish_all_examples(world: &mut QaWorld) -> StepResult {
    let customer = world.client()?.id.clone();
    for c in contracts::bundled::registry()
        .contracts()
        .iter()
        .filter(|c| c.kind == Kind::Message)
    {
        for example in &c.examples {
            let body = fresh_example(example, &customer);
            c.validate(&body)
                .map_err(|v| format!("a fresh copy of an example of {} is invalid: {v}", c.id()))?;
            let id = publish_example(c, &body).await?.key;
            world.examples.push((c.id(), id, body));
        }
    }
    if world.examples.is_empty() {
        return Err("the registry has no message contract with examples".into());
    }
    publish_sentinel(world).await
}

#[then(
    expr = "within {int} seconds the email consumer handled every published example: one email per OrderConfirmed, none dead-lettered"
)]
async fn examples_handled(world: &mut QaWorld, seconds: u64) -> StepResult {
    let sentinel = world
        .sentinel
        .clone()
        .ok_or("no examples were published before this step")?;
    // The queue is handled in order: once the sentinel's email exists, so is the rest.
    wait::until(Duration::from_secs(seconds), || {
        let sentinel = sentinel.clone();
        async move {
            let emails = emails_for(&sentinel).await?;
            if emails.is_empty() {
                Err("the sentinel behind the examples has no email yet".to_string())
            } else {
                Ok(Some(()))
            }
        }
    })
    .await
    .map_err(|seen| {
        format!("the email consumer did not get through the examples within {seconds} s: {seen}")
    })?;
    let mut problems = vec![];
    for (contract_id, message_id, body) in &world.examples {
        if let Some((reason, _)) =
            take_from(&format!("{}.dlq", contracts::EMAIL_QUEUE), message_id).await?
        {
            problems.push(format!(
                "{contract_id} example {body} was dead-lettered ({reason})"
            ));
            continue;
        }
        if body.get("type").and_then(Value::as_str) == Some("OrderConfirmed") {
            let order: contracts::OrderView = example_order(body)?;
            let emails = emails_for(&order).await?;
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
        Err(problems.join("\n"))
    }
}

/// The order an OrderConfirmed example is about, as the email lookup needs it.
fn example_order(body: &Value) -> Result<contracts::OrderView, String> {
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

#[when(
    expr = "the first example of contract {word} v{int} is published for the client without its {string} field"
)]
async fn publish_broken_example(
    world: &mut QaWorld,
    name: String,
    version: u32,
    field: String,
) -> StepResult {
    let c = contract(&name, version)?;
    let customer = world.client()?.id.clone();
    let example = c
        .examples
        .first()
        .ok_or_else(|| format!("{} has no example", c.id()))?;
    let mut body = fresh_example(example, &customer);
    let removed = body.as_object_mut().and_then(|o| o.remove(&field));
    if removed.is_none() {
        return Err(format!("the example of {} has no field {field:?}", c.id()));
    }
    if c.validate(&body).is_ok() {
        return Err(format!(
            "without {field:?} the example still satisfies {}: pick a required field",
            c.id()
        ));
    }
    world.message = Some(publish_example(c, &body).await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn fresh_examples_stay_valid_and_get_new_ids() {
        for c in contracts::bundled::registry()
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

    #[test]
    fn recorded_requests_belong_by_order_or_client() {
        let id = Uuid::now_v7();
        let r = Recorded {
            seq: 1,
            method: "POST".into(),
            path: "/payments/charges".into(),
            headers: BTreeMap::from([("x-client-id".into(), "bob".into())]),
            body: format!(r#"{{"order_id":"{id}"}}"#),
        };
        assert!(belongs(&r, Some(id), None));
        assert!(belongs(&r, None, Some("bob")));
        assert!(!belongs(&r, Some(Uuid::now_v7()), Some("alice")));
    }
}
