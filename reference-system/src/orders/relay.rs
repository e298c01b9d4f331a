//! The outbox relay: publishes outbox rows to the broker as persistent messages with
//! publisher confirms (message-id = event id), and marks a row published only after the
//! broker confirmed it. A broker outage delays events; it never loses one. A crash between
//! the confirm and the mark republishes the event, which consumers deduplicate. A confirm
//! that does not come within [`CONFIRM_TIMEOUT`] (a partitioned link holds it) counts as
//! a failed publish: the relay drops the connection and publishes the row again. Each
//! message carries its order's trace context and baggage in its AMQP headers.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::Notify;

use super::store::Store;

/// How long the relay waits for the broker's confirm of one event.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);

/// How the relay finds the broker and how often it looks at the outbox.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub amqp_url: String,
    /// How long to wait between scans when nothing wakes the relay.
    pub poll_interval: Duration,
    /// The longest wait between two attempts while the broker is unreachable (the wait
    /// starts at 100 ms and doubles up to this).
    pub max_backoff: Duration,
}

pub struct Relay {
    store: Store,
    config: RelayConfig,
    wake: Arc<Notify>,
    conn: Option<(Connection, Channel)>,
}

impl Relay {
    pub fn new(store: Store, config: RelayConfig, wake: Arc<Notify>) -> Self {
        Self {
            store,
            config,
            wake,
            conn: None,
        }
    }

    /// Runs until `stop` resolves.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.publish_pending().await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "outbox relay: publish failed, will retry"
                    );
                    self.conn = None;
                    tokio::select! {
                        _ = &mut stop => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    continue;
                }
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    async fn channel(&mut self) -> anyhow::Result<&Channel> {
        let alive = matches!(&self.conn, Some((c, ch)) if c.status().connected() && ch.status().connected());
        if !alive {
            let conn = crate::amqp::connect(&self.config.amqp_url, Duration::from_secs(1)).await?;
            let channel = conn.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            crate::amqp::declare_events_exchange(&channel).await?;
            self.conn = Some((conn, channel));
        }
        Ok(&self.conn.as_ref().expect("connection set above").1)
    }

    /// Publishes every pending row; returns how many were confirmed.
    pub async fn publish_pending(&mut self) -> anyhow::Result<usize> {
        let mut published = 0;
        loop {
            let rows = self.store.pending_events(100).await?;
            if rows.is_empty() {
                return Ok(published);
            }
            for row in rows {
                if let Err(e) = self.publish(&row).await {
                    // DEFECT(events-outside-outbox): a best-effort publish; the event is lost.
                    if crate::defects::on(crate::defects::Defect::EventsOutsideOutbox) {
                        tracing::warn!(event = %row.event_id, error = format!("{e:#}"), "event dropped");
                        self.conn = None;
                    } else {
                        return Err(e);
                    }
                }
                self.store.mark_published(row.seq).await?;
                published += 1;
            }
        }
    }

    /// Publishes one row and waits for the broker's confirm, at most [`CONFIRM_TIMEOUT`].
    async fn publish(&mut self, row: &super::store::OutboxRow) -> anyhow::Result<()> {
        tokio::time::timeout(CONFIRM_TIMEOUT, self.publish_unbounded(row))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "no confirm for event {} within {CONFIRM_TIMEOUT:?}",
                    row.event_id
                )
            })?
    }

    async fn publish_unbounded(&mut self, row: &super::store::OutboxRow) -> anyhow::Result<()> {
        let channel = self.channel().await?;
        let props = BasicProperties::default()
            .with_message_id(row.event_id.as_str().into())
            .with_type(row.event_type.as_str().into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            // The order's trace context and baggage, as an instrumented publisher sends them.
            .with_headers(crate::propagation::amqp_headers(
                &crate::propagation::from_map(&row.trace_context),
                Default::default(),
            ));
        let confirm = channel
            .basic_publish(
                contracts::ORDER_EVENTS_EXCHANGE.into(),
                row.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                row.payload.as_bytes(),
                props,
            )
            .await?;
        // DEFECT(relay-marks-unconfirmed): written to the connection counts as published.
        if crate::defects::on(crate::defects::Defect::RelayMarksUnconfirmed) {
            return Ok(());
        }
        let confirm = confirm.await?;
        if !confirm.is_ack() {
            anyhow::bail!("broker nacked event {}", row.event_id);
        }
        Ok(())
    }
}
