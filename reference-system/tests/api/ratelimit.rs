//! The Redis rate limiter against a real Redis in a container (one per test, labelled
//! `qalens=refsys-tests`). The image comes from `QALENS_REDIS_IMAGE` (`NAME:TAG`, default
//! `redis:7`) and must contain `redis-server`.
//!
//! Waits are derived from the Redis clock (the limiter's only clock), never fixed delays.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use redis::aio::ConnectionManager;
use refsys::gateway::ratelimit::{
    Algorithm, Decision, Limiter, LimiterError, Quota, ceil_secs, headers,
};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

const TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct TestRedis {
    container: ContainerAsync<GenericImage>,
    pub(crate) url: String,
}

impl TestRedis {
    pub(crate) async fn start() -> Self {
        let image = std::env::var("QALENS_REDIS_IMAGE").unwrap_or_else(|_| "redis:7".into());
        let (name, tag) = image
            .rsplit_once(':')
            .filter(|(name, _)| !name.is_empty())
            .unwrap_or((image.as_str(), "latest"));
        let container = GenericImage::new(name, tag)
            .with_exposed_port(6379.tcp())
            .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"))
            .with_cmd(["redis-server", "--protected-mode", "no", "--save", ""])
            .with_label("qalens", "refsys-tests")
            .start()
            .await
            .unwrap_or_else(|e| panic!("start redis from image {image}: {e}"));
        let port = container.get_host_port_ipv4(6379).await.unwrap();
        Self {
            container,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }

    async fn conn(&self) -> ConnectionManager {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        ConnectionManager::new(client).await.unwrap()
    }

    /// A limiter on its own connection, with a prefix unique to the test.
    async fn limiter(&self, prefix: &str) -> Limiter {
        Limiter::new(self.conn().await, prefix, TIMEOUT)
    }
}

/// A key prefix no other test uses.
fn prefix(test: &str) -> String {
    format!("test-{test}-{}", uuid::Uuid::new_v4().simple())
}

fn quota(limit: u64, window_ms: u64) -> Quota {
    Quota::new(limit, Duration::from_millis(window_ms))
}

/// The Redis server time in milliseconds.
async fn server_ms(conn: &mut ConnectionManager) -> u64 {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await.unwrap();
    secs * 1000 + micros / 1000
}

/// Waits until the Redis clock (the limiter's clock) reads at least `target_ms`, polling
/// it every 5 ms; fails if that takes 5 s longer than the local clock says it should.
async fn sleep_until_server_ms(conn: &mut ConnectionManager, target_ms: u64) {
    let start = server_ms(conn).await;
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(target_ms.saturating_sub(start))
        + Duration::from_secs(5);
    let mut ticks = tokio::time::interval(Duration::from_millis(5));
    loop {
        if server_ms(conn).await >= target_ms {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Redis clock never reached {target_ms}"
        );
        ticks.tick().await;
    }
}

/// If less than `needed_ms` is left in the current epoch-aligned window of `window_ms`
/// (the fixed window's alignment), waits for the next window to begin.
async fn ensure_room_in_window(conn: &mut ConnectionManager, window_ms: u64, needed_ms: u64) {
    let now = server_ms(conn).await;
    let edge = (now / window_ms + 1) * window_ms;
    if edge - now < needed_ms {
        sleep_until_server_ms(conn, edge + 5).await;
    }
}

fn admitted(decisions: &[Decision]) -> usize {
    decisions.iter().filter(|d| d.allowed).count()
}

/// Checks the invariants every denial must hold.
fn assert_honest_denial(d: &Decision, q: &Quota, what: &str) {
    assert!(!d.allowed, "{what}: {d:?}");
    assert_eq!(d.remaining, 0, "{what}: {d:?}");
    let retry = d
        .retry_after
        .unwrap_or_else(|| panic!("{what}: denied without retry_after: {d:?}"));
    assert!(retry > Duration::ZERO, "{what}: {d:?}");
    assert!(ceil_secs(retry) >= 1, "{what}: {d:?}");
    assert!(
        retry <= q.window,
        "{what}: retry after more than a window: {d:?}"
    );
    let h = headers(d, "p", q);
    let retry_header = h
        .iter()
        .find(|(n, _)| n == "retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After in {h:?}"));
    let secs: u64 = retry_header.1.to_str().unwrap().parse().unwrap();
    assert!(secs >= 1 && secs >= ceil_secs(retry), "{what}: {h:?}");
}

