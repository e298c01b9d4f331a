//! The fault proxy qalens puts on a link between two services (for example orders to
//! payments), shaped like Toxiproxy. It forwards TCP connections to its upstream, so it
//! carries HTTP, AMQP and Redis alike, and injects one fault at a time, switched on its
//! control port ([`control`]). Each fault is data with the directions it acts on; each
//! has its module in [`faults`]: latency, black hole, reset, held answers and dropped
//! answers. A fault may also be scoped to one scenario's HTTP requests, named by their
//! W3C baggage, while every other request passes byte for byte. It also records the HTTP
//! requests callers send over the link ([`recorder`]), so the harness can check them
//! against their contracts.
//!
//! `qalens proxy` runs it; the topology starts one per proxied link, in a container with
//! the `qalens` binary mounted in. Configuration (environment, with defaults):
//! - `PROXY_BIND` (`0.0.0.0:8080`): where callers connect.
//! - `PROXY_UPSTREAM` (required): `host:port` to forward to.
//! - `PROXY_CONTROL_BIND` (`0.0.0.0:9090`; `REFSYS_CONTROL_BIND`, its former name, is
//!   still read): the control API. `PUT /internal/fault` with
//!   `{"mode": "none" | "latency" | "blackhole" | "reset" | "holdanswers" |
//!   "dropanswers", "ms": N}` (`ms` for `latency` only), `GET` to read it;
//!   `GET /internal/requests`: the last requests callers sent, oldest first.
//!   `PUT /internal/fault/scoped/{scenario}` with `{"mode": "none" | "latency" |
//!   "abort" | "dropanswer" | "holdanswer", ...}` faults only the HTTP requests whose
//!   baggage names the scenario ([`faults::scoped`], [`mark`]); `GET
//!   /internal/fault/scoped` lists the scenarios' faults.
//!
//! Tests run it on port 0 against a real upstream ([`Application::build`]).

pub mod control;
pub mod faults;
mod http1;
mod link;
pub mod mark;
pub mod recorder;
#[cfg(test)]
mod testing;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use control::{Control, FaultSwitch, ScopedFaults};
pub use faults::{Direction, Fault, ScopedFault};

/// The line the proxy prints on stdout once it listens; the topology waits for it.
pub const READY_LINE: &str = "qalens proxy ready";
/// The port callers connect to by default.
pub const PORT: u16 = 8080;
/// The port of the control API by default.
pub const CONTROL_PORT: u16 = 9090;

/// A configuration variable that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// Where the proxy listens and where it forwards to.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where callers connect.
    pub bind: SocketAddr,
    /// Where the control API listens.
    pub control_bind: SocketAddr,
    /// `host:port` to forward to, resolved at each new connection.
    pub upstream: String,
}

impl Config {
    /// Reads `PROXY_BIND`, `PROXY_CONTROL_BIND` (or `REFSYS_CONTROL_BIND`) and
    /// `PROXY_UPSTREAM`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let upstream = std::env::var("PROXY_UPSTREAM").unwrap_or_default();
        if upstream.is_empty() {
            return Err(ConfigError {
                name: "PROXY_UPSTREAM",
                value: upstream,
                reason: "the proxy needs an upstream host:port".into(),
            });
        }
        let any = SocketAddr::from(([0, 0, 0, 0], 0));
        let control_default = parse_or(
            "REFSYS_CONTROL_BIND",
            SocketAddr::new(any.ip(), CONTROL_PORT),
        )?;
        Ok(Self {
            bind: parse_or("PROXY_BIND", SocketAddr::new(any.ip(), PORT))?,
            control_bind: parse_or("PROXY_CONTROL_BIND", control_default)?,
            upstream,
        })
    }
}

/// `name` parsed as `T`, or `default` when it is unset or empty.
fn parse_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().map_err(|e: T::Err| ConfigError {
            name,
            value: v,
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// A proxy whose listeners are bound: for callers and for the control API.
pub struct Application {
    listener: TcpListener,
    control_listener: TcpListener,
    upstream: String,
    control: Control,
}

impl Application {
    /// Binds both listeners (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn build(config: Config) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(config.bind).await?,
            control_listener: TcpListener::bind(config.control_bind).await?,
            upstream: config.upstream,
            control: Control::default(),
        })
    }

    /// Where callers connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where the control API listens.
    pub fn control_addr(&self) -> SocketAddr {
        self.control_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The fault switch and request log the control API works on.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Announces readiness ([`READY_LINE`]), then forwards every connection and serves
    /// the control API until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Printed directly so that it appears whatever RUST_LOG says.
        println!("{READY_LINE}: listening on {}", self.local_addr());
        let router = control::router(self.control.clone());
        let control_api = tokio::spawn(async move {
            if let Err(e) = axum::serve(self.control_listener, router).await {
                tracing::error!(error = %e, "control API stopped");
            }
        });
        tokio::pin!(shutdown);
        let result = loop {
            tokio::select! {
                _ = &mut shutdown => break Ok(()),
                accepted = self.listener.accept() => match accepted {
                    Ok((client, _)) => {
                        tokio::spawn(link::handle(client, self.upstream.clone(), self.control.clone()));
                    }
                    Err(e) => break Err(e),
                },
            }
        };
        control_api.abort();
        result
    }
}
