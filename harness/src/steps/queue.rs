//! Queues and messages: publish raw messages or events to the order events exchange,
//! deliver the same message twice, find a message in a dead-letter queue. (Bursts and
//! queue depths: [`super::backlog`].)

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::{OrderCancelled, OrderConfirmed, OrderEvent, OrderPlaced, OrderStatus, OrderView};
use cucumber::gherkin::Step;
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

/// A message as the harness publishes it, kept as the scenario's last message so a step
/// can publish it again or find it in a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub exchange: String,
    pub routing_key: String,
    /// `None` publishes the message without a message-id property.
    pub message_id: Option<String>,
    pub content_type: Option<String>,
    /// Application headers, as strings.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Unique to the message; travels in the [`KEY_HEADER`] header so the harness finds
    /// the message again (for example in a dead-letter queue) even without a message id.
    pub key: String,
}

/// The header that carries [`Outgoing::key`].
pub const KEY_HEADER: &str = "qalens-message";

impl Outgoing {
    /// A JSON event on the order events exchange whose message id is `id`.
    pub fn event(routing_key: &str, id: &str, body: Vec<u8>) -> Self {
        Self {
            exchange: contracts::ORDER_EVENTS_EXCHANGE.into(),
            routing_key: routing_key.into(),
            message_id: Some(id.into()),
            content_type: Some("application/json".into()),
            headers: vec![],
            body,
            key: id.into(),
        }
    }

    /// Publishes it mandatory on `ch` (a channel in confirm mode): the broker's confirm
    /// to wait for, or why the publish failed.
    pub(crate) async fn publish(
        &self,
        ch: &lapin::Channel,
    ) -> Result<lapin::PublisherConfirm, String> {
        ch.basic_publish(
            self.exchange.as_str().into(),
            self.routing_key.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            &self.body,
            self.properties(),
        )
        .await
        .map_err(|e| format!("publishing failed: {e}"))
    }

    pub(crate) fn properties(&self) -> BasicProperties {
        let mut headers = FieldTable::default();
        for (name, value) in &self.headers {
            headers.insert(
                name.as_str().into(),
                AMQPValue::LongString(value.as_str().into()),
            );
        }
        headers.insert(
            KEY_HEADER.into(),
            AMQPValue::LongString(self.key.as_str().into()),
        );
        let mut props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_headers(headers);
        if let Some(id) = &self.message_id {
            props = props.with_message_id(id.as_str().into());
        }
        if let Some(ct) = &self.content_type {
            props = props.with_content_type(ct.as_str().into());
        }
        props
    }
}

/// Publishes `msg` and waits for the broker's confirm. A nack means the broker took no
/// responsibility for the message (for example a queue it was routed to was being
/// deleted): it is published again, as any publisher with confirms does, for up to 10
/// seconds. Consumers deduplicate by message id, so a copy that did arrive despite the
/// nack changes nothing. The message is mandatory: one that no queue would receive is an
/// error, not a silent drop.
pub(crate) async fn publish(msg: &Outgoing) -> StepResult {
    wait::until(Duration::from_secs(10), || async move {
        match publish_once(msg).await? {
            true => Ok(Some(())),
            false => Err("the broker nacked every attempt".to_string()),
        }
    })
    .await
    .map_err(|seen| {
        format!(
            "publishing message {} to exchange {:?} with routing key {:?}: {seen}",
            msg.key, msg.exchange, msg.routing_key
        )
    })
}

/// One publish with confirms: whether the broker acked it.
async fn publish_once(msg: &Outgoing) -> Result<bool, String> {
    let (conn, ch) = channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let confirmed = async {
        msg.publish(&ch)
            .await?
            .await
            .map_err(|e| format!("the broker did not confirm the message: {e}"))
    }
    .await;
    let _ = conn.close(200, "done".into()).await;
    let confirm = confirmed?;
    if !confirm.is_ack() {
        eprintln!(
            "qalens: the broker nacked message {}; publishing it again",
            msg.key
        );
        return Ok(false);
    }
    if confirm.take_message().is_some() {
        return Err(
            "no queue is bound for this routing key: the broker returned the message".into(),
        );
    }
    Ok(true)
}

/// The rows of a step's optional table of message properties: `message-id` (made unique
/// to the scenario; `(none)` publishes without one), `content-type`, `header NAME`.
fn apply_properties(scope: &QaWorld, msg: &mut Outgoing, rows: &[Vec<String>]) -> StepResult {
    for row in rows {
        let [name, value] = row.as_slice() else {
            return Err(format!(
                "each row of the table is | property | value |, got {} cell(s): {row:?}",
                row.len()
            ));
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
                    ));
                }
            },
        }
    }
    Ok(())
}

/// Publishes `msg` and makes it the scenario's last message.
async fn publish_as_last(world: &mut QaWorld, msg: Outgoing) -> StepResult {
    publish(&msg).await?;
    world.message = Some(msg);
    Ok(())
}

