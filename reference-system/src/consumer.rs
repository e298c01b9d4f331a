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

/// How often a consumer asks the broker how many messages wait in its queues.
pub const DEPTH_INTERVAL: Duration = Duration::from_secs(1);

/// Marks a depth that was never observed (or not since the broker went away).
const UNKNOWN: u64 = u64::MAX;

/// Counters a consumer exposes on its inspection endpoint.
#[derive(Debug)]
pub struct Stats {
    pub acked: AtomicU64,
    pub rejected: AtomicU64,
    pub retried: AtomicU64,
    /// Messages ready in the queue (not yet delivered): the consumer's lag.
    pub queue_ready: AtomicU64,
    /// Messages in the dead-letter queue.
    pub dead_lettered: AtomicU64,
    /// Deliveries seen per message id (first delivery and redeliveries), for inspection.
    attempts: std::sync::Mutex<Attempts>,
}

/// Deliveries per message id for the last [`ATTEMPTS_KEPT`] ids: past that, the id seen
/// first is forgotten, never one whose deliveries are still coming.
#[derive(Debug, Default)]
struct Attempts {
    counts: std::collections::HashMap<String, u64>,
    /// The ids in `counts`, oldest first.
    order: std::collections::VecDeque<String>,
}

impl Attempts {
    fn count(&mut self, message_id: &str) {
        if let Some(n) = self.counts.get_mut(message_id) {
            *n += 1;
            return;
        }
        if self.order.len() >= ATTEMPTS_KEPT
            && let Some(oldest) = self.order.pop_front()
        {
            self.counts.remove(&oldest);
        }
        self.order.push_back(message_id.to_string());
        self.counts.insert(message_id.to_string(), 1);
    }
}

/// Message ids whose deliveries [`Stats`] counts at most.
const ATTEMPTS_KEPT: usize = 10_000;

impl Default for Stats {
    fn default() -> Self {
        Self {
            acked: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            queue_ready: AtomicU64::new(UNKNOWN),
            dead_lettered: AtomicU64::new(UNKNOWN),
            attempts: Default::default(),
        }
    }
}

/// `GET /internal/consumer`: deliveries handled so far, and the depths the broker
/// reported at most [`DEPTH_INTERVAL`] ago (`null` while the broker is unreachable).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StatsView {
    pub acked: u64,
    pub rejected: u64,
    pub retried: u64,
    pub queue_ready: Option<u64>,
    pub dead_lettered: Option<u64>,
}

impl Stats {
    pub fn view(&self) -> StatsView {
        let known = |v: u64| (v != UNKNOWN).then_some(v);
        StatsView {
            acked: self.acked.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            queue_ready: known(self.queue_ready.load(Ordering::Relaxed)),
            dead_lettered: known(self.dead_lettered.load(Ordering::Relaxed)),
        }
    }

    /// How often a message with this id was delivered to this consumer.
    pub fn attempts(&self, message_id: &str) -> u64 {
        let attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts.counts.get(message_id).copied().unwrap_or(0)
    }

    fn count_attempt(&self, message_id: &str) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts.count(message_id);
    }

    fn forget_depths(&self) {
        self.queue_ready.store(UNKNOWN, Ordering::Relaxed);
        self.dead_lettered.store(UNKNOWN, Ordering::Relaxed);
    }
}

/// Ready messages in `queue`, asked with a passive declare (which changes nothing).
async fn ready(channel: &Channel, queue: &str) -> lapin::Result<u64> {
    let q = channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(u64::from(q.message_count()))
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
    /// Changes of the defects that act at declaration ([`defects::declaration_changes`]).
    changes: watch::Receiver<u64>,
    /// The generation of those defects the queue was last declared with.
    declared_at: Option<u64>,
    /// Which defects that shape the queue's arguments it was declared with.
    declared_with: Option<crate::amqp::QueueShape>,
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
            changes: defects::declaration_changes(),
            declared_at: None,
            declared_with: None,
        };
        consumer.open(patience).await?;
        Ok(consumer)
    }

    async fn open(&mut self, patience: Duration) -> anyhow::Result<()> {
        let generation = *self.changes.borrow_and_update();
        let conn = crate::amqp::connect(&self.config.amqp_url, patience).await?;
        let channel = conn.create_channel().await?;
        let shape = crate::amqp::QueueShape::now();
        if self.declared_with.is_some_and(|s| s != shape) {
            // Defects that change the queue's arguments were switched: a queue cannot be
            // declared again with other arguments, so it is made anew (what waits in it
            // is dropped; the switch happens between runs). A switch that leaves the
            // arguments alone (auto-ack) keeps the queue and what waits in it.
            channel
                .queue_delete(
                    self.config.spec.name.as_str().into(),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await?;
        }
        crate::amqp::declare_consumer_queue(&channel, &self.config.spec, shape).await?;
        self.declared_at = Some(generation);
        self.declared_with = Some(shape);
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
                    self.stats.forget_depths();
                }
            }
        }
    }

    async fn sample_depths(&self, channel: &Channel) -> anyhow::Result<()> {
        let queue = ready(channel, &self.config.spec.name).await?;
        let dlq = ready(channel, &self.config.spec.dlq_name()).await?;
        self.stats.queue_ready.store(queue, Ordering::Relaxed);
        self.stats.dead_lettered.store(dlq, Ordering::Relaxed);
        Ok(())
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
        if let Some(generation) = self.declared_at {
            defects::declared(&self.config.tag, generation);
        }
        let mut changes = self.changes.clone();
        let mut depth_ticks = tokio::time::interval(DEPTH_INTERVAL);
        loop {
            let delivery = tokio::select! {
                _ = stop.changed() => return Ok(()),
                _ = changes.changed() => {
                    let (conn, _) = self.conn.as_ref().expect("opened before consume");
                    let _ = conn.close(200, "defects acting at declaration changed".into()).await;
                    anyhow::bail!("defects acting at queue declaration changed: declaring again");
                }
                _ = depth_ticks.tick() => {
                    self.sample_depths(channel).await?;
                    continue;
                }
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
            if let Some(id) = &message_id {
                self.stats.count_attempt(id);
            }
            // The message is handled under the trace context its publisher sent.
            let cx = crate::propagation::from_amqp(delivery.properties.headers().as_ref());
            let mut outcome = opentelemetry::context::FutureExt::with_context(
                self.handler.handle(message_id.as_deref(), &delivery.data),
                cx,
            )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_only_the_oldest_id_is_forgotten() {
        let stats = Stats::default();
        stats.count_attempt("kept");
        stats.count_attempt("kept");
        for i in 0..ATTEMPTS_KEPT - 1 {
            stats.count_attempt(&format!("other-{i}"));
        }
        stats.count_attempt("kept");
        assert_eq!(stats.attempts("kept"), 3);
        // One id more than the cap: the oldest ("kept") goes, the rest stay.
        stats.count_attempt("newest");
        assert_eq!(stats.attempts("kept"), 0);
        assert_eq!(stats.attempts("other-0"), 1);
        assert_eq!(stats.attempts("newest"), 1);
    }
}