#[tokio::test]
async fn sequential_requests_admit_exactly_the_limit() {
    let redis = TestRedis::start().await;
    let (n, k) = (5u64, 3u64);
    let q = quota(n, 3000);
    for algorithm in Algorithm::ALL {
        let what = algorithm.as_str();
        let limiter = redis.limiter(&prefix("sequential")).await;
        let mut conn = redis.conn().await;
        if algorithm == Algorithm::FixedWindow {
            ensure_room_in_window(&mut conn, 3000, 1500).await;
        }

        let mut decisions = Vec::new();
        for _ in 0..n + k {
            decisions.push(limiter.check("client", algorithm, &q).await.unwrap());
        }
        assert_eq!(admitted(&decisions), n as usize, "{what}: {decisions:#?}");
        for (i, d) in decisions.iter().enumerate().take(n as usize) {
            assert!(d.allowed, "{what} #{i}: {d:?}");
            assert_eq!(d.limit, n, "{what} #{i}");
            assert_eq!(d.remaining, n - 1 - i as u64, "{what} #{i}: {d:?}");
            assert_eq!(d.retry_after, None, "{what} #{i}");
            assert!(d.reset_after <= q.window, "{what} #{i}: {d:?}");
            assert!(
                !headers(d, "p", &q).iter().any(|(n, _)| n == "retry-after"),
                "{what} #{i}"
            );
        }
        for d in &decisions[n as usize..] {
            assert_honest_denial(d, &q, what);
        }
        // Another key has its own count.
        assert!(limiter.check("other", algorithm, &q).await.unwrap().allowed);
    }
}

#[tokio::test]
async fn a_concurrent_burst_admits_exactly_the_limit() {
    let redis = TestRedis::start().await;
    let n = 10u64;
    // A long window, so that no token is refilled and no window ends during the burst.
    let window_ms = 60_000;
    let q = quota(n, window_ms);
    for algorithm in Algorithm::ALL {
        let what = algorithm.as_str();
        let prefix = prefix("burst");
        let mut limiters = Vec::new();
        for _ in 0..4 {
            limiters.push(redis.limiter(&prefix).await);
        }
        let mut conn = redis.conn().await;
        if algorithm == Algorithm::FixedWindow {
            ensure_room_in_window(&mut conn, window_ms, 5_000).await;
        }

        let decisions: Vec<Decision> = join_all(
            (0..3 * n as usize)
                .map(|i| limiters[i % limiters.len()].check("client", algorithm, &q)),
        )
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

        assert_eq!(admitted(&decisions), n as usize, "{what}: {decisions:#?}");
        // Each admitted request saw a distinct count: the decisions were serialized.
        let remaining: BTreeSet<u64> = decisions
            .iter()
            .filter(|d| d.allowed)
            .map(|d| d.remaining)
            .collect();
        assert_eq!(remaining, (0..n).collect(), "{what}: {decisions:#?}");
        for d in decisions.iter().filter(|d| !d.allowed) {
            assert_honest_denial(d, &q, what);
        }
    }
}

#[tokio::test]
async fn every_key_gets_a_ttl_and_expires() {
    let redis = TestRedis::start().await;
    let prefix = prefix("ttl");
    let limiter = redis.limiter(&prefix).await;
    let mut conn = redis.conn().await;
    let window_ms = 1000;
    let q = quota(3, window_ms);
    for algorithm in Algorithm::ALL {
        for _ in 0..2 {
            assert!(
                limiter
                    .check("client", algorithm, &q)
                    .await
                    .unwrap()
                    .allowed
            );
        }
    }

    let pattern = format!("{prefix}:*");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    // (The fixed window has one key per window: two if the checks crossed an edge.)
    let kinds: BTreeSet<&str> = keys
        .iter()
        .map(|k| k.split(':').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["fixed-window", "sliding-window", "token-bucket"]),
        "{keys:?}"
    );
    let token_bucket = limiter.redis_key(Algorithm::TokenBucket, "client");
    let sliding = limiter.redis_key(Algorithm::SlidingWindow, "client");
    let fixed_base = limiter.redis_key(Algorithm::FixedWindow, "client");
    for key in &keys {
        assert!(
            key == &token_bucket || key == &sliding || key.starts_with(&format!("{fixed_base}:")),
            "unexpected key name {key}"
        );
        let pttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((1..=window_ms as i64).contains(&pttl), "{key}: PTTL {pttl}");
    }

    // Everything is gone once the TTLs (at most one window) have run out.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(window_ms + 2000);
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticks.tick().await;
        let left: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "keys left behind: {left:?}"
        );
    }
}

