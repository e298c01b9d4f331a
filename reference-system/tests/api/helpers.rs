//! `spawn_*` start a real service on port 0 with a fresh database.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

/// A fresh database path under the system temp directory.
pub fn temp_db(name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("refsys-test-{}", uuid::Uuid::new_v4().simple()))
        .join(format!("{name}.db"))
}

/// An AMQP URL where no broker listens (port 1 on loopback refuses at once).
pub const NO_BROKER: &str = "amqp://guest:guest@127.0.0.1:1/%2f";

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Runs a built application (`run` gets the future that stops it) until the returned
/// [`TestApp`] is dropped.
pub fn serve<F, Fut>(addr: SocketAddr, run: F) -> TestApp
where
    F: FnOnce(Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(run(Box::pin(async move {
        let _ = rx.await;
    })));
    TestApp {
        addr,
        http: reqwest::Client::new(),
        _stop: tx,
    }
}

/// Where nothing listens: port 1 on loopback refuses at once.
pub const NOWHERE: &str = "http://127.0.0.1:1";

/// Orders on port 0 with a fresh database and `amqp_url` as its broker; payments and
/// inventory unreachable, with a saga deadline longer than any test.
pub async fn spawn_orders(amqp_url: &str) -> TestApp {
    spawn_orders_with(
        temp_db("orders"),
        amqp_url,
        NOWHERE,
        NOWHERE,
        Duration::from_secs(600),
    )
    .await
}

/// Orders on port 0 with its database at `database` (reuse the path to restart), the
/// given peers and saga deadline.
pub async fn spawn_orders_with(
    database: PathBuf,
    amqp_url: &str,
    payments_url: &str,
    inventory_url: &str,
    saga_deadline: Duration,
) -> TestApp {
    let config = refsys::orders::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database,
        amqp_url: amqp_url.to_string(),
        outbox_poll: Duration::from_millis(50),
        relay_max_backoff: Duration::from_millis(500),
        payments_url: payments_url.to_string(),
        inventory_url: inventory_url.to_string(),
        call_timeout: Duration::from_millis(500),
        saga: refsys::orders::SagaConfig {
            deadline: saga_deadline,
            first_backoff: Duration::from_millis(20),
            recovery_interval: Duration::from_millis(200),
        },
        unit_price_cents: 1250,
    };
    let app = refsys::orders::Application::build(config)
        .await
        .expect("orders builds");
    serve(app.local_addr(), |stop| app.run_until(stop))
}

/// Payments on port 0 with a fresh database and no added latency.
pub async fn spawn_payments() -> TestApp {
    spawn_payments_at(temp_db("payments"), Duration::ZERO).await
}

/// Payments on port 0 with its database at `database` (reuse the path to restart) and
/// `latency` added to every charge.
pub async fn spawn_payments_at(database: PathBuf, latency: Duration) -> TestApp {
    let config = refsys::payments::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database,
        latency,
    };
    let app = refsys::payments::Application::build(config)
        .await
        .expect("payments builds");
    serve(app.local_addr(), |stop| app.run_until(stop))
}

/// Inventory on port 0 with a fresh database and `stock` as its `INVENTORY_STOCK`.
pub async fn spawn_inventory(stock: &str) -> TestApp {
    spawn_inventory_at(temp_db("inventory"), stock).await
}

/// Inventory on port 0 with its database at `database` (reuse the path to restart) and
/// `stock` as its `INVENTORY_STOCK`.
pub async fn spawn_inventory_at(database: PathBuf, stock: &str) -> TestApp {
    let config = refsys::inventory::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database,
        stock: stock.parse().expect("valid INVENTORY_STOCK"),
    };
    let app = refsys::inventory::Application::build(config)
        .await
        .expect("inventory builds");
    serve(app.local_addr(), |stop| app.run_until(stop))
}

/// Polls `check` every 20 ms until it returns `Some`, failing after `deadline` with the
/// last observation.
pub async fn eventually<T, F, Fut>(deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let end = tokio::time::Instant::now() + deadline;
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    loop {
        ticks.tick().await;
        match check().await {
            Ok(v) => return v,
            Err(seen) => assert!(
                tokio::time::Instant::now() < end,
                "not within {deadline:?}; last seen: {seen}"
            ),
        }
    }
}
