//! The order saga: reserve stock, charge payment, confirm. Any failure compensates
//! (release the reservation, refund the charge) and cancels the order with a reason.
//!
//! - A permanent refusal (insufficient stock, declined payment) cancels at once.
//! - A transient failure (timeout, 5xx, unreachable) is retried with the same
//!   idempotency key until the saga deadline; then the saga compensates. Since the outcome
//!   of a timed-out charge is unknown, compensation always refunds by order id (a refund
//!   of a charge that never happened is a no-op).
//! - If a compensation cannot reach its service, the order is CANCELLED with
//!   `compensation_pending` and the recovery loop retries the compensation until done.
//! - The recovery loop also resumes every PENDING order it finds (after a crash), from the
//!   step it had recorded.
//!
//! **Invariant:** no order stays PENDING longer than the saga deadline plus one
//! compensation attempt, and every CANCELLED order's reservation and charge are undone
//! once their services are reachable.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::clients::{CallError, Clients};
use super::store::{OrderRecord, Outcome, Step, Store, now_ms};
use crate::defects::{self, Defect};

/// Saga timing.
#[derive(Debug, Clone)]
pub struct SagaConfig {
    /// How long after an order was placed its saga may keep retrying transient failures.
    pub deadline: Duration,
    /// First retry back-off; doubles up to one second.
    pub first_backoff: Duration,
    /// How often the recovery loop looks for unfinished orders.
    pub recovery_interval: Duration,
}

#[derive(Clone)]
pub struct Saga {
    store: Store,
    clients: Clients,
    config: SagaConfig,
    /// Orders whose saga runs in this process right now.
    in_flight: Arc<Mutex<HashSet<Uuid>>>,
    /// Notified whenever a saga stops running here.
    finished: Arc<tokio::sync::Notify>,
    /// Wakes the outbox relay when the saga wrote an event.
    outbox_wake: Arc<tokio::sync::Notify>,
}

/// Removes an order from the in-flight set when its drive ends, however it ends.
struct InFlight {
    set: Arc<Mutex<HashSet<Uuid>>>,
    finished: Arc<tokio::sync::Notify>,
    id: Uuid,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.finished.notify_waiters();
    }
}

/// How long a stopping orders service lets running sagas finish before it exits; what
/// is left is finished by the recovery loop after the next start.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

impl Saga {
    pub fn new(
        store: Store,
        clients: Clients,
        config: SagaConfig,
        outbox_wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self {
            store,
            clients,
            config,
            in_flight: Arc::default(),
            finished: Arc::default(),
            outbox_wake,
        }
    }

