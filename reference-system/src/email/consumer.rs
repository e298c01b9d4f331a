//! The email consumer's delivery loop. [`handle_delivery`] decides what one delivery
//! becomes, without a broker, so tests drive it step by step.

use std::time::Duration;

use contracts::{EmailRecord, OrderEvent};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tokio::sync::watch;

use super::{Config, Store};
use crate::amqp::QueueSpec;

/// What to do with a delivery once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done (or done before): acknowledge.
    Ack,
    /// Can never succeed (unparseable, invalid): reject without requeue, so it goes to the
    /// dead-letter queue at once.
    Reject(String),
    /// Failed for a reason that may pass (database busy): requeue; the queue's delivery
    /// limit dead-letters it if it keeps failing.
    Retry(String),
}

/// Handles one delivery: parses the event and records its email once per message id.
pub async fn handle_delivery(store: &Store, message_id: Option<&str>, body: &[u8]) -> Outcome {
    let Some(message_id) = message_id.filter(|m| !m.is_empty()) else {
        return Outcome::Reject("message has no message-id to deduplicate on".into());
    };
    let event: OrderEvent = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => return Outcome::Reject(format!("unparseable order event: {e}")),
    };
    let email = match event {
        OrderEvent::OrderPlaced(placed) => EmailRecord {
            message_id: message_id.to_string(),
            order_id: placed.order_id,
            to: placed.customer,
            subject: format!("Your order {} is confirmed", placed.order_id),
        },
    };
    match store.record_once(email).await {
        Ok(true) => Outcome::Ack,
        Ok(false) => {
            tracing::info!(message_id, "duplicate delivery ignored");
            Outcome::Ack
        }
        Err(e) => Outcome::Retry(format!("cannot record email: {e}")),
    }
}

pub struct Consumer {
    url: String,
    spec: QueueSpec,
    prefetch: u16,
    store: Store,
    conn: Option<(Connection, Channel)>,
}

impl Consumer {
    /// Connects and declares the queues, waiting up to `patience` for the broker.
    pub async fn connect(
        config: &Config,
        store: Store,
        patience: Duration,
    ) -> anyhow::Result<Self> {
        let mut consumer = Self {
            url: config.amqp_url.clone(),
            spec: config.queue_spec(),
            prefetch: config.prefetch,
            store,
            conn: None,
        };
        consumer.open(patience).await?;
        Ok(consumer)
    }

    async fn open(&mut self, patience: Duration) -> anyhow::Result<()> {
        let conn = crate::amqp::connect(&self.url, patience).await?;
        let channel = conn.create_channel().await?;
        crate::amqp::declare_consumer_queue(&channel, &self.spec).await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        self.conn = Some((conn, channel));
        Ok(())
    }

    /// Consumes until `stop` turns true, reconnecting after broker outages.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            if self.conn.is_none()
                && let Err(e) = self.open(Duration::from_secs(2)).await
            {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "email consumer: broker unreachable, retrying"
                );
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
            match self.consume(&mut stop).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "email consumer: connection lost");
                    self.conn = None;
                }
            }
        }
    }

    async fn consume(&mut self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let (_, channel) = self.conn.as_ref().expect("opened before consume");
        let mut deliveries = channel
            .basic_consume(
                self.spec.name.as_str().into(),
                "email".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        loop {
            let delivery = tokio::select! {
                _ = stop.changed() => return Ok(()),
                d = deliveries.next() => d,
            };
            let Some(delivery) = delivery else {
                anyhow::bail!("consumer stream ended");
            };
            let delivery = delivery?;
            let message_id = delivery
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.as_str().to_string());
            match handle_delivery(&self.store, message_id.as_deref(), &delivery.data).await {
                Outcome::Ack => {
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Outcome::Reject(reason) => {
                    tracing::warn!(
                        ?message_id,
                        reason,
                        "rejecting message to the dead-letter queue"
                    );
                    delivery
                        .reject(BasicRejectOptions { requeue: false })
                        .await?;
                }
                Outcome::Retry(reason) => {
                    tracing::warn!(?message_id, reason, "transient failure, requeueing");
                    delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await?;
                }
            }
        }
    }
}
