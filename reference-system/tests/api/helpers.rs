//! `spawn_*` start a real service on port 0 with a fresh database.

use std::net::SocketAddr;
use std::path::PathBuf;
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

/// Orders on port 0 with a fresh database and `amqp_url` as its broker.
pub async fn spawn_orders(amqp_url: &str) -> TestApp {
    let config = refsys::orders::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database: temp_db("orders"),
        amqp_url: amqp_url.to_string(),
        outbox_poll: Duration::from_millis(50),
    };
    let app = refsys::orders::Application::build(config)
        .await
        .expect("orders builds");
    let addr = app.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        http: reqwest::Client::new(),
        _stop: tx,
    }
}