    /// Runs the saga of `id` in the background unless it already runs here.
    pub fn spawn(&self, id: Uuid) {
        let Some(guard) = self.claim(id) else {
            return;
        };
        let saga = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            // The saga goes on under the trace of the request that placed the order,
            // whether that request spawned it or recovery resumed it.
            let cx = match saga.store.get(id).await {
                Ok(Some(record)) => crate::propagation::from_map(&record.trace_context),
                _ => opentelemetry::Context::new(),
            };
            if let Err(e) =
                opentelemetry::context::FutureExt::with_context(saga.drive(id), cx).await
            {
                tracing::error!(%id, error = format!("{e:#}"), "saga failed; recovery will retry");
            }
        });
    }

    fn claim(&self, id: Uuid) -> Option<InFlight> {
        let mut set = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(id).then(|| InFlight {
            set: self.in_flight.clone(),
            finished: self.finished.clone(),
            id,
        })
    }

    fn deadline_of(&self, record: &OrderRecord) -> Instant {
        let age = Duration::from_millis(now_ms().saturating_sub(record.created_ms));
        Instant::now() + self.config.deadline.saturating_sub(age)
    }

    /// Drives the saga of `id` to its end (or to a pending compensation).
    pub async fn drive(&self, id: Uuid) -> anyhow::Result<()> {
        let Some(record) = self.store.get(id).await? else {
            return Ok(());
        };
        if record.step == Step::Done {
            if record.compensation_pending && self.compensate(id).await.is_ok() {
                self.store.compensation_done(id).await?;
            }
            return Ok(());
        }
        let deadline = self.deadline_of(&record);
        let view = record.view;
        let mut step = record.step;
        loop {
            match step {
                Step::New => {
                    match self
                        .retry(deadline, || {
                            self.clients.reserve(id, &view.sku, view.quantity)
                        })
                        .await
                    {
                        Ok(()) => {
                            self.store.set_step(id, Step::Reserved).await?;
                            step = Step::Reserved;
                        }
                        Err(CallError::Permanent(reason)) => {
                            return self.cancel(id, reason, false).await;
                        }
                        Err(CallError::Transient(reason)) => {
                            // The reservation may have happened: undo it.
                            return self.cancel(id, reason, true).await;
                        }
                    }
                }
                Step::Reserved => {
                    match self
                        .retry(deadline, || {
                            self.clients.charge(id, &view.customer, view.amount_cents)
                        })
                        .await
                    {
                        Ok(()) => {
                            self.store.set_step(id, Step::Charged).await?;
                            step = Step::Charged;
                        }
                        Err(CallError::Transient(_)) if defects::on(Defect::PendingOnTimeout) => {
                            // DEFECT(pending-on-timeout): give up and leave the order as is.
                            return Ok(());
                        }
                        Err(CallError::Permanent(reason)) | Err(CallError::Transient(reason)) => {
                            return self.cancel(id, reason, true).await;
                        }
                    }
                }
                Step::Charged => {
                    self.store.finish(id, Outcome::Confirmed).await?;
                    self.outbox_wake.notify_one();
                    tracing::info!(%id, "order confirmed");
                    return Ok(());
                }
                Step::Done => return Ok(()),
            }
        }
    }

    /// Compensates (when anything may have been done) and cancels with `reason`.
    async fn cancel(&self, id: Uuid, reason: String, compensate: bool) -> anyhow::Result<()> {
        // DEFECT(no-compensation): what was reserved or charged stays so.
        let compensate = compensate && !defects::on(Defect::NoCompensation);
        let pending = compensate && self.compensate(id).await.is_err();
        tracing::warn!(%id, reason, compensation_pending = pending, "order cancelled");
        self.store
            .finish(
                id,
                Outcome::Cancelled {
                    reason,
                    compensation_pending: pending,
                },
            )
            .await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Refunds and releases, each idempotent; one attempt each with a short retry.
    async fn compensate(&self, id: Uuid) -> Result<(), CallError> {
        let deadline = Instant::now() + self.config.first_backoff * 8;
        let refund = self.retry(deadline, || self.clients.refund(id)).await;
        let release = self.retry(deadline, || self.clients.release(id)).await;
        refund.and(release)
    }

    /// Calls `op` until it succeeds, fails permanently, or `deadline` passes.
    async fn retry<F, Fut>(&self, deadline: Instant, mut op: F) -> Result<(), CallError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), CallError>>,
    {
        let mut backoff = self.config.first_backoff;
        loop {
            match op().await {
                Ok(()) => return Ok(()),
                Err(CallError::Permanent(e)) => return Err(CallError::Permanent(e)),
                Err(CallError::Transient(e)) => {
                    if Instant::now() + backoff >= deadline {
                        return Err(CallError::Transient(e));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// How many sagas run in this process now.
    pub fn running(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Waits until no saga runs here, or `limit` passed; returns how many still run.
    pub async fn drain(&self, limit: Duration) -> usize {
        let end = Instant::now() + limit;
        loop {
            let finished = self.finished.notified();
            let running = self.running();
            if running == 0 {
                return 0;
            }
            if tokio::time::timeout_at(end, finished).await.is_err() {
                return self.running();
            }
        }
    }

    /// Resumes unfinished sagas and pending compensations until `stop` resolves; then
    /// lets the sagas running here finish for up to [`SHUTDOWN_DRAIN`].
    pub async fn recover(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval(self.config.recovery_interval);
        loop {
            tokio::select! {
                _ = &mut stop => {
                    let left = self.drain(SHUTDOWN_DRAIN).await;
                    if left > 0 {
                        tracing::warn!(left, "stopping with sagas unfinished; recovery resumes them after the next start");
                    }
                    return;
                }
                _ = ticks.tick() => {}
            }
            if defects::on(Defect::PendingOnTimeout) {
                continue;
            }
            match self.store.unfinished().await {
                Ok(orders) => {
                    for o in orders {
                        self.spawn(o.view.id);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "recovery: cannot read unfinished orders"),
            }
        }
    }
}
