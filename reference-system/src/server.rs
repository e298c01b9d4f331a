//! Serving a service: announce readiness, serve HTTP until asked to stop, then stop the
//! background work (outbox relay, consumers, recovery) and wait for it to finish.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Background work that runs beside the HTTP server and stops after it.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: vec![],
        }
    }
}

/// Resolves when the server has stopped taking requests.
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl Background {
    /// Starts `work`, which must return soon after its receiver turns `true`.
    pub fn spawn<F, Fut>(&mut self, work: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(work(self.stop.subscribe())));
    }
}

/// The address `listener` is bound to.
pub fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .expect("a bound listener has an address")
}

/// Serves `router` as service `name` until `shutdown` resolves and the requests in flight
/// are answered; then stops `background` and waits for it.
pub async fn serve(
    name: &str,
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    background: Background,
) -> anyhow::Result<()> {
    crate::telemetry::announce_ready(name, local_addr(&listener));
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = background.stop.send(true);
    for task in background.tasks {
        let _ = task.await;
    }
    served?;
    Ok(())
}
