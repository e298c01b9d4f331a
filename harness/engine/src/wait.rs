//! Waiting on conditions with explicit deadlines (never bare sleeps).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often conditions are re-checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Re-evaluates `check` until it returns `Ok(Some(value))` or `deadline` passes. On
/// timeout, returns the last observation (`Ok(None)` keeps the previous one) so the
/// failure message can say what was seen. In a fail-fast run that another scenario has
/// already failed, it stops waiting with [`crate::stop::CANCELLED`].
pub async fn until<T, F, Fut>(deadline: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
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
            Err(seen) => last = seen,
        }
        if Instant::now() >= end {
            return Err(last);
        }
        if crate::stop::requested() {
            return Err(format!(
                "{} (last seen while waiting: {last})",
                crate::stop::CANCELLED
            ));
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
                until::<(), _, _>(Duration::from_secs(3600), || async {
                    Err("still PENDING".to_string())
                }),
            )
            .await
        })
        .await
        .expect("a stopped run waited on");
        let err = waited.unwrap_err();
        assert!(crate::stop::is_cancellation(&err), "{err}");
        assert!(err.contains("still PENDING"), "{err}");
    }

    #[tokio::test]
    async fn times_out_with_the_last_observation() {
        let err = until::<(), _, _>(Duration::from_millis(250), || async {
            Err("seen 0".to_string())
        })
        .await
        .unwrap_err();
        assert_eq!(err, "seen 0");
    }
}
