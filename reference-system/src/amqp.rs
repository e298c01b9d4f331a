//! RabbitMQ plumbing shared by the publisher (orders' outbox relay) and the consumers:
//! connecting with retries and declaring the queue topology.
//!
//! Topology: a durable topic exchange [`contracts::ORDER_EVENTS_EXCHANGE`]; per consumer a
//! durable quorum queue with an explicit `x-delivery-limit` that dead-letters through
//! the direct exchange [`contracts::DEAD_LETTER_EXCHANGE`] into `<queue>.dlq`, and no
//! length bound (`x-max-length`): a backlog waits for its consumer, nothing is dropped.
//!
//! Dead-lettering is at least once (`x-dead-letter-strategy: at-least-once`, which
//! RabbitMQ honours only with `x-overflow: reject-publish`): a rejected message stays in
//! its queue until the dead-letter queue has confirmed it. The default, at most once,
//! drops a message rejected while the dead-letter queue has no leader (right after a
//! broker restart: "leader not known. Command is dropped"), so a poison message could
//! vanish instead of being parked.

use std::time::Duration;

/// The defects that shape a consumer queue's arguments, as switched now: a queue
/// declared under one shape cannot be declared again under another. Read once per
/// declaration ([`QueueShape::now`]) and handed to [`declare_consumer_queue`], so the
/// shape recorded is the shape declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueShape {
    poison_requeued: bool,
    bounded: bool,
    delivery_limit_off_by_one: bool,
}

impl QueueShape {
    pub fn now() -> Self {
        Self {
            poison_requeued: crate::defects::on(crate::defects::Defect::PoisonRequeued),
            bounded: crate::defects::on(crate::defects::Defect::BoundedQueueDropsHead),
            delivery_limit_off_by_one: crate::defects::on(
                crate::defects::Defect::DeliveryLimitOffByOne,
            ),
        }
    }
}

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

/// Connects to `url`, retrying for up to `patience` (the broker may still be starting).
pub async fn connect(url: &str, patience: Duration) -> anyhow::Result<Connection> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut wait = Duration::from_millis(100);
    loop {
        match Connection::connect(url, ConnectionProperties::default()).await {
            Ok(conn) => return Ok(conn),
            Err(e) if tokio::time::Instant::now() + wait < deadline => {
                tracing::warn!(error = %e, "broker not reachable yet, retrying");
                tokio::time::sleep(wait).await;
                // Capped low: a broker that is starting answers within a second or two
                // of becoming ready, and each wait past that delays the service's start.
                wait = (wait * 2).min(Duration::from_millis(500));
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot connect to the broker at {url} within {patience:?}: {e}"
                ));
            }
        }
    }
}

/// Declares the events exchange (idempotent).
pub async fn declare_events_exchange(channel: &Channel) -> lapin::Result<()> {
    channel
        .exchange_declare(
            contracts::ORDER_EVENTS_EXCHANGE.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
}

/// The length bound of the `bounded-queue-drops-head` defect, in messages. The correct
/// queues have no bound: a backlog waits for its consumer (RabbitMQ's memory and disk
/// alarms block publishers long before the node is at risk).
const BOUNDED_LENGTH: i32 = 200;

/// How a consumer queue is declared.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// Queue name; its dead-letter queue is `<name>.dlq`.
    pub name: String,
    /// Routing-key patterns bound on the events exchange.
    pub bindings: Vec<String>,
    /// Redeliveries after the first delivery before a message is dead-lettered.
    pub delivery_limit: u32,
}

impl QueueSpec {
    pub fn dlq_name(&self) -> String {
        format!("{}.dlq", self.name)
    }
}

/// Declares the exchanges, the consumer queue, its dead-letter queue and the bindings.
pub async fn declare_consumer_queue(
    channel: &Channel,
    spec: &QueueSpec,
    shape: QueueShape,
) -> lapin::Result<()> {
    declare_events_exchange(channel).await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            contracts::DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;

    let mut dlq_args = FieldTable::default();
    dlq_args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    let dlq = spec.dlq_name();
    channel
        .queue_declare(dlq.as_str().into(), durable, dlq_args)
        .await?;
    channel
        .queue_bind(
            dlq.as_str().into(),
            contracts::DEAD_LETTER_EXCHANGE.into(),
            spec.name.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    // DEFECT(poison-requeued): no delivery limit and no dead-letter exchange.
    if !shape.poison_requeued {
        // DEFECT(delivery-limit-off-by-one): one delivery more than configured.
        let extra = i32::from(shape.delivery_limit_off_by_one);
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(spec.delivery_limit as i32 + extra),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(contracts::DEAD_LETTER_EXCHANGE.into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(spec.name.as_str().into()),
        );
        // With the bounded-queue defect's length bound the overflow stays drop-head,
        // under which RabbitMQ falls back to at-most-once dead-lettering.
        if !shape.bounded {
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
        }
    }
    // DEFECT(bounded-queue-drops-head): a length bound with the default overflow.
    if shape.bounded {
        args.insert("x-max-length".into(), AMQPValue::LongInt(BOUNDED_LENGTH));
    }
    channel
        .queue_declare(spec.name.as_str().into(), durable, args)
        .await?;
    for key in &spec.bindings {
        channel
            .queue_bind(
                spec.name.as_str().into(),
                contracts::ORDER_EVENTS_EXCHANGE.into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}