#[when(
    expr = "the message {string} is published to the order events exchange with routing key {string}"
)]
async fn publish_raw(world: &mut QaWorld, body: String, routing_key: String) -> StepResult {
    let key = world.scoped(&format!("message-{}", Uuid::now_v7().simple()));
    publish_as_last(
        world,
        Outgoing::event(&routing_key, &key, body.into_bytes()),
    )
    .await
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
    let key = world.scoped(&format!("message-{}", Uuid::now_v7().simple()));
    let mut msg = Outgoing {
        exchange,
        content_type: None,
        ..Outgoing::event(&routing_key, &key, body.into_bytes())
    };
    let rows = step.table.as_ref().map_or(&[][..], |t| &t.rows[..]);
    apply_properties(world, &mut msg, rows)?;
    publish_as_last(world, msg).await
}

#[when(expr = "the last message is published again")]
async fn publish_again(world: &mut QaWorld) -> StepResult {
    let msg = world
        .message
        .clone()
        .ok_or("no message was published before this step")?;
    publish(&msg).await
}

/// An order event of type `kind` (`OrderPlaced`, `OrderConfirmed`, `OrderCancelled`) for
/// a new order of the client (the order exists only in the event), set as the scenario's
/// current order.
fn event_of(world: &mut QaWorld, kind: &str) -> Result<Outgoing, String> {
    let client = world.client()?.id.clone();
    event_for(world, kind, client)
}

/// Like [`event_of`], for `customer`.
fn event_for(world: &mut QaWorld, kind: &str, customer: String) -> Result<Outgoing, String> {
    event_for_order(world, kind, customer, Uuid::now_v7())
}

/// An event of type `kind` with a fresh event id for the order `order_id` of `customer`,
/// set as the scenario's current order.
pub(crate) fn event_for_order(
    world: &mut QaWorld,
    kind: &str,
    customer: String,
    order_id: Uuid,
) -> Result<Outgoing, String> {
    let event_id = Uuid::now_v7();
    let (sku, quantity, amount_cents) = ("SKU-1".to_string(), 1, 1250);
    let (event, status, reason) = match kind {
        "OrderPlaced" => (
            OrderEvent::OrderPlaced(OrderPlaced {
                event_id,
                order_id,
                customer: customer.clone(),
                sku: sku.clone(),
                quantity,
            }),
            OrderStatus::Pending,
            None,
        ),
        "OrderConfirmed" => (
            OrderEvent::OrderConfirmed(OrderConfirmed {
                event_id,
                order_id,
                customer: customer.clone(),
                sku: sku.clone(),
                quantity,
                amount_cents,
            }),
            OrderStatus::Confirmed,
            None,
        ),
        "OrderCancelled" => {
            let reason = "insufficient stock".to_string();
            (
                OrderEvent::OrderCancelled(OrderCancelled {
                    event_id,
                    order_id,
                    customer: customer.clone(),
                    reason: reason.clone(),
                }),
                OrderStatus::Cancelled,
                Some(reason),
            )
        }
        other => {
            return Err(format!(
                "unknown event type {other:?}: OrderPlaced, OrderConfirmed or OrderCancelled"
            ));
        }
    };
    world.order = Some(OrderView {
        id: order_id,
        customer,
        sku,
        quantity,
        amount_cents,
        status,
        reason,
    });
    let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
    Ok(Outgoing::event(
        event.routing_key(),
        &event.event_id().to_string(),
        body,
    ))
}

#[when(
    regex = r"^an (OrderPlaced|OrderConfirmed|OrderCancelled) event for a new order of the client is published$"
)]
async fn publish_event(world: &mut QaWorld, kind: String) -> StepResult {
    let msg = event_of(world, &kind)?;
    publish_as_last(world, msg).await
}

/// Publishes a sentinel OrderConfirmed event behind everything published so far: the
/// consumer handles its queue in order, so once the sentinel's email exists, every
/// earlier message has been handled. The scenario's current order and last message stay
/// as they were.
pub(crate) async fn publish_sentinel(world: &mut QaWorld) -> StepResult {
    let current = world.order.clone();
    // Its own recipient, so no test aid keyed on the client's name touches it.
    let recipient = world.scoped("sentinel");
    let sentinel = event_for(world, "OrderConfirmed", recipient)?;
    publish(&sentinel).await?;
    world.sentinel = world.order.take();
    world.order = current;
    Ok(())
}

#[when(
    regex = r"^an (OrderPlaced|OrderConfirmed|OrderCancelled) event for a new order of the client is delivered twice$"
)]
async fn publish_twice(world: &mut QaWorld, kind: String) -> StepResult {
    let msg = event_of(world, &kind)?;
    publish(&msg).await?;
    publish_as_last(world, msg).await?;
    publish_sentinel(world).await
}

#[when(expr = "a sentinel event is published after the others")]
async fn sentinel(world: &mut QaWorld) -> StepResult {
    publish_sentinel(world).await
}

