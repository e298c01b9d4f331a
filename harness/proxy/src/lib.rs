//! `refsys proxy`: a TCP fault proxy that the harness places on a link between two
//! components (for example orders to payments). It forwards connections to its upstream
//! and, when told to on its control port, injects one network fault:
//!
//! - `latency`: every chunk is held for `ms` milliseconds before it is forwarded;
//! - `blackhole`: connections are accepted and then nothing is forwarded either way (the
//!   caller times out); like a network partition, the bytes are held, not dropped, and
//!   flow again once the link is healed, so a long-lived connection (AMQP, Redis) that
//!   survives the partition stays in step;
//! - `reset`: new connections are closed at once with a TCP reset;
//! - `holdanswers`: one-way partition: requests (caller to callee) pass, the answers
//!   (callee to caller) are held as in a black hole and flow again once the link heals;
//! - `dropanswers`: lost answers: requests pass and the callee does the work, but the
//!   first bytes the callee sends back make the proxy cut the connection with a reset
//!   (the answer is dropped, never forwarded), so the caller sees a failed call whose
//!   work was done. Open connections are cut when their callee speaks, new ones are
//!   accepted and forwarded the same way.
//!
//! It also records the HTTP requests callers send over the link ([`recorder`]), so the
//! harness can check them against their contracts.
//!
//! Configuration (environment, with defaults):
//! - `PROXY_BIND` (`0.0.0.0:8080`): where callers connect.
//! - `PROXY_UPSTREAM` (required): `host:port` to forward to.
//! - `REFSYS_CONTROL_BIND` (`0.0.0.0:9090`): `PUT /internal/fault` with
//!   `{"mode": "none" | "latency" | "blackhole" | "reset" | "holdanswers" |
//!   "dropanswers", "ms": N}` (`ms` for `latency` only), `GET` to read it;
//!   `GET /internal/requests`: the last requests callers sent, oldest first.

pub mod recorder;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// The line the proxy prints on stdout once it listens; the topology waits for it.
pub const READY_LINE: &str = "refsys ready";

/// A configuration variable that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// The fault the proxy injects now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Fault {
    #[default]
    None,
    Latency {
        ms: u64,
    },
    Blackhole,
    Reset,
    /// Requests pass; answers are held until the fault changes.
    HoldAnswers,
    /// Requests pass; the connection is reset as soon as the callee answers.
    DropAnswers,
}

/// Which way a pump copies: requests go from the caller to the callee, answers back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Requests,
    Answers,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub upstream: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let upstream = std::env::var("PROXY_UPSTREAM").unwrap_or_default();
        if upstream.is_empty() {
            return Err(ConfigError {
                name: "PROXY_UPSTREAM",
                value: upstream,
                reason: "the proxy needs an upstream host:port".into(),
            });
        }
        Ok(Self {
            bind: parse_or("PROXY_BIND", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            upstream,
        })
    }
}

/// `name` parsed as `T`, or `default` when it is unset or empty.
pub fn parse_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
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

/// The fault switch. Every connection watches it, so a change reaches a held chunk or
/// an idle connection at once, without polling.
#[derive(Clone)]
pub struct FaultSwitch(Arc<watch::Sender<Fault>>);

impl Default for FaultSwitch {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(Fault::None)))
    }
}

impl FaultSwitch {
    /// The fault in effect now.
    pub fn get(&self) -> Fault {
        *self.0.borrow()
    }

    /// Puts `fault` in effect for every connection, open or new.
    pub fn set(&self, fault: Fault) {
        self.0.send_replace(fault);
    }

    fn watch(&self) -> watch::Receiver<Fault> {
        self.0.subscribe()
    }
}

/// What the control API works on: the fault switch and the request log.
#[derive(Clone, Default)]
pub struct Control {
    pub fault: FaultSwitch,
    pub requests: recorder::Log,
}

/// The control API: `GET`/`PUT /internal/fault`, `GET /internal/requests`.
pub fn control_router(control: Control) -> axum::Router {
    async fn read(State(c): State<Control>) -> Json<Fault> {
        Json(c.fault.get())
    }
    async fn write(State(c): State<Control>, Json(new): Json<Fault>) -> Json<Fault> {
        tracing::warn!(?new, "fault proxy: fault changed");
        c.fault.set(new);
        Json(new)
    }
    async fn requests(State(c): State<Control>) -> Json<Vec<recorder::Recorded>> {
        Json(c.requests.all())
    }
    axum::Router::new()
        .route("/internal/fault", get(read).put(write))
        .route("/internal/requests", get(requests))
        .with_state(control)
}

