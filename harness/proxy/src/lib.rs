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

#![warn(unreachable_pub)]

mod control;
mod faults;
mod http1;
mod link;
pub mod mark;
pub mod recorder;
#[cfg(test)]
mod testing;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use control::Control;
pub use faults::{Fault, ScopedFault};

/// The line the proxy prints on stdout once it listens; the topology waits for it.
pub const READY_LINE: &str = "qalens proxy ready";
/// The port callers connect to by default.
pub const PORT: u16 = 8080;
/// The port of the control API by default.
pub const CONTROL_PORT: u16 = 9090;

/// A configuration variable that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `PROXY_UPSTREAM` is unset or empty.
    #[error(
        "environment variable PROXY_UPSTREAM=\"\" is invalid: the proxy needs an upstream \
         host:port"
    )]
    NoUpstream,
    /// A `*_BIND` variable that is not a socket address (`0.0.0.0:8080`).
    #[error("environment variable {name}={value:?} is invalid: {cause}")]
    NotAnAddress {
        name: &'static str,
        value: String,
        cause: std::net::AddrParseError,
    },
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
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] with the variables looked up in `var`; an empty one counts as
    /// unset.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let Some(upstream) = var("PROXY_UPSTREAM") else {
            return Err(ConfigError::NoUpstream);
        };
        let addr = |name: &'static str, default: SocketAddr| match var(name) {
            None => Ok(default),
            Some(value) => {
                value
                    .parse()
                    .map_err(|cause| ConfigError::NotAnAddress { name, value, cause })
            }
        };
        let any = std::net::Ipv4Addr::UNSPECIFIED.into();
        // The former name is read first, so a wrong value in it is an error even when
        // PROXY_CONTROL_BIND is set.
        let control_default = addr("REFSYS_CONTROL_BIND", SocketAddr::new(any, CONTROL_PORT))?;
        Ok(Self {
            bind: addr("PROXY_BIND", SocketAddr::new(any, PORT))?,
            control_bind: addr("PROXY_CONTROL_BIND", control_default)?,
            upstream,
        })
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
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where the control API listens.
    #[cfg(test)]
    pub(crate) fn control_addr(&self) -> SocketAddr {
        self.control_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The fault switch and request log the control API works on.
    #[cfg(test)]
    pub(crate) fn control(&self) -> Control {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{Config, ConfigError};

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_upstream_is_required_and_the_rest_has_defaults() {
        let c = config(&[("PROXY_UPSTREAM", "payments:8080"), ("PROXY_BIND", "")]).unwrap();
        assert_eq!(c.upstream, "payments:8080");
        assert_eq!(c.bind.to_string(), "0.0.0.0:8080");
        assert_eq!(c.control_bind.to_string(), "0.0.0.0:9090");
        for vars in [&[][..], &[("PROXY_UPSTREAM", "")]] {
            assert_eq!(
                config(vars).unwrap_err().to_string(),
                "environment variable PROXY_UPSTREAM=\"\" is invalid: the proxy needs an \
                 upstream host:port"
            );
        }
    }

    #[test]
    fn the_control_address_falls_back_to_its_former_name() {
        let upstream = ("PROXY_UPSTREAM", "payments:8080");
        let c = config(&[upstream, ("REFSYS_CONTROL_BIND", "127.0.0.1:7000")]).unwrap();
        assert_eq!(c.control_bind.to_string(), "127.0.0.1:7000");
        let c = config(&[
            upstream,
            ("REFSYS_CONTROL_BIND", "127.0.0.1:7000"),
            ("PROXY_CONTROL_BIND", "127.0.0.1:7001"),
        ])
        .unwrap();
        assert_eq!(c.control_bind.to_string(), "127.0.0.1:7001");
    }

    #[test]
    fn an_address_that_does_not_parse_is_named_with_its_value() {
        let e = config(&[("PROXY_UPSTREAM", "payments:8080"), ("PROXY_BIND", "nope")]);
        assert_eq!(
            e.unwrap_err().to_string(),
            "environment variable PROXY_BIND=\"nope\" is invalid: invalid socket address syntax"
        );
    }
}
