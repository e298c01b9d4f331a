//! The API gateway: the only door clients use. Routes requests to the services over a
//! pooled HTTP client and propagates request ids.
//!
//! Configuration (environment, with defaults):
//! - `GATEWAY_BIND` (`0.0.0.0:8080`): listen address.
//! - `ORDERS_URL` (`http://orders:8080`): the orders service.
//! - `REDIS_URL` (`redis://redis:6379`): the shared store (rate-limit counters).
//! - `UPSTREAM_TIMEOUT_MS` (`5000`): per-request upstream timeout.

mod proxy;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use tokio::net::TcpListener;

use crate::config::{ConfigError, parse_or, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub orders_url: String,
    pub redis_url: String,
    pub upstream_timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            bind: parse_or("GATEWAY_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            orders_url: var_or("ORDERS_URL", "http://orders:8080"),
            redis_url: var_or("REDIS_URL", "redis://redis:6379"),
            upstream_timeout: Duration::from_millis(parse_or("UPSTREAM_TIMEOUT_MS", 5000u64)?),
        })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub http: reqwest::Client,
    pub orders_url: String,
    pub redis: redis::aio::ConnectionManager,
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to Redis (waiting up to 30 s for it) and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let client = redis::Client::open(config.redis_url.as_str())?;
        let redis = connect_redis(client, Duration::from_secs(30)).await?;
        let http = reqwest::Client::builder()
            .timeout(config.upstream_timeout)
            .pool_max_idle_per_host(64)
            .build()?;
        let listener = TcpListener::bind(config.bind).await?;
        Ok(Self {
            listener,
            state: AppState {
                http,
                orders_url: config.orders_url,
                redis,
            },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        crate::telemetry::announce_ready("gateway", self.local_addr());
        axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

async fn connect_redis(
    client: redis::Client,
    patience: Duration,
) -> anyhow::Result<redis::aio::ConnectionManager> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match redis::aio::ConnectionManager::new(client.clone()).await {
            Ok(conn) => return Ok(conn),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "redis not reachable yet, retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!("cannot connect to redis within {patience:?}: {e}"),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/orders", any(proxy::to_orders))
        .route("/orders/{*rest}", any(proxy::to_orders))
        .with_state(state)
}

async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::http::StatusCode {
    let mut redis = state.redis.clone();
    match redis::cmd("PING").query_async::<String>(&mut redis).await {
        Ok(_) => axum::http::StatusCode::OK,
        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
    }
}
