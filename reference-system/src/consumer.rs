//! The delivery loop shared by every queue consumer: manual acks, bounded prefetch,
//! reconnection after broker outages, and a decision per delivery made by a
//! [`Handler`] that tests can drive without a broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use serde::Serialize;
use tokio::sync::watch;

use crate::amqp::QueueSpec;
use crate::defects::{self, Defect};

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

/// Decides what one delivery becomes. Must be idempotent per message id.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        message_id: Option<&str>,
        body: &[u8],
    ) -> impl std::future::Future<Output = Outcome> + Send;
}

/// Counters a consumer exposes on its inspection endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    pub acked: AtomicU64,
    pub rejected: AtomicU64,
    pub retried: AtomicU64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct StatsView {
    pub acked: u64,
    pub rejected: u64,
    pub retried: u64,
}

impl Stats {
    pub fn view(&self) -> StatsView {
        StatsView {
            acked: self.acked.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }
}

/// Where and how to consume.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub amqp_url: String,
    pub spec: QueueSpec,
    /// Unacknowledged deliveries in flight at most.
    pub prefetch: u16,
    /// The consumer tag, for the broker's view of who consumes.
    pub tag: String,
}

pub struct Consumer<H> {
    config: ConsumerConfig,
    handler: Arc<H>,
    stats: Arc<Stats>,
    conn: Option<(Connection, Channel)>,
}

impl<H: Handler> Consumer<H> {
    /// Connects and declares the queues, waiting up to `patience` for the broker.
    pub async fn connect(
        config: ConsumerConfig,
        handler: Arc<H>,
        stats: Arc<Stats>,
        patience: Duration,
    ) -> anyhow::Result<Self> {
        let mut consumer = Self {
            config,
            handler,
            stats,
            conn: None,
        };
        consumer.open(patience).await?;
        Ok(consumer)
    }

    async fn open(&mut self, patience: Duration) -> anyhow::Result<()> {
        let conn = crate::amqp::connect(&self.config.amqp_url, patience).await?;
        let channel = conn.create_channel().await?;
        crate::amqp::declare_consumer_queue(&channel, &self.config.spec).await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        self.conn = Some((conn, channel));
        Ok(())
    }

    /// Consumes until `stop` turns true, reconnecting after broker outages. A delivery in
    /// progress when `stop` turns true is finished and acked first.
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
                    queue = self.config.spec.name,
                    "broker unreachable, retrying"
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
                    tracing::warn!(
                        error = format!("{e:#}"),
                        queue = self.config.spec.name,
                        "connection lost"
                    );
                    self.conn = None;
                }
            }
        }
    }

    async fn consume(&mut self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let (_, channel) = self.conn.as_ref().expect("opened before consume");
        let mut deliveries = channel
            .basic_consume(
                self.config.spec.name.as_str().into(),
                self.config.tag.as_str().into(),
                BasicConsumeOptions {
                    // DEFECT(auto-ack): the broker forgets a delivery as soon as it is sent.
                    no_ack: defects::on(Defect::AutoAck),
                    ..Default::default()
                },
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
            let mut outcome = self
                .handler
                .handle(message_id.as_deref(), &delivery.data)
                .await;
            if defects::on(Defect::AutoAck) {
                // The broker forgot the delivery when it sent it: whatever happened is final.
                self.stats.acked.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // DEFECT(poison-requeued): a message that can never succeed goes back in line.
            if let Outcome::Reject(reason) = &outcome
                && defects::on(Defect::PoisonRequeued)
            {
                outcome = Outcome::Retry(reason.clone());
            }
            match outcome {
                Outcome::Ack => {
                    delivery.ack(BasicAckOptions::default()).await?;
                    self.stats.acked.fetch_add(1, Ordering::Relaxed);
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
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Retry(reason) => {
                    tracing::warn!(?message_id, reason, "transient failure, requeueing");
                    delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await?;
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
