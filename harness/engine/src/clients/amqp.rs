//! The AMQP client every queue step uses: one connection per operation, publishes with
//! confirms (mandatory, so a message no queue takes is an error), and reads from a
//! queue's head that put back everything they do not take.

use std::time::Duration;

use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions, QueuePurgeOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use super::ClientError;
use crate::context::RunContext;
use crate::wait;

/// The most messages a burst may have: enough for a backlog, bounded so no scenario
/// floods the broker.
pub const MAX_BURST: usize = 5000;

/// How long a burst may take to be confirmed, nacked messages published again included.
const BURST_DEADLINE: Duration = Duration::from_secs(60);

pub async fn channel(ctx: &RunContext) -> Result<(Connection, Channel), ClientError> {
    let url = ctx.endpoints.amqp.clone();
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .map_err(|cause| ClientError::Connect { url, cause })?;
    let ch = conn.create_channel().await.map_err(ClientError::Broker)?;
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
    /// A JSON message to `exchange` whose message id (and key) is `id`.
    pub fn json(exchange: &str, routing_key: &str, id: &str, body: Vec<u8>) -> Self {
        Self {
            exchange: exchange.into(),
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
    pub async fn publish(
        &self,
        ch: &lapin::Channel,
    ) -> Result<lapin::PublisherConfirm, ClientError> {
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
        .map_err(ClientError::Publish)
    }

    pub fn properties(&self) -> BasicProperties {
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
pub async fn publish(ctx: &RunContext, msg: &Outgoing) -> Result<(), ClientError> {
    wait::until(Duration::from_secs(10), || async move {
        match publish_once(ctx, msg).await? {
            true => Ok(Some(())),
            false => Err(ClientError::Nacked),
        }
    })
    .await
    .map_err(|waited| ClientError::Publishing {
        key: msg.key.clone(),
        exchange: msg.exchange.clone(),
        routing_key: msg.routing_key.clone(),
        waited,
    })
}

/// One publish with confirms: whether the broker acked it.
async fn publish_once(ctx: &RunContext, msg: &Outgoing) -> Result<bool, ClientError> {
    let (conn, ch) = channel(ctx).await?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(ClientError::Broker)?;
    let confirmed = async {
        msg.publish(&ch)
            .await?
            .await
            .map_err(ClientError::NotConfirmed)
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
        return Err(ClientError::Returned);
    }
    Ok(true)
}

/// Publishes every message on one channel with confirms, all in flight at once, and
/// publishes again the ones the broker nacked until every one is confirmed. A message no
/// queue would receive fails the step.
pub async fn publish_burst(ctx: &RunContext, msgs: &[Outgoing]) -> Result<(), ClientError> {
    let (conn, ch) = channel(ctx).await?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(ClientError::Broker)?;
    let result = wait::until(BURST_DEADLINE, || {
        let ch = ch.clone();
        async move {
            let mut confirms = Vec::with_capacity(msgs.len());
            for msg in msgs {
                confirms.push(msg.publish(&ch).await?);
            }
            let mut nacked = 0;
            for confirm in confirms {
                let confirm = confirm.await.map_err(ClientError::BurstNotConfirmed)?;
                if !confirm.is_ack() {
                    nacked += 1;
                } else if confirm.take_message().is_some() {
                    return Err(ClientError::BurstReturned);
                }
            }
            // Consumers deduplicate by message id: publishing the whole burst again after
            // a nack changes nothing for the messages that did arrive.
            match nacked {
                0 => Ok(Some(())),
                n => Err(ClientError::BurstNacked {
                    nacked: n,
                    of: msgs.len(),
                }),
            }
        }
    })
    .await;
    let _ = conn.close(200, "done".into()).await;
    result.map_err(|waited| ClientError::PublishingBurst {
        count: msgs.len(),
        waited,
    })
}

/// What a passive declare tells of a queue, as the broker sees it at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    /// Messages waiting for a consumer (not delivered, or delivered and put back).
    pub ready: u32,
    /// Consumers subscribed to the queue.
    pub consumers: u32,
}

/// The queue's ready messages and consumers, from a passive declare (any queue of any
/// RabbitMQ, exact at the moment the broker answers).
pub async fn depth(ctx: &RunContext, queue: &str) -> Result<Depth, ClientError> {
    let (conn, ch) = channel(ctx).await?;
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
        .map_err(|cause| ClientError::UnknownQueue {
            queue: queue.to_string(),
            cause,
        })?;
    let _ = conn.close(200, "done".into()).await;
    Ok(Depth {
        ready: q.message_count(),
        consumers: q.consumer_count(),
    })
}

/// Messages ready (waiting for a consumer) in `queue`, from a passive declare.
pub async fn ready_in(ctx: &RunContext, queue: &str) -> Result<u32, ClientError> {
    Ok(depth(ctx, queue).await?.ready)
}

/// Whether the broker refused an operation because the queue does not exist.
fn not_found(e: &lapin::Error) -> bool {
    matches!(e.kind(), lapin::ErrorKind::ProtocolError(a) if a.get_id() == 404)
}

/// Removes every ready message of `queue`: how many, or `None` when the broker has no
/// such queue (its consumer has not declared it yet). Messages a consumer holds (delivered,
/// not yet acknowledged) are not ready and stay: the broker purges only what waits.
pub async fn purge(ctx: &RunContext, queue: &str) -> Result<Option<u32>, ClientError> {
    let (conn, ch) = channel(ctx).await?;
    let purged = ch
        .queue_purge(queue.into(), QueuePurgeOptions::default())
        .await;
    let _ = conn.close(200, "done".into()).await;
    match purged {
        Ok(n) => Ok(Some(n)),
        Err(e) if not_found(&e) => Ok(None),
        Err(cause) => Err(ClientError::Purging {
            queue: queue.to_string(),
            cause,
        }),
    }
}

/// Every queue the system file declares (`x-qalens.broker.queues`) and every dead-letter
/// queue it names, each once, in the file's order.
pub fn declared_queues(ctx: &RunContext) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for q in ctx.system.qalens.broker.iter().flat_map(|b| &b.queues) {
        for name in std::iter::once(&q.name).chain(q.dead_letter.as_ref()) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    out
}

/// Purges every declared queue ([`declared_queues`]) before a scenario that holds the
/// broker alone, so it starts from empty queues whatever earlier scenarios left there. A
/// broker that does not answer yet (started again after an outage) is waited for, up to
/// `deadline`. The queues purged, with how many messages each had ready.
pub async fn purge_declared(
    ctx: &RunContext,
    deadline: Duration,
) -> Result<Vec<(String, u32)>, wait::Waited> {
    let queues = declared_queues(ctx);
    wait::until(deadline, || {
        let queues = queues.clone();
        async move {
            let mut purged = vec![];
            for queue in queues {
                if let Some(n) = purge(ctx, &queue).await? {
                    purged.push((queue, n));
                }
            }
            Ok::<_, ClientError>(Some(purged))
        }
    })
    .await
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
pub fn key_of(props: &BasicProperties) -> Option<String> {
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
pub async fn scan(
    ctx: &RunContext,
    queue: &str,
    limit: usize,
    mut visit: impl FnMut(Option<String>, (String, i64)) -> bool,
) -> Result<(), ClientError> {
    read_head(ctx, queue, limit, |m| {
        let death = m.death.clone().unwrap_or(("(no x-death header)".into(), 0));
        visit(m.key.clone(), death)
    })
    .await
}

/// One message read from a queue without taking it out, as a failure message shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    /// Its [`KEY_HEADER`], else its message id.
    pub key: Option<String>,
    /// Its body, as text (bytes that are not UTF-8 replaced).
    pub body: String,
    /// Whether the broker had delivered it before (to a consumer that put it back, or to
    /// an earlier look).
    pub redelivered: bool,
    /// Its first x-death reason and count, if it was dead-lettered.
    pub death: Option<(String, i64)>,
}

/// The first `limit` messages ready in `queue`, head first, each put back in order.
pub async fn peek(ctx: &RunContext, queue: &str, limit: usize) -> Result<Vec<Peeked>, ClientError> {
    let mut seen = vec![];
    read_head(ctx, queue, limit, |m| {
        seen.push(m.clone());
        false
    })
    .await?;
    Ok(seen)
}

/// Reads `queue` from its head, at most `limit` messages, and shows `visit` each one. The
/// message `visit` returns `true` for is taken out (acked) and ends the read; every other
/// message read is put back, in order.
async fn read_head(
    ctx: &RunContext,
    queue: &str,
    limit: usize,
    mut visit: impl FnMut(&Peeked) -> bool,
) -> Result<(), ClientError> {
    let (conn, ch) = channel(ctx).await?;
    let mut last_held = None;
    let result = async {
        for _ in 0..limit {
            let Some(msg) = ch
                .basic_get(queue.into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(|cause| ClientError::Reading {
                    queue: queue.to_string(),
                    cause,
                })?
            else {
                break;
            };
            let props = &msg.delivery.properties;
            let peeked = Peeked {
                key: key_of(props)
                    .or_else(|| props.message_id().as_ref().map(|m| m.as_str().to_string())),
                body: String::from_utf8_lossy(&msg.delivery.data).into_owned(),
                redelivered: msg.delivery.redelivered,
                death: props.headers().as_ref().and_then(x_death),
            };
            if visit(&peeked) {
                msg.delivery
                    .ack(Default::default())
                    .await
                    .map_err(ClientError::Broker)?;
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

/// Waits up to `deadline` until the message with `key` is in `queue`, takes it out and
/// gives its first `x-death` reason and count (see [`take_from`]); the error says what
/// was last seen (a failed read among it).
pub async fn await_taken(
    ctx: &RunContext,
    queue: &str,
    key: &str,
    deadline: Duration,
) -> Result<(String, i64), wait::Waited> {
    wait::until(deadline, || async move {
        match take_from(ctx, queue, key).await? {
            Some(d) => Ok(Some(d)),
            None => Err(ClientError::NotInQueue {
                key: key.to_string(),
                queue: queue.to_string(),
            }),
        }
    })
    .await
}

pub async fn take_from(
    ctx: &RunContext,
    queue: &str,
    key: &str,
) -> Result<Option<(String, i64)>, ClientError> {
    let mut found = None;
    scan(ctx, queue, 1000, |k, death| {
        let hit = k.as_deref() == Some(key);
        if hit {
            found = Some(death);
        }
        hit
    })
    .await?;
    Ok(found)
}
