//! A circuit breaker per upstream: after `failure_threshold` consecutive failures the
//! gateway stops calling the upstream for `open_for`, then lets exactly one probe through
//! and closes again only if that probe succeeds.
//!
//! ```text
//!            K consecutive failures               open_for elapsed (next try_acquire)
//!   Closed ─────────────────────────▶ Open ─────────────────────────────▶ HalfOpen
//!     ▲                                 ▲                                    │
//!     │        probe succeeded          │          probe failed              │
//!     └─────────────────────────────────┼────────────────────────────────────┤
//!                                       └────────────────────────────────────┘
//! ```
//!
//! The caller passes the current [`Instant`] in, so tests drive the clock themselves.
//! Usage: `let permit = breaker.try_acquire(now)`; unless it is [`Permit::Open`], call the
//! upstream and then `breaker.record(&permit, ok, Instant::now())`. A failure is whatever
//! the caller counts as one (connection error, timeout, 5xx).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What [`Breaker::try_acquire`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// The breaker is closed: call the upstream.
    Closed,
    /// The breaker is half-open and this request is the single probe: call the upstream
    /// and record the result promptly; no other request goes through until it is recorded.
    Probe,
    /// Do not call the upstream. `retry_after` is when the breaker will next admit a
    /// probe if nothing else changes (suitable for a `Retry-After` header).
    Open { retry_after: Duration },
}

/// The breaker's state, as shown on the admin endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    /// `failures` consecutive failures so far (fewer than the threshold).
    Closed { failures: u32 },
    /// No calls until `until`.
    Open { until: Instant },
    /// One probe is in flight. If it is not recorded by `deadline` (admission plus
    /// `open_for`: the caller dropped it), it counts as lost and the next request becomes
    /// the probe.
    HalfOpen { deadline: Instant },
}

