//! Waiting on conditions with explicit deadlines (never bare sleeps).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::stop::Cancelled;

/// Why [`until`] returned without its condition holding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Waited {
    /// The deadline passed: what the check saw last.
    #[error("{0}")]
    TimedOut(String),
    /// The run's early stop cut the wait short.
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Waited {
    /// The same outcome with its message made by `f` from the one it has now: a step puts
    /// what was seen in context ("expected 3 ready in q within 5 s, saw {seen}") whether
    /// the wait timed out or was cancelled.
    pub fn map(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Waited::TimedOut(seen) => Waited::TimedOut(f(seen)),
            Waited::Cancelled(c) => Waited::Cancelled(c.map(f)),
        }
    }

    /// Whether the early stop ended the wait.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Waited::Cancelled(_))
    }
}

/// How often conditions are re-checked.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Re-evaluates `check` until it returns `Ok(Some(value))` or `deadline` passes. An
/// `Err` of `check` is an observation ("not yet, and this is what was seen"), not a
/// failure. On timeout, returns the last observation ([`Waited::TimedOut`]; `Ok(None)`
/// keeps the previous one) so the failure message can say what was seen. In a fail-fast
/// run that another scenario has already failed, it stops waiting with
/// [`Waited::Cancelled`].
pub async fn until<T, E, F, Fut>(deadline: Duration, mut check: F) -> Result<T, Waited>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let end = Instant::now() + deadline;
    let mut last = String::from("the condition was never evaluated");
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(seen) => last = seen.to_string(),
        }
        if Instant::now() >= end {
            return Err(Waited::TimedOut(last));
        }
        if crate::stop::requested() {
            return Err(Cancelled::while_waiting(&last).into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_as_soon_as_the_condition_holds() {
        let mut n = 0;
        let v = until(Duration::from_secs(5), || {
            n += 1;
            let now = n;
            async move {
                if now >= 3 {
                    Ok(Some(now))
                } else {
                    Err(format!("n={now}"))
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn a_stopped_run_stops_waiting_long_before_the_deadline() {
        let stop = crate::stop::Stop::default();
        stop.raise();
        let waited = crate::stop::scope(stop, async {
            tokio::time::timeout(
                Duration::from_secs(30),
                until::<(), String, _, _>(Duration::from_secs(3600), || async {
                    Err("still PENDING".to_string())
                }),
            )
            .await
        })
        .await
        .expect("a stopped run waited on");
        let err = waited.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "{} (last seen while waiting: still PENDING)",
                crate::stop::CANCELLED
            )
        );
        // A step's context around it keeps it a cancellation, by type and by text.
        let err = err.map(|seen| format!("order 7 never left PENDING: {seen}"));
        assert!(err.is_cancelled(), "{err:?}");
        assert!(crate::stop::is_cancellation(&err.to_string()), "{err}");
        assert!(
            err.to_string()
                .starts_with("order 7 never left PENDING: cancelled: ")
        );
    }

    #[tokio::test]
    async fn times_out_with_the_last_observation() {
        let err = until::<(), String, _, _>(Duration::from_millis(250), || async {
            Err("seen 0".to_string())
        })
        .await
        .unwrap_err();
        assert_eq!(err, Waited::TimedOut("seen 0".into()));
    }
}