#[tokio::test]
async fn fixed_window_admits_a_double_burst_across_an_edge_but_sliding_does_not() {
    let redis = TestRedis::start().await;
    let n = 5u64;
    let window_ms = 2000;
    let q = quota(n, window_ms);
    let limiter = redis.limiter(&prefix("edge")).await;
    let mut conn = redis.conn().await;

    let now = server_ms(&mut conn).await;
    let mut edge = (now / window_ms + 1) * window_ms;
    if edge - now < 600 {
        edge += window_ms;
    }

    let burst = || async {
        let fixed = join_all((0..n).map(|_| limiter.check("c", Algorithm::FixedWindow, &q)));
        let sliding = join_all((0..n).map(|_| limiter.check("c", Algorithm::SlidingWindow, &q)));
        let (fixed, sliding) = tokio::join!(fixed, sliding);
        let ok = |v: Vec<Result<Decision, LimiterError>>| -> Vec<Decision> {
            v.into_iter().map(Result::unwrap).collect()
        };
        (ok(fixed), ok(sliding))
    };

    // Just before the edge: both admit the full quota.
    sleep_until_server_ms(&mut conn, edge - 400).await;
    let (fixed_before, sliding_before) = burst().await;
    let after_first = server_ms(&mut conn).await;
    assert!(
        after_first < edge,
        "machine too slow: the first burst ended {} ms after the window edge",
        after_first - edge
    );
    assert_eq!(admitted(&fixed_before), n as usize, "{fixed_before:#?}");
    assert_eq!(admitted(&sliding_before), n as usize, "{sliding_before:#?}");

    // Just after the edge, well within one window of the first burst.
    sleep_until_server_ms(&mut conn, edge + 50).await;
    let (fixed_after, sliding_after) = burst().await;
    assert!(server_ms(&mut conn).await < edge + window_ms - 400);
    assert_eq!(
        admitted(&fixed_after),
        n as usize,
        "fixed window: a new window, a new quota: {fixed_after:#?}"
    );
    assert_eq!(
        admitted(&sliding_after),
        0,
        "sliding window: {n} already admitted in the last {window_ms} ms: {sliding_after:#?}"
    );
    for d in &sliding_after {
        assert_honest_denial(d, &q, "sliding");
    }
}

#[tokio::test]
async fn a_retry_after_retry_after_is_admitted() {
    let redis = TestRedis::start().await;
    let window_ms = 1000;
    let q = quota(3, window_ms);
    for algorithm in Algorithm::ALL {
        let what = algorithm.as_str();
        let limiter = redis.limiter(&prefix("retry")).await;
        let mut conn = redis.conn().await;
        if algorithm == Algorithm::FixedWindow {
            ensure_room_in_window(&mut conn, window_ms, 500).await;
        }
        for _ in 0..3 {
            assert!(
                limiter
                    .check("client", algorithm, &q)
                    .await
                    .unwrap()
                    .allowed
            );
        }
        let denied = limiter.check("client", algorithm, &q).await.unwrap();
        let denied_at = server_ms(&mut conn).await;
        assert_honest_denial(&denied, &q, what);

        // Retry-After is a promise in the limiter's clock: wait until that clock says so.
        let retry_ms = denied.retry_after.unwrap().as_millis() as u64;
        sleep_until_server_ms(&mut conn, denied_at + retry_ms).await;
        let retried = limiter.check("client", algorithm, &q).await.unwrap();
        assert!(
            retried.allowed,
            "{what}: denied after waiting {denied:?}: {retried:?}"
        );
    }
}

#[tokio::test]
async fn token_bucket_refills_continuously() {
    let redis = TestRedis::start().await;
    // 4 per second: one token every 250 ms.
    let q = quota(4, 1000);
    let limiter = redis.limiter(&prefix("refill")).await;
    for _ in 0..4 {
        assert!(
            limiter
                .check("c", Algorithm::TokenBucket, &q)
                .await
                .unwrap()
                .allowed
        );
    }
    let mut conn = redis.conn().await;
    let denied = limiter
        .check("c", Algorithm::TokenBucket, &q)
        .await
        .unwrap();
    let denied_at = server_ms(&mut conn).await;
    let retry = denied.retry_after.unwrap();
    assert!(retry <= Duration::from_millis(250), "{denied:?}");
    // Refilling the whole bucket takes up to a full window.
    assert!(denied.reset_after > retry, "{denied:?}");
    assert!(denied.reset_after <= q.window, "{denied:?}");
    sleep_until_server_ms(&mut conn, denied_at + retry.as_millis() as u64).await;
    let d = limiter
        .check("c", Algorithm::TokenBucket, &q)
        .await
        .unwrap();
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.remaining, 0, "only one token was refilled: {d:?}");
}

#[tokio::test]
async fn an_unresponsive_redis_is_a_timeout_error() {
    let redis = TestRedis::start().await;
    let limiter = Limiter::new(
        redis.conn().await,
        prefix("timeout"),
        Duration::from_millis(200),
    );
    let q = quota(3, 1000);
    assert!(
        limiter
            .check("c", Algorithm::SlidingWindow, &q)
            .await
            .is_ok()
    );

    redis.container.pause().await.unwrap();
    let started = std::time::Instant::now();
    let result = limiter.check("c", Algorithm::SlidingWindow, &q).await;
    let took = started.elapsed();
    redis.container.unpause().await.unwrap();

    assert!(
        matches!(result, Err(LimiterError::Timeout(_))),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn invalid_quotas_are_refused_before_redis() {
    let redis = TestRedis::start().await;
    let limiter = redis.limiter(&prefix("invalid")).await;
    for q in [quota(0, 1000), quota(1, 0)] {
        let result = limiter.check("c", Algorithm::FixedWindow, &q).await;
        assert!(
            matches!(result, Err(LimiterError::InvalidQuota(_))),
            "{q:?}: {result:?}"
        );
    }
}