/// Copies `from` to `to` in `direction`, holding each chunk while the fault says so.
/// Every chunk is checked against the fault when it arrives, so nothing passes once a
/// reset is asked for: the pump signals `reset` and stops (so does an answer while
/// answers are dropped). A black-holed chunk (or a held answer) waits until the fault
/// changes (a healed link forwards it; a reset drops it with the connection).
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    direction: Direction,
    mut fault: watch::Receiver<Fault>,
    reset: Arc<Notify>,
    mut record: Option<recorder::Parser>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        loop {
            let now = *fault.borrow_and_update();
            match now {
                // The added latency is the fault itself.
                Fault::Latency { ms } => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    break;
                }
                // The partition is the fault: hold the chunk until the fault changes.
                Fault::Blackhole => {
                    if fault.changed().await.is_err() {
                        return;
                    }
                }
                Fault::HoldAnswers if direction == Direction::Answers => {
                    if fault.changed().await.is_err() {
                        return;
                    }
                }
                // A dropped answer: the callee did the work, the answer is lost with the
                // connection.
                Fault::DropAnswers if direction == Direction::Answers => {
                    reset.notify_one();
                    return;
                }
                Fault::Reset => {
                    reset.notify_one();
                    return;
                }
                Fault::None | Fault::HoldAnswers | Fault::DropAnswers => break,
            }
        }
        if let Some(r) = &mut record {
            r.feed(&buf[..n]);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Resolves when the fault becomes [`Fault::Reset`]; never if the switch is gone.
async fn reset_requested(mut fault: watch::Receiver<Fault>) {
    if fault.wait_for(|f| *f == Fault::Reset).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn handle(mut client: TcpStream, upstream: String, control: Control) {
    let fault = control.fault;
    if fault.get() == Fault::Reset {
        // Linger 0 turns the close into a reset.
        let _ = client.set_zero_linger();
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let reset_now = Arc::new(Notify::new());
    let reset = {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        tokio::select! {
            _ = async {
                tokio::join!(
                    pump(cr, sw, Direction::Requests, fault.watch(), reset_now.clone(), Some(recorder::Parser::new(control.requests))),
                    pump(sr, cw, Direction::Answers, fault.watch(), reset_now.clone(), None)
                )
            } => false,
            _ = reset_now.notified() => true,
            // Idle connections are reset too, not only the ones that carry traffic.
            _ = reset_requested(fault.watch()) => true,
        }
    };
    if reset {
        // Connections already open are reset too, not only new ones.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

pub struct Application {
    listener: TcpListener,
    upstream: String,
    control: Control,
}

impl Application {
    pub async fn build(config: Config) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(config.bind).await?,
            upstream: config.upstream,
            control: Control::default(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The fault switch and request log, for the control API.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Printed directly so that it appears whatever RUST_LOG says.
        println!("{READY_LINE} proxy listening on {}", self.local_addr());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                accepted = self.listener.accept() => {
                    let (client, _) = accepted?;
                    tokio::spawn(handle(client, self.upstream.clone(), self.control.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_have_a_small_json_form() {
        let f: Fault = serde_json::from_str(r#"{"mode":"latency","ms":250}"#).unwrap();
        assert_eq!(f, Fault::Latency { ms: 250 });
        assert_eq!(
            serde_json::from_str::<Fault>(r#"{"mode":"reset"}"#).unwrap(),
            Fault::Reset
        );
        assert_eq!(
            serde_json::to_string(&Fault::None).unwrap(),
            r#"{"mode":"none"}"#
        );
        assert_eq!(
            serde_json::from_str::<Fault>(r#"{"mode":"dropanswers"}"#).unwrap(),
            Fault::DropAnswers
        );
        assert_eq!(
            serde_json::to_string(&Fault::HoldAnswers).unwrap(),
            r#"{"mode":"holdanswers"}"#
        );
        assert!(serde_json::from_str::<Fault>(r#"{"mode":"flood"}"#).is_err());
    }
}
