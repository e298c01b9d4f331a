//! Rate limiting with its counters in Redis, so that every gateway replica shares one
//! count per client.
//!
//! Each decision is one Lua script (sent with `EVALSHA`, loaded on `NOSCRIPT`) that reads
//! the clock with `redis.call('TIME')`, so replicas with skewed clocks agree and
//! concurrent requests never over-admit: Redis runs a script atomically.
//!
//! Keys are `<prefix>:<algorithm>:<key>` (`<algorithm>` as in [`Algorithm::as_str`]); the
//! fixed window appends `:<window index>`, where the index is the Redis time in
//! milliseconds divided by the window (windows are aligned to the Unix epoch). Every key
//! carries a TTL that ends when it would no longer change a decision, so nothing is left
//! behind. Time resolution is one millisecond.
//!
//! Use one quota per key: a key checked under two quotas (say, two routes with different
//! policies) shares one counter. Put the policy name in `key` to keep them apart.

use std::sync::LazyLock;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, header};
use redis::Script;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

/// How requests are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// A bucket of `limit` tokens refilled continuously at `limit` per `window`; a
    /// request takes one token. Allows a burst of `limit`, then a steady rate.
    TokenBucket,
    /// An exact log of the admission times in the last `window`: at most `limit` requests
    /// in any interval of length `window`.
    SlidingWindow,
    /// A counter per epoch-aligned window: at most `limit` per window, so up to
    /// `2 * limit` can pass in a short interval around a window edge.
    FixedWindow,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [
        Algorithm::TokenBucket,
        Algorithm::SlidingWindow,
        Algorithm::FixedWindow,
    ];

    /// The name used in keys and configuration: `token-bucket`, `sliding-window`,
    /// `fixed-window`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::TokenBucket => "token-bucket",
            Algorithm::SlidingWindow => "sliding-window",
            Algorithm::FixedWindow => "fixed-window",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// At least 1.
    pub limit: u64,
    /// At least one millisecond; counted in whole milliseconds.
    pub window: Duration,
}

/// Largest `limit * window_ms`: the scripts count in Lua numbers (doubles), exact up to
/// 2^53.
const MAX_EXACT: u64 = 1 << 53;

impl Quota {
    pub fn new(limit: u64, window: Duration) -> Self {
        Self { limit, window }
    }

    /// `(limit, window in milliseconds)`, or why the scripts cannot count this quota.
    fn checked(&self) -> Result<(u64, u64), LimiterError> {
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        if self.limit == 0 {
            return Err(LimiterError::InvalidQuota(
                "limit must be at least 1".into(),
            ));
        }
        if window_ms == 0 {
            return Err(LimiterError::InvalidQuota(
                "window must be at least 1 ms".into(),
            ));
        }
        if self
            .limit
            .checked_mul(window_ms)
            .is_none_or(|p| p > MAX_EXACT)
        {
            return Err(LimiterError::InvalidQuota(format!(
                "limit ({}) times window in ms ({window_ms}) exceeds 2^53",
                self.limit
            )));
        }
        Ok((self.limit, window_ms))
    }
}

/// The outcome of one [`Limiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The quota's limit.
    pub limit: u64,
    /// Requests that would still be admitted right now (after this one, if admitted).
    pub remaining: u64,
    /// Until the quota is fully available again if no one makes another request: the
    /// bucket is full, the window ends, or every logged request has left the window.
    pub reset_after: Duration,
    /// `Some` exactly when denied: a request made after this long is admitted unless
    /// someone else uses the freed capacity first. Never zero.
    pub retry_after: Option<Duration>,
}

/// Why [`Limiter::check`] could not decide. The caller chooses to fail open or closed.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the limiter's timeout. The script may still have run
    /// (and counted the request).
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("invalid quota: {0}")]
    InvalidQuota(String),
    #[error("unexpected reply from the rate-limit script: {0:?}")]
    UnexpectedReply(Vec<i64>),
}

