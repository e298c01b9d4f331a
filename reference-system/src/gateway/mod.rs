//! The API gateway: the only door clients use. Auth at the edge (default deny), routing
//! from a declarative route table, a rate limiter whose counters live in Redis and are
//! shared by every replica, and a circuit breaker with bounded concurrency per upstream.
//! See [`edge`] for the order in which a request meets each of them.
//!
//! Configuration (environment, with defaults):
//! - `GATEWAY_BIND` (`0.0.0.0:8080`): listen address.
//! - `GATEWAY_REPLICA` (`1`): this replica's number, sent as `x-gateway-replica`.
//! - `GATEWAY_JWT_SECRET` (`qalens-reference-system-secret`): HS256 key for tokens. A
//!   token is accepted up to [`auth::JWT_LEEWAY_SECONDS`] (5) seconds past its `exp`, and
//!   as long before its `nbf` or `iat`, for clock skew between issuer and gateway; that
//!   leeway is fixed, not configured. A token without `exp`, with a `crit` header or with
//!   a time claim that is not a number is refused (the rules: [`auth`]).
//! - `GATEWAY_JWT_MAX_LIFETIME_SECONDS` (`86400`, 24 hours): the longest a token may
//!   still be valid for when it arrives (`exp - now`, plus the leeway); a token whose
//!   `exp` lies further ahead is refused.
//! - `GATEWAY_JWT_PUBLIC_KEY` (unset): a PEM public key file (RSA or P-256 EC). When set,
//!   tokens must be RS256 (or ES256) signed by its private key instead of HS256.
//! - `GATEWAY_ROUTES` (unset): path of a route table (JSON); unset uses the table built in
//!   from `reference-system/routes.json`.
//! - `ORDERS_URL`, `PAYMENTS_URL`, `INVENTORY_URL` (`http://<name>:8080`): upstreams.
//! - `REDIS_URL` (`redis://redis:6379`): the shared rate-limit store.
//! - `RATE_LIMIT_TIMEOUT_MS` (`250`): longest wait for a limiter decision.
//! - `RATE_LIMIT_FAIL_MODE` (`closed`): when Redis cannot decide, `closed` answers 503
//!   with `Retry-After: 1` (no request escapes the limit), `open` lets requests through
//!   without limiting.
//! - `BREAKER_FAILURES` (`5`): consecutive failures or timeouts that open a breaker.
//! - `BREAKER_OPEN_MS` (`5000`): how long an open breaker fails fast before a probe.
//! - `UPSTREAM_MAX_CONCURRENCY` (`64`): requests in flight per upstream; more get 503.

pub mod aggregate;
mod auth;
pub mod breaker;
pub mod edge;
pub mod paths;
pub mod proxy;
pub mod ratelimit;
pub mod routes_table;

/// Headers that carry the caller's identity downstream. The gateway sets them; a client
/// that sends them has them stripped.
pub const IDENTITY_HEADERS: [&str; 3] = ["x-client-id", "x-client-tier", "x-client-scopes"];

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::any;
use tokio::sync::Semaphore;

use crate::config::{ConfigError, parse_or, var_or};
use breaker::Breaker;
use ratelimit::Limiter;
use routes_table::RouteTable;

/// The route table built into the binary.
pub const DEFAULT_ROUTES: &str = include_str!("../../routes.json");

/// What the gateway does when the rate limiter cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    Open,
    Closed,
}

impl std::str::FromStr for FailMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(FailMode::Open),
            "closed" => Ok(FailMode::Closed),
            other => Err(format!("{other:?} is neither \"open\" nor \"closed\"")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub replica: u8,
    pub jwt_secret: String,
    pub jwt_public_key: Option<PathBuf>,
    /// `GATEWAY_JWT_MAX_LIFETIME_SECONDS`: the longest `exp - now` accepted (seconds).
    pub jwt_max_lifetime: u64,
    pub routes_file: Option<PathBuf>,
    /// Upstream name to base URL.
    pub upstreams: BTreeMap<String, String>,
    pub redis_url: String,
    pub limiter_timeout: Duration,
    pub fail_mode: FailMode,
    pub breaker_failures: u32,
    pub breaker_open: Duration,
    pub max_concurrency: usize,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let upstreams = [
            ("orders", "ORDERS_URL"),
            ("payments", "PAYMENTS_URL"),
            ("inventory", "INVENTORY_URL"),
        ]
        .into_iter()
        .map(|(name, var)| {
            (
                name.to_string(),
                var_or(var, &format!("http://{name}:8080")),
            )
        })
        .collect();
        Ok(Self {
            bind: parse_or("GATEWAY_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            replica: parse_or("GATEWAY_REPLICA", 1u8)?,
            jwt_secret: var_or("GATEWAY_JWT_SECRET", "qalens-reference-system-secret"),
            jwt_public_key: std::env::var_os("GATEWAY_JWT_PUBLIC_KEY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            jwt_max_lifetime: parse_or(
                "GATEWAY_JWT_MAX_LIFETIME_SECONDS",
                auth::DEFAULT_MAX_LIFETIME_SECONDS,
            )?,
            routes_file: std::env::var_os("GATEWAY_ROUTES")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            upstreams,
            redis_url: var_or("REDIS_URL", "redis://redis:6379"),
            limiter_timeout: Duration::from_millis(parse_or("RATE_LIMIT_TIMEOUT_MS", 250u64)?),
            fail_mode: parse_or("RATE_LIMIT_FAIL_MODE", FailMode::Closed)?,
            breaker_failures: parse_or("BREAKER_FAILURES", 5u32)?,
            breaker_open: Duration::from_millis(parse_or("BREAKER_OPEN_MS", 5000u64)?),
            max_concurrency: parse_or("UPSTREAM_MAX_CONCURRENCY", 64usize)?,
        })
    }
}

