//! The early stop of a fail-fast run (the self-test's defect variants): once one scenario
//! has failed, the run has its answer. Scenarios still waiting for their turn are not
//! started, and scenarios waiting on a condition ([`crate::wait::until`]) stop waiting;
//! both end with [`CANCELLED`] and are recorded as cancelled, never as passed or failed.
//! Their after hooks still heal their faults, shielded from the stop ([`shielded`]), so
//! the topology is left as a finished scenario leaves it.
//!
//! Only waits are cut short: a step that is sending a request or changing a container
//! finishes what it does first, so a scenario is never torn apart halfway through an
//! operation.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// What a cancelled scenario's step or hook fails with; the report tells cancelled
/// scenarios from failed ones by it.
///
/// **Keep this text stable.** A step's error reaches the report only as text: cucumber
/// turns a step's `Err(e)` into `panic!("{e}")`, and the report decides "cancelled" by
/// finding this text in the message ([`is_cancellation`]). Every [`Cancelled`] prints it.
pub const CANCELLED: &str = "cancelled: another scenario of this fail-fast run already failed";

/// A wait cut short by the early stop ([`crate::wait::until`]): the typed form of a
/// cancellation inside Rust code. Its message always contains [`CANCELLED`], which is all
/// that crosses the cucumber boundary (see there), so the report still tells it apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Cancelled {
    message: String,
}

impl Cancelled {
    /// A wait cancelled after it last saw `last_seen`:
    /// `<CANCELLED> (last seen while waiting: <last_seen>)`.
    pub fn while_waiting(last_seen: &str) -> Self {
        Self {
            message: format!("{CANCELLED} (last seen while waiting: {last_seen})"),
        }
    }

    /// The same cancellation with its message put in context by `f`, which is given the
    /// message as it reads now and must keep it (it holds [`CANCELLED`]).
    pub(crate) fn map(self, f: impl FnOnce(String) -> String) -> Self {
        let message = f(self.message);
        debug_assert!(is_cancellation(&message), "{message}");
        Self { message }
    }
}

/// A run's stop signal: cheap to clone, raised once.
#[derive(Debug, Clone)]
pub struct Stop(Arc<watch::Sender<bool>>);

impl Default for Stop {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }
}

impl Stop {
    /// Raises the signal (again is harmless).
    pub fn raise(&self) {
        self.0.send_replace(true);
    }

    pub(crate) fn raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the signal is raised.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = rx.wait_for(|raised| *raised).await;
    }
}

tokio::task_local! {
    static CURRENT: Stop;
}

/// Runs `fut` (a run's scenarios) with `stop` as the signal its waits obey.
pub async fn scope<F: Future>(stop: Stop, fut: F) -> F::Output {
    CURRENT.scope(stop, fut).await
}

/// Runs `fut` deaf to the signal: healing a fault must finish even in a stopped run.
pub async fn shielded<F: Future>(fut: F) -> F::Output {
    CURRENT.scope(Stop::default(), fut).await
}

/// Whether the run this task belongs to was stopped (never outside [`scope`]).
pub(crate) fn requested() -> bool {
    CURRENT.try_with(Stop::raised).unwrap_or(false)
}

/// Whether a step's error or a hook's failure says the scenario was cancelled.
pub fn is_cancellation(error: &str) -> bool {
    error.contains(CANCELLED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn only_waits_inside_the_scope_see_the_signal_and_shielded_ones_never() {
        let stop = Stop::default();
        assert!(!requested());
        scope(stop.clone(), async {
            assert!(!requested());
            stop.raise();
            assert!(requested());
            assert!(!shielded(async { requested() }).await);
        })
        .await;
        assert!(!requested());
        // Raised already: waiting returns at once.
        tokio::time::timeout(Duration::from_secs(5), stop.wait())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn waiting_returns_when_the_signal_is_raised_later() {
        let stop = Stop::default();
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        assert!(!waiter.is_finished());
        stop.raise();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