/// Checks requests against quotas kept in Redis. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// A limiter over `conn` whose keys start with `prefix`, giving up on Redis after
    /// `timeout` per check. (The connection manager has its own response timeout, 500 ms
    /// by default; the shorter one wins.)
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>, timeout: Duration) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
            timeout,
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How long a check waits for Redis before giving up.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The Redis key for `key` under `algorithm` (for the fixed window, the window index
    /// is appended to it).
    pub fn redis_key(&self, algorithm: Algorithm, key: &str) -> String {
        format!("{}:{}:{}", self.prefix, algorithm.as_str(), key)
    }

    /// Counts one request for `key` and decides whether it is admitted.
    pub async fn check(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
    ) -> Result<Decision, LimiterError> {
        let (limit, window_ms) = quota.checked()?;
        // DEFECT(limiter-local-clock): the replica's own clock instead of Redis server time.
        let local_clock = crate::defects::on(crate::defects::Defect::LimiterLocalClock);
        let scripts = if local_clock {
            &*LOCAL_TIME
        } else {
            &*SERVER_TIME
        };
        let script = match algorithm {
            Algorithm::TokenBucket => &scripts.token_bucket,
            Algorithm::SlidingWindow => &scripts.sliding_window,
            Algorithm::FixedWindow => &scripts.fixed_window,
        };
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.redis_key(algorithm, key))
            .arg(limit)
            .arg(window_ms);
        if algorithm == Algorithm::SlidingWindow {
            // Log entries need unique members: two requests in one millisecond both count.
            invocation.arg(uuid::Uuid::new_v4().simple().to_string());
        }
        if local_clock {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            invocation.arg(now_ms.to_string());
        }
        let mut conn = self.conn.clone();
        let reply: Vec<i64> =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
                .await
                .map_err(|_| LimiterError::Timeout(self.timeout))??;
        decision(limit, &reply)
    }
}

/// Turns a script reply `{allowed (0|1), remaining, reset_after_ms, retry_after_ms}` into
/// a [`Decision`].
fn decision(limit: u64, reply: &[i64]) -> Result<Decision, LimiterError> {
    let unexpected = || LimiterError::UnexpectedReply(reply.to_vec());
    let &[allowed, remaining, reset_ms, retry_ms] = reply else {
        return Err(unexpected());
    };
    let remaining = u64::try_from(remaining).map_err(|_| unexpected())?;
    let reset_ms = u64::try_from(reset_ms).map_err(|_| unexpected())?;
    let retry_ms = u64::try_from(retry_ms).map_err(|_| unexpected())?;
    let retry_after = match allowed {
        1 => None,
        0 if retry_ms > 0 => Some(Duration::from_millis(retry_ms)),
        _ => return Err(unexpected()),
    };
    Ok(Decision {
        allowed: retry_after.is_none(),
        limit,
        remaining,
        reset_after: Duration::from_millis(reset_ms),
        retry_after,
    })
}

