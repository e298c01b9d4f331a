//! How every `refsys` service starts and stops: open what it owns (database, broker,
//! Redis), bind its listener, announce readiness, serve HTTP until asked to stop, then stop
//! the background work (outbox relay, consumers, recovery) and wait for it to finish.
//!
//! A service implements [`Service`] on its `Config`; [`Application::build`] does the rest,
//! the same way for all of them (every request served under the trace context it
//! carries, [`crate::propagation`]), and returns the bound address so tests run the real
//! server on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// One `refsys` service, described by its configuration.
pub trait Service: Sized + Send {
    /// The name it announces itself by (`refsys ready: orders ...`).
    const NAME: &'static str;

    /// Where it listens (port 0 picks a free port).
    fn bind(&self) -> SocketAddr;

    /// Opens what the service owns and returns its routes and the work that runs beside
    /// them. Nothing runs until [`Application::run_until`].
    fn assemble(self) -> impl Future<Output = anyhow::Result<(Router, Background)>> + Send;
}

type Work =
    Box<dyn FnOnce(watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Background work that starts with the HTTP server and stops after it.
#[derive(Default)]
pub struct Background {
    work: Vec<Work>,
}

impl Background {
    /// Adds `work`, started when the service starts serving; it must return soon after
    /// its receiver turns `true`.
    pub fn add<F, Fut>(&mut self, work: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.work.push(Box::new(move |stop| Box::pin(work(stop))));
    }
}

/// Resolves when the server has stopped taking requests.
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// `router` with the liveness and readiness probes every service answers (`/health`,
/// `/ready`: `ok` once the service serves).
pub fn with_probes<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(|| async { "ok" }))
}

/// The address `listener` is bound to.
pub fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .expect("a bound listener has an address")
}

/// A service that owns what it needs and has bound its listener.
pub struct Application {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    background: Background,
}

impl Application {
    /// Opens what `config`'s service owns, then binds its listener.
    pub async fn build<S: Service>(config: S) -> anyhow::Result<Self> {
        let bind = config.bind();
        let (router, background) = config.assemble().await?;
        // Outermost: every request is served under the trace context it carries.
        let router = router.layer(axum::middleware::from_fn(crate::propagation::layer));
        Ok(Self {
            name: S::NAME,
            listener: TcpListener::bind(bind).await?,
            router,
            background,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        local_addr(&self.listener)
    }

    /// Announces readiness and serves until `shutdown` resolves and the requests in
    /// flight are answered; then stops the background work and waits for it.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        crate::telemetry::announce_ready(self.name, self.local_addr());
        let (stop, _) = watch::channel(false);
        let tasks: Vec<_> = self
            .background
            .work
            .into_iter()
            .map(|work| tokio::spawn(work(stop.subscribe())))
            .collect();
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        for task in tasks {
            let _ = task.await;
        }
        served?;
        Ok(())
    }
}

/// Builds `config`'s service and serves it until `shutdown` resolves.
pub async fn run<S: Service>(
    config: S,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Application::build(config).await?.run_until(shutdown).await
}