/// A circuit breaker for one upstream. `Send + Sync`; share it behind an `Arc`.
#[derive(Debug)]
pub struct Breaker {
    failure_threshold: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker that opens after `failure_threshold` consecutive failures (a
    /// threshold of 0 is treated as 1) and then stays open for `open_for`.
    pub fn new(failure_threshold: u32, open_for: Duration) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            open_for,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    /// How many consecutive failures open the breaker.
    pub fn failure_threshold(&self) -> u32 {
        self.failure_threshold
    }

    /// How long the breaker stays open before admitting a probe.
    pub fn open_for(&self) -> Duration {
        self.open_for
    }

    /// Asks whether a request may go to the upstream at `now`. An open breaker whose
    /// `open_for` has elapsed becomes half-open here and returns the one [`Permit::Probe`];
    /// while that probe is in flight everyone else gets [`Permit::Open`].
    pub fn try_acquire(&self, now: Instant) -> Permit {
        let mut inner = self.lock();
        match *inner {
            Inner::Closed { .. } => Permit::Closed,
            Inner::Open { until } | Inner::HalfOpen { deadline: until } if now < until => {
                Permit::Open {
                    retry_after: until - now,
                }
            }
            Inner::Open { .. } => {
                *inner = Inner::HalfOpen {
                    deadline: now + self.open_for,
                };
                Permit::Probe
            }
            Inner::HalfOpen { .. } => {
                // The previous probe was never recorded: treat it as lost, probe again.
                *inner = Inner::HalfOpen {
                    deadline: now + self.open_for,
                };
                Permit::Probe
            }
        }
    }

    /// Records the outcome of a request made under `permit` (`success == false` for an
    /// error or timeout). Results that no longer match the state are ignored: a request
    /// admitted while closed that finishes after the breaker opened changes nothing, and
    /// an [`Permit::Open`] permit (no request was made) is a no-op.
    pub fn record(&self, permit: &Permit, success: bool, now: Instant) {
        let mut inner = self.lock();
        match (permit, *inner) {
            (Permit::Closed, Inner::Closed { .. }) if success => {
                *inner = Inner::Closed { failures: 0 };
            }
            (Permit::Closed, Inner::Closed { failures }) => {
                let failures = failures.saturating_add(1);
                *inner = if failures >= self.failure_threshold {
                    Inner::Open {
                        until: now + self.open_for,
                    }
                } else {
                    Inner::Closed { failures }
                };
            }
            (Permit::Probe, Inner::HalfOpen { .. }) if success => {
                *inner = Inner::Closed { failures: 0 };
            }
            (Permit::Probe, Inner::HalfOpen { .. }) => {
                *inner = Inner::Open {
                    until: now + self.open_for,
                };
            }
            _ => {}
        }
    }

    /// The current state. An open breaker whose `open_for` has elapsed still reports
    /// `Open` until the next [`try_acquire`](Self::try_acquire); use
    /// [`state_at`](Self::state_at) to see that it would admit a probe.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// The state as seen at `now`: `HalfOpen` (rather than `Open`) once `open_for` has
    /// elapsed, since the next request would be admitted as the probe.
    pub fn state_at(&self, now: Instant) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if now < until => BreakerState::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update writes a whole valid state, so a poisoned lock holds a valid one.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(10);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A breaker with threshold 3, opened at `t0`.
    fn opened(t0: Instant) -> Breaker {
        let b = Breaker::new(3, OPEN_FOR);
        for _ in 0..3 {
            let p = b.try_acquire(t0);
            assert_eq!(p, Permit::Closed);
            b.record(&p, false, t0);
        }
        assert_eq!(b.state(), BreakerState::Open);
        b
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Breaker>();
    }

    #[test]
    fn starts_closed_and_admits() {
        let b = Breaker::new(3, OPEN_FOR);
        let t0 = Instant::now();
        assert_eq!(b.state(), BreakerState::Closed);
        for _ in 0..100 {
            let p = b.try_acquire(t0);
            assert_eq!(p, Permit::Closed);
            b.record(&p, true, t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn failures_below_threshold_stay_closed() {
        let b = Breaker::new(3, OPEN_FOR);
        let t0 = Instant::now();
        for _ in 0..2 {
            let p = b.try_acquire(t0);
            b.record(&p, false, t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_acquire(t0), Permit::Closed);
    }

    #[test]
    fn threshold_consecutive_failures_open_it() {
        let t0 = Instant::now();
        let b = opened(t0);
        assert_eq!(
            b.try_acquire(t0),
            Permit::Open {
                retry_after: OPEN_FOR
            }
        );
        assert_eq!(
            b.try_acquire(t0 + secs(4)),
            Permit::Open {
                retry_after: secs(6)
            }
        );
    }

    #[test]
    fn success_in_closed_resets_the_count() {
        let b = Breaker::new(3, OPEN_FOR);
        let t0 = Instant::now();
        for outcome in [false, false, true, false, false] {
            let p = b.try_acquire(t0);
            b.record(&p, outcome, t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        let p = b.try_acquire(t0);
        b.record(&p, false, t0);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn zero_threshold_behaves_as_one() {
        let b = Breaker::new(0, OPEN_FOR);
        assert_eq!(b.failure_threshold(), 1);
        let t0 = Instant::now();
        let p = b.try_acquire(t0);
        assert_eq!(p, Permit::Closed);
        b.record(&p, false, t0);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn after_open_for_one_probe_is_admitted() {
        let t0 = Instant::now();
        let b = opened(t0);
        let just_before = t0 + OPEN_FOR - Duration::from_millis(1);
        assert_eq!(
            b.try_acquire(just_before),
            Permit::Open {
                retry_after: Duration::from_millis(1)
            }
        );
        assert_eq!(b.state_at(just_before), BreakerState::Open);
        assert_eq!(b.state_at(t0 + OPEN_FOR), BreakerState::HalfOpen);
        assert_eq!(b.state(), BreakerState::Open, "state() changes lazily");

        assert_eq!(b.try_acquire(t0 + OPEN_FOR), Permit::Probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn others_are_refused_while_the_probe_is_in_flight() {
        let t0 = Instant::now();
        let b = opened(t0);
        let t1 = t0 + OPEN_FOR;
        assert_eq!(b.try_acquire(t1), Permit::Probe);
        for dt in [0, 1, 5, 9] {
            assert_eq!(
                b.try_acquire(t1 + secs(dt)),
                Permit::Open {
                    retry_after: OPEN_FOR - secs(dt)
                },
                "at +{dt}s"
            );
        }
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn probe_success_closes_it() {
        let t0 = Instant::now();
        let b = opened(t0);
        let t1 = t0 + OPEN_FOR;
        let probe = b.try_acquire(t1);
        assert_eq!(probe, Permit::Probe);
        b.record(&probe, true, t1 + secs(1));
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_acquire(t1 + secs(1)), Permit::Closed);
        // The failure count starts from zero again.
        for _ in 0..2 {
            let p = b.try_acquire(t1 + secs(1));
            b.record(&p, false, t1 + secs(1));
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn probe_failure_reopens_for_open_for_from_the_failure() {
        let t0 = Instant::now();
        let b = opened(t0);
        let t1 = t0 + OPEN_FOR;
        let probe = b.try_acquire(t1);
        let failed_at = t1 + secs(2);
        b.record(&probe, false, failed_at);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            b.try_acquire(failed_at),
            Permit::Open {
                retry_after: OPEN_FOR
            }
        );
        assert_eq!(
            b.try_acquire(failed_at + OPEN_FOR - secs(1)),
            Permit::Open {
                retry_after: secs(1)
            }
        );
        assert_eq!(b.try_acquire(failed_at + OPEN_FOR), Permit::Probe);
    }

    #[test]
    fn a_lost_probe_is_replaced_after_open_for() {
        let t0 = Instant::now();
        let b = opened(t0);
        let t1 = t0 + OPEN_FOR;
        let _dropped = b.try_acquire(t1);
        assert!(matches!(
            b.try_acquire(t1 + OPEN_FOR - secs(1)),
            Permit::Open { .. }
        ));
        let second = b.try_acquire(t1 + OPEN_FOR);
        assert_eq!(second, Permit::Probe);
        assert!(matches!(b.try_acquire(t1 + OPEN_FOR), Permit::Open { .. }));
        b.record(&second, true, t1 + OPEN_FOR);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn stale_closed_results_do_not_move_an_open_or_half_open_breaker() {
        let t0 = Instant::now();
        let b = Breaker::new(1, OPEN_FOR);
        let slow = b.try_acquire(t0);
        let fast = b.try_acquire(t0);
        b.record(&fast, false, t0);
        assert_eq!(b.state(), BreakerState::Open);
        // A request admitted before the breaker opened succeeds late: still open.
        b.record(&slow, true, t0 + secs(1));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            b.try_acquire(t0 + secs(1)),
            Permit::Open {
                retry_after: secs(9)
            }
        );

        let probe = b.try_acquire(t0 + OPEN_FOR);
        assert_eq!(probe, Permit::Probe);
        // Neither a stale success nor a stale failure decides the half-open state.
        b.record(&slow, true, t0 + OPEN_FOR);
        b.record(&slow, false, t0 + OPEN_FOR);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.record(&probe, true, t0 + OPEN_FOR);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn open_permits_and_stale_probes_are_ignored() {
        let t0 = Instant::now();
        let b = Breaker::new(3, OPEN_FOR);
        b.record(
            &Permit::Open {
                retry_after: OPEN_FOR,
            },
            false,
            t0,
        );
        b.record(&Permit::Probe, false, t0);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_acquire(t0), Permit::Closed);

        let b = opened(t0);
        b.record(&Permit::Probe, true, t0);
        b.record(
            &Permit::Open {
                retry_after: OPEN_FOR,
            },
            true,
            t0,
        );
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn is_shared_across_threads() {
        let b = std::sync::Arc::new(opened(Instant::now()));
        let at = Instant::now() + OPEN_FOR + secs(1);
        let probes: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let b = &b;
                    s.spawn(move || usize::from(b.try_acquire(at) == Permit::Probe))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(probes, 1, "exactly one probe at a time");
    }

    #[test]
    fn state_serializes_for_the_admin_endpoint() {
        assert_eq!(
            serde_json::to_string(&[
                BreakerState::Closed,
                BreakerState::Open,
                BreakerState::HalfOpen
            ])
            .unwrap(),
            r#"["closed","open","half_open"]"#
        );
    }
}