/// The events analytics counted for one order, by type (its inspection endpoint).
async fn analytics_counts(order: uuid::Uuid) -> Result<BTreeMap<String, u64>, String> {
    let ctx = context::current()?;
    crate::steps::orders::inspect(format!(
        "{}/internal/analytics/orders/{order}",
        ctx.endpoints.analytics
    ))
    .await
}

#[then(
    expr = "within {int} second(s) analytics counted exactly {int} {word} event(s) for the order"
)]
async fn analytics_counted(world: &mut QaWorld, seconds: u64, n: u64, kind: String) -> StepResult {
    let order = crate::steps::orders::current_order(world)?.id;
    let deadline = Duration::from_secs(seconds);
    if let Some(sentinel) = world.sentinel.as_ref().map(|s| s.id) {
        // Analytics handles its queue in order: once it counted the sentinel, it counted
        // everything published before it, so the counts below are final.
        wait::until(deadline, || async move {
            let counts = analytics_counts(sentinel).await?;
            match counts.values().sum::<u64>() {
                0 => Err(format!(
                    "the sentinel (order {sentinel}) is not counted yet"
                )),
                _ => Ok(Some(())),
            }
        })
        .await
        .map_err(|seen| {
            format!("analytics did not count the sentinel within {seconds} s: {seen}")
        })?;
    }
    let expected: BTreeMap<String, u64> = (n > 0).then(|| (kind.clone(), n)).into_iter().collect();
    let mismatch = |seen: String| {
        format!(
            "expected analytics to count exactly {n} {kind} event(s) for order {order} (and no other type), saw {seen}"
        )
    };
    if world.sentinel.is_some() {
        // The counts are final: one look.
        let counts = analytics_counts(order).await?;
        return if counts == expected {
            Ok(())
        } else {
            Err(mismatch(format!("{counts:?}")))
        };
    }
    wait::until(deadline, || {
        let expected = expected.clone();
        async move {
            let counts = analytics_counts(order).await?;
            if counts == expected {
                Ok(Some(()))
            } else {
                Err(format!("{counts:?}"))
            }
        }
    })
    .await
    .map_err(mismatch)
}

pub(crate) fn x_death(headers: &FieldTable) -> Option<(String, i64)> {
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

/// The [`KEY_HEADER`] of a delivered message, if it has one.
pub(crate) fn key_of(props: &BasicProperties) -> Option<String> {
    match props.headers().as_ref()?.inner().get(KEY_HEADER)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

/// Reads `queue` from its head, at most `limit` messages, and shows `visit` each one's
/// key (its [`KEY_HEADER`] or, for a message published by another party, its message id)
/// and x-death reason and count. The message `visit` returns `true` for is taken out
/// (acked) and ends the scan; every other message read is put back, in order.
pub(crate) async fn scan(
    queue: &str,
    limit: usize,
    mut visit: impl FnMut(Option<String>, (String, i64)) -> bool,
) -> Result<(), String> {
    let (conn, ch) = channel().await?;
    let mut last_held = None;
    let result = async {
        for _ in 0..limit {
            let Some(msg) = ch
                .basic_get(queue.into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(|e| format!("reading {queue}: {e}"))?
            else {
                break;
            };
            let props = &msg.delivery.properties;
            let key = key_of(props)
                .or_else(|| props.message_id().as_ref().map(|m| m.as_str().to_string()));
            let death = props
                .headers()
                .as_ref()
                .and_then(x_death)
                .unwrap_or(("(no x-death header)".into(), 0));
            if visit(key, death) {
                msg.delivery
                    .ack(Default::default())
                    .await
                    .map_err(|e| e.to_string())?;
                break;
            }
            last_held = Some(msg);
        }
        Ok(())
    }
    .await;
    if let Some(last) = last_held {
        // One nack for everything held on this channel, all put back in order.
        let _ = last
            .delivery
            .nack(BasicNackOptions {
                multiple: true,
                requeue: true,
            })
            .await;
    }
    let _ = conn.close(200, "done".into()).await;
    result
}

/// Takes the message with `key` out of `queue` (see [`scan`]); its x-death reason and
/// count, or `None` when it is not there.
pub(crate) async fn take_from(queue: &str, key: &str) -> Result<Option<(String, i64)>, String> {
    let mut found = None;
    scan(queue, 1000, |k, death| {
        let hit = k.as_deref() == Some(key);
        if hit {
            found = Some(death);
        }
        hit
    })
    .await?;
    Ok(found)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[[&str; 2]]) -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    fn raw() -> Outgoing {
        Outgoing {
            exchange: "orders.events".into(),
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
        let err = apply_properties(&world, &mut raw(), &rows(&[["priority", "9"]])).unwrap_err();
        assert!(
            err.contains("unknown message property \"priority\""),
            "{err}"
        );
        let err = apply_properties(&world, &mut raw(), &rows(&[["header ", "v"]])).unwrap_err();
        assert!(err.contains("unknown message property"), "{err}");
        let err = apply_properties(&world, &mut raw(), &[vec!["message-id".into()]]).unwrap_err();
        assert!(err.contains("| property | value |"), "{err}");
    }
}