/// `now`: the Redis server time in whole milliseconds.
const CLOCK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// `now` from the caller's clock, passed as the last argument (only for the
/// `limiter-local-clock` defect: replicas whose clocks disagree no longer share a window).
const LOCAL_CLOCK: &str = r"
local now = tonumber(ARGV[#ARGV])
";

/// The three decision scripts, each prefixed with one way of reading the clock.
struct Scripts {
    token_bucket: Script,
    sliding_window: Script,
    fixed_window: Script,
}

impl Scripts {
    fn with_clock(clock: &str) -> Self {
        Self {
            token_bucket: Script::new(&format!("{clock}{TOKEN_BUCKET}")),
            sliding_window: Script::new(&format!("{clock}{SLIDING_WINDOW}")),
            fixed_window: Script::new(&format!("{clock}{FIXED_WINDOW}")),
        }
    }
}

static SERVER_TIME: LazyLock<Scripts> = LazyLock::new(|| Scripts::with_clock(CLOCK));
static LOCAL_TIME: LazyLock<Scripts> = LazyLock::new(|| Scripts::with_clock(LOCAL_CLOCK));

/// `KEYS[1]` = bucket hash {units, ts}; ARGV = limit, window_ms.
/// One token is `window` units and the bucket refills `limit` units per millisecond, so
/// all arithmetic stays in exact integers (capacity = limit * window <= 2^53). A missing
/// key is a full bucket; the key expires when the bucket would be full again.
const TOKEN_BUCKET: &str = r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local capacity = limit * window
local state = redis.call('HMGET', KEYS[1], 'units', 'ts')
local units = tonumber(state[1])
local ts = tonumber(state[2])
if units == nil or ts == nil then
  units = capacity
else
  local elapsed = math.min(math.max(now - ts, 0), window)
  units = math.min(capacity, units + elapsed * limit)
end
if units >= window then
  units = units - window
  local full_in = math.ceil((capacity - units) / limit)
  redis.call('HSET', KEYS[1], 'units', string.format('%d', units), 'ts', string.format('%d', now))
  redis.call('PEXPIRE', KEYS[1], full_in)
  return {1, math.floor(units / window), full_in, 0}
end
return {0, 0, math.ceil((capacity - units) / limit), math.ceil((window - units) / limit)}
";

/// `KEYS[1]` = sorted set of admission times (score = ms, member = unique id);
/// ARGV = limit, window_ms, member. An entry admitted at `s` counts while `now < s + window`.
/// The key expires when its newest entry leaves the window.
const SLIDING_WINDOW: &str = r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, window, 0}
end
-- Admitting one more needs count - limit + 1 entries gone: wait for the entry at that index.
local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {0, 0, tonumber(newest[2]) + window - now, tonumber(freeing[2]) + window - now}
";

/// `KEYS[1]` = counter base key; the counter for the current window is
/// `KEYS[1]:<now / window>` and expires when that window ends. ARGV = limit, window_ms.
/// Only admitted requests are counted.
const FIXED_WINDOW: &str = r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local index = math.floor(now / window)
local key = KEYS[1] .. ':' .. string.format('%d', index)
local reset = (index + 1) * window - now
local count = tonumber(redis.call('GET', key) or '0')
if count < limit then
  count = redis.call('INCR', key)
  if count == 1 then
    redis.call('PEXPIRE', key, reset)
  end
  return {1, limit - count, reset, 0}
end
return {0, 0, reset, reset}
";

/// Whole seconds in `d`, rounded up.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The response headers for `decision` under the policy `policy_name`, as in
/// draft-ietf-httpapi-ratelimit-headers-08 and later:
///
/// - `RateLimit-Policy: "<name>";q=<limit>;w=<window in seconds, rounded up>`
/// - `RateLimit: "<name>";r=<remaining>;t=<seconds until reset, rounded up>`
/// - `Retry-After: <seconds, rounded up, at least 1>` when denied.
///
/// The name is sent as a structured-field string: `"` and `\` are escaped and characters
/// outside printable ASCII become `_`.
pub fn headers(
    decision: &Decision,
    policy_name: &str,
    quota: &Quota,
) -> Vec<(HeaderName, HeaderValue)> {
    let name = sf_string(policy_name);
    let mut out = vec![
        (
            HeaderName::from_static("ratelimit-policy"),
            format!(
                "{name};q={};w={}",
                quota.limit,
                ceil_secs(quota.window).max(1)
            ),
        ),
        (
            HeaderName::from_static("ratelimit"),
            format!(
                "{name};r={};t={}",
                decision.remaining,
                ceil_secs(decision.reset_after)
            ),
        ),
    ];
    if let Some(retry_after) = decision.retry_after {
        out.push((
            header::RETRY_AFTER,
            ceil_secs(retry_after).max(1).to_string(),
        ));
    }
    out.into_iter()
        .filter_map(|(name, value)| Some((name, HeaderValue::try_from(value).ok()?)))
        .collect()
}

/// `s` as an RFC 8941 string: quoted, with `"` and `\` escaped and anything outside
/// printable ASCII replaced by `_`.
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('_'),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u64, secs: u64) -> Quota {
        Quota::new(limit, Duration::from_secs(secs))
    }

    fn header_map(h: &[(HeaderName, HeaderValue)]) -> Vec<(String, String)> {
        h.iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn algorithms_use_kebab_case() {
        for a in Algorithm::ALL {
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                format!("\"{}\"", a.as_str())
            );
            assert_eq!(a.to_string(), a.as_str());
        }
        assert_eq!(
            serde_json::from_str::<Algorithm>("\"sliding-window\"").unwrap(),
            Algorithm::SlidingWindow
        );
        assert!(serde_json::from_str::<Algorithm>("\"leaky-bucket\"").is_err());
    }

    #[test]
    fn quotas_must_be_countable() {
        assert_eq!(quota(5, 60).checked().unwrap(), (5, 60_000));
        assert_eq!(
            Quota::new(1, Duration::from_micros(1500))
                .checked()
                .unwrap(),
            (1, 1)
        );
        for bad in [
            quota(0, 60),
            Quota::new(5, Duration::ZERO),
            Quota::new(5, Duration::from_micros(999)),
            quota(u64::MAX, 60),
            quota(1 << 40, 1 << 20),
        ] {
            assert!(
                matches!(bad.checked(), Err(LimiterError::InvalidQuota(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn replies_become_decisions() {
        assert_eq!(
            decision(5, &[1, 4, 60_000, 0]).unwrap(),
            Decision {
                allowed: true,
                limit: 5,
                remaining: 4,
                reset_after: Duration::from_secs(60),
                retry_after: None,
            }
        );
        assert_eq!(
            decision(5, &[0, 0, 60_000, 1_500]).unwrap(),
            Decision {
                allowed: false,
                limit: 5,
                remaining: 0,
                reset_after: Duration::from_secs(60),
                retry_after: Some(Duration::from_millis(1_500)),
            }
        );
        for bad in [
            &[][..],
            &[1, 2, 3],
            &[1, 2, 3, 4, 5],
            &[2, 0, 0, 0],
            &[0, 0, 10, 0],
            &[1, -1, 0, 0],
            &[0, 0, -5, 5],
        ] {
            assert!(
                matches!(decision(5, bad), Err(LimiterError::UnexpectedReply(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ceil_secs_rounds_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_secs(Duration::from_nanos(59_000_000_001)), 60);
    }

    #[test]
    fn headers_for_an_admitted_request() {
        let d = Decision {
            allowed: true,
            limit: 100,
            remaining: 42,
            reset_after: Duration::from_millis(12_300),
            retry_after: None,
        };
        assert_eq!(
            header_map(&headers(&d, "default", &quota(100, 60))),
            [
                ("ratelimit-policy".into(), "\"default\";q=100;w=60".into()),
                ("ratelimit".into(), "\"default\";r=42;t=13".into()),
            ]
        );
    }

    #[test]
    fn headers_for_a_denied_request_include_retry_after() {
        let d = Decision {
            allowed: false,
            limit: 5,
            remaining: 0,
            reset_after: Duration::from_millis(59_001),
            retry_after: Some(Duration::from_millis(1)),
        };
        let h = header_map(&headers(&d, "strict-fixed", &quota(5, 60)));
        assert_eq!(
            h,
            [
                (
                    "ratelimit-policy".into(),
                    "\"strict-fixed\";q=5;w=60".into()
                ),
                ("ratelimit".into(), "\"strict-fixed\";r=0;t=60".into()),
                ("retry-after".into(), "1".into()),
            ]
        );
        let d = Decision {
            retry_after: Some(Duration::from_millis(2_001)),
            ..d
        };
        let h = header_map(&headers(&d, "p", &quota(5, 60)));
        assert_eq!(h[2], ("retry-after".into(), "3".into()));
    }

    #[test]
    fn sub_second_windows_advertise_one_second() {
        let d = Decision {
            allowed: true,
            limit: 1,
            remaining: 0,
            reset_after: Duration::from_millis(250),
            retry_after: None,
        };
        let h = header_map(&headers(
            &d,
            "p",
            &Quota::new(1, Duration::from_millis(500)),
        ));
        assert_eq!(h[0].1, "\"p\";q=1;w=1");
        assert_eq!(h[1].1, "\"p\";r=0;t=1");
    }

    #[test]
    fn policy_names_are_escaped() {
        assert_eq!(sf_string("plain-name_1"), "\"plain-name_1\"");
        assert_eq!(sf_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(sf_string("é\n"), "\"__\"");
        let d = Decision {
            allowed: true,
            limit: 1,
            remaining: 0,
            reset_after: Duration::ZERO,
            retry_after: None,
        };
        // Always a valid header value.
        assert_eq!(headers(&d, "bad\r\nname", &quota(1, 1)).len(), 2);
    }
}
