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
//! - `PROXY_PASSTHROUGH` (empty): comma-separated ports the proxy also listens on, each
//!   forwarded to the same port of the upstream's host, untouched by faults and not
//!   recorded. A proxy that takes over a callee's network name answers for every port of
//!   the callee, not only the link's.
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
    /// `PROXY_PASSTHROUGH` is not a comma-separated list of ports.
    #[error("environment variable PROXY_PASSTHROUGH={value:?} is invalid: {reason}")]
    NotPorts { value: String, reason: String },
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
    /// Other ports carried as they are, without faults: where callers connect, and
    /// `host:port` to forward to.
    pub passthrough: Vec<(SocketAddr, String)>,
}

impl Config {
    /// Reads `PROXY_BIND`, `PROXY_CONTROL_BIND` (or `REFSYS_CONTROL_BIND`),
    /// `PROXY_UPSTREAM` and `PROXY_PASSTHROUGH`.
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
        let bind = addr("PROXY_BIND", SocketAddr::new(any, PORT))?;
        let passthrough = passthrough(
            &var("PROXY_PASSTHROUGH").unwrap_or_default(),
            bind,
            &upstream,
        )
        .map_err(|(value, reason)| ConfigError::NotPorts { value, reason })?;
        Ok(Self {
            bind,
            control_bind: addr("PROXY_CONTROL_BIND", control_default)?,
            upstream,
            passthrough,
        })
    }
}

/// The passthrough ports of `spec` (`"5672,15672"`): each listened on at `bind`'s address
/// and forwarded to the same port of `upstream`'s host.
fn passthrough(
    spec: &str,
    bind: SocketAddr,
    upstream: &str,
) -> Result<Vec<(SocketAddr, String)>, (String, String)> {
    let host = upstream.rsplit_once(':').map_or(upstream, |(h, _)| h);
    spec.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.parse::<u16>() {
            Ok(port) if port > 0 => {
                Ok((SocketAddr::new(bind.ip(), port), format!("{host}:{port}")))
            }
            _ => Err((spec.to_string(), format!("{p:?} is not a port (1-65535)"))),
        })
        .collect()
}

/// A proxy whose listeners are bound: for callers and for the control API.
pub struct Application {
    listener: TcpListener,
    control_listener: TcpListener,
    upstream: String,
    control: Control,
    /// The passthrough ports' listeners, each with its upstream.
    passthrough: Vec<(TcpListener, String)>,
}

impl Application {
    /// Binds both listeners (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn build(config: Config) -> std::io::Result<Self> {
        let mut passthrough = vec![];
        for (bind, upstream) in config.passthrough {
            passthrough.push((TcpListener::bind(bind).await?, upstream));
        }
        Ok(Self {
            listener: TcpListener::bind(config.bind).await?,
            control_listener: TcpListener::bind(config.control_bind).await?,
            upstream: config.upstream,
            control: Control::default(),
            passthrough,
        })
    }

    /// Where the passthrough ports listen, in the order configured.
    pub fn passthrough_addrs(&self) -> Vec<SocketAddr> {
        self.passthrough
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
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
        // A switch of their own that nobody sets: no fault ever acts on them.
        let passthrough: Vec<_> = self
            .passthrough
            .into_iter()
            .map(|(listener, upstream)| {
                tokio::spawn(async move {
                    let untouched = Control::default();
                    while let Ok((client, _)) = listener.accept().await {
                        tokio::spawn(link::handle(client, upstream.clone(), untouched.clone()));
                    }
                })
            })
            .collect();
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
        passthrough.iter().for_each(tokio::task::JoinHandle::abort);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use super::*;
    use crate::testing::{echo_server, expect_bytes, expect_cut};

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

    #[test]
    fn passthrough_ports_forward_to_the_same_port_of_the_upstream_host() {
        let bind: SocketAddr = "0.0.0.0:5672".parse().unwrap();
        assert_eq!(
            passthrough(" 15672, 25672,", bind, "origin:5672").unwrap(),
            [
                ("0.0.0.0:15672".parse().unwrap(), "origin:15672".to_string()),
                ("0.0.0.0:25672".parse().unwrap(), "origin:25672".to_string()),
            ]
        );
        assert!(passthrough("", bind, "origin:5672").unwrap().is_empty());
        let e = passthrough("15672,x", bind, "origin:5672").unwrap_err();
        assert_eq!(e.1, "\"x\" is not a port (1-65535)");
        assert!(passthrough("0", bind, "origin:5672").is_err());
    }

    /// A proxy that takes over a callee's name answers on the callee's other ports too:
    /// they carry traffic while the link's own port is cut.
    #[tokio::test]
    async fn a_passthrough_port_carries_traffic_whatever_fault_the_link_has() {
        let (link_upstream, other) = (echo_server().await, echo_server().await);
        let app = Application::build(Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            control_bind: "127.0.0.1:0".parse().unwrap(),
            upstream: link_upstream.to_string(),
            passthrough: vec![("127.0.0.1:0".parse().unwrap(), other.to_string())],
        })
        .await
        .unwrap();
        let (addr, side, control) = (app.local_addr(), app.passthrough_addrs()[0], app.control());
        tokio::spawn(app.run_until(std::future::pending()));
        control.fault.set(Fault::Reset);
        let mut cut = TcpStream::connect(addr).await.unwrap();
        expect_cut(&mut cut, "the link's port is reset").await;
        let mut sock = TcpStream::connect(side).await.unwrap();
        sock.write_all(b"GET /api/overview HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        expect_bytes(&mut sock, b"GET /api/overview HTTP/1.1\r\n\r\n").await;
        assert!(
            control.requests.all().is_empty(),
            "passthrough traffic is not recorded"
        );
    }
}