/// One upstream service: where it is, its breaker, its concurrency slots.
pub struct Upstream {
    pub name: String,
    pub base: String,
    pub breaker: Breaker,
    pub slots: Arc<Semaphore>,
}

#[derive(Clone)]
pub struct AppState {
    pub http: reqwest::Client,
    pub table: Arc<RouteTable>,
    pub upstreams: Arc<BTreeMap<String, Arc<Upstream>>>,
    pub limiter: Limiter,
    pub redis: redis::aio::ConnectionManager,
    pub jwt_secret: Arc<Vec<u8>>,
    /// `GATEWAY_JWT_PUBLIC_KEY`: tokens are checked with it instead of the secret.
    pub jwt_public_key: Option<Arc<auth::PublicKey>>,
    /// The longest `exp - now` a token may have (seconds), beyond the leeway.
    pub jwt_max_lifetime: u64,
    pub replica: u8,
    pub fail_mode: FailMode,
}

pub use crate::server::Application;

impl crate::server::Service for Config {
    const NAME: &'static str = "gateway";

    fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Loads the route table and connects to Redis (waiting up to 30 s for it); Redis is
    /// kept warm beside the HTTP server.
    async fn assemble(self) -> anyhow::Result<(Router, crate::server::Background)> {
        let table = match &self.routes_file {
            Some(path) => RouteTable::load(path)?,
            None => RouteTable::from_json(DEFAULT_ROUTES)?,
        };
        for route in &table.routes {
            if route.upstream != "gateway" && !self.upstreams.contains_key(&route.upstream) {
                anyhow::bail!(
                    "route {} names upstream {:?}, which has no URL configured",
                    route.prefix,
                    route.upstream
                );
            }
        }
        let client = redis::Client::open(self.redis_url.as_str())?;
        let redis = connect_redis(client, Duration::from_secs(30)).await?;
        let limiter = Limiter::new(redis.clone(), "rl", self.limiter_timeout);
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .connect_timeout(Duration::from_secs(1))
            .build()?;
        let upstreams = self
            .upstreams
            .iter()
            .map(|(name, base)| {
                (
                    name.clone(),
                    Arc::new(Upstream {
                        name: name.clone(),
                        base: base.trim_end_matches('/').to_string(),
                        breaker: Breaker::new(self.breaker_failures, self.breaker_open),
                        slots: Arc::new(Semaphore::new(self.max_concurrency)),
                    }),
                )
            })
            .collect();
        let mut background = crate::server::Background::default();
        let warm = redis.clone();
        background.add(|stop| keep_redis_warm(warm, stop));
        let jwt_public_key = match &self.jwt_public_key {
            Some(path) => Some(Arc::new(auth::PublicKey::read(path)?)),
            None => None,
        };
        let state = AppState {
            http,
            table: Arc::new(table),
            upstreams: Arc::new(upstreams),
            limiter,
            redis,
            jwt_secret: Arc::new(self.jwt_secret.into_bytes()),
            jwt_public_key,
            jwt_max_lifetime: self.jwt_max_lifetime,
            replica: self.replica,
            fail_mode: self.fail_mode,
        };
        Ok((router(state), background))
    }
}

/// Pings Redis every second. A failed command is what makes the connection manager
/// reconnect, so without this a replica that had no traffic during a Redis outage would
/// answer its first requests after the outage with 503.
async fn keep_redis_warm(
    mut redis: redis::aio::ConnectionManager,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let stopped = crate::server::stopped(stop);
    tokio::pin!(stopped);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = ticks.tick() => {
                if let Err(e) = redis::cmd("PING").query_async::<String>(&mut redis).await {
                    tracing::warn!(error = %e, "redis unreachable");
                }
            }
        }
    }
}

async fn connect_redis(
    client: redis::Client,
    patience: Duration,
) -> anyhow::Result<redis::aio::ConnectionManager> {
    let deadline = tokio::time::Instant::now() + patience;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    loop {
        match redis::aio::ConnectionManager::new_with_config(client.clone(), config.clone()).await {
            Ok(conn) => return Ok(conn),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "redis not reachable yet, retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!("cannot connect to redis within {patience:?}: {e}"),
        }
    }
}

/// Every request goes through [`edge::handle`]; the route table decides the rest.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(any(edge::handle)).with_state(state)
}
