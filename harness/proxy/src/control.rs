//! The control API the harness's nemesis drives: `GET`/`PUT /internal/fault` reads and
//! sets the fault in effect, `GET /internal/requests` lists the requests callers sent
//! over the link ([`crate::recorder`]), oldest first. `PUT
//! /internal/fault/scoped/{scenario}` sets the fault on one scenario's requests
//! (`{"mode": "none"}` heals it), `GET /internal/fault/scoped` lists them by scenario.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use tokio::sync::watch;

use crate::faults::{Fault, ScopedFault};
use crate::recorder;

/// The fault switch. Every connection watches it, so a change reaches a held chunk or
/// an idle connection at once, without polling.
#[derive(Clone)]
pub(crate) struct FaultSwitch(Arc<watch::Sender<Fault>>);

impl Default for FaultSwitch {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(Fault::None)))
    }
}

impl FaultSwitch {
    /// The fault in effect now.
    pub(crate) fn get(&self) -> Fault {
        *self.0.borrow()
    }

    /// Puts `fault` in effect for every connection, open or new.
    pub(crate) fn set(&self, fault: Fault) {
        self.0.send_replace(fault);
    }

    pub(crate) fn watch(&self) -> watch::Receiver<Fault> {
        self.0.subscribe()
    }
}

/// The faults on single scenarios' requests, by scenario id. Every connection watches
/// them, so a heal reaches a held answer at once.
#[derive(Clone)]
pub(crate) struct ScopedFaults(Arc<watch::Sender<BTreeMap<String, ScopedFault>>>);

impl Default for ScopedFaults {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(BTreeMap::new())))
    }
}

impl ScopedFaults {
    /// The fault on `scenario`'s requests ([`ScopedFault::None`] when there is none).
    pub(crate) fn get(&self, scenario: &str) -> ScopedFault {
        self.0.borrow().get(scenario).copied().unwrap_or_default()
    }

    /// Every scenario with a fault, and its fault.
    pub(crate) fn all(&self) -> BTreeMap<String, ScopedFault> {
        self.0.borrow().clone()
    }

    /// Puts `fault` on `scenario`'s requests, open connections included;
    /// [`ScopedFault::None`] heals them.
    pub(crate) fn set(&self, scenario: &str, fault: ScopedFault) {
        self.0.send_modify(|all| {
            if fault == ScopedFault::None {
                all.remove(scenario);
            } else {
                all.insert(scenario.to_string(), fault);
            }
        });
    }

    pub(crate) fn watch(&self) -> watch::Receiver<BTreeMap<String, ScopedFault>> {
        self.0.subscribe()
    }
}

/// What the control API works on: the fault switches and the request log.
#[derive(Clone, Default)]
pub(crate) struct Control {
    pub fault: FaultSwitch,
    pub scoped: ScopedFaults,
    pub requests: recorder::Log,
}

/// Whether `scenario` can be a scenario's id in a baggage value: 1 to 128 printable
/// ASCII characters, none of them space, `,`, `;`, `=` or `%`.
fn valid_scenario(scenario: &str) -> bool {
    (1..=128).contains(&scenario.len())
        && scenario
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b';' | b'=' | b'%' | b'"' | b'\\'))
}

/// The control API's routes.
pub(crate) fn router(control: Control) -> axum::Router {
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
    async fn read_scoped(State(c): State<Control>) -> Json<BTreeMap<String, ScopedFault>> {
        Json(c.scoped.all())
    }
    async fn write_scoped(
        State(c): State<Control>,
        Path(scenario): Path<String>,
        Json(new): Json<ScopedFault>,
    ) -> Result<Json<ScopedFault>, (StatusCode, String)> {
        if !valid_scenario(&scenario) {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{scenario:?} is not a scenario id a baggage value can carry"),
            ));
        }
        new.check()
            .map_err(|why| (StatusCode::UNPROCESSABLE_ENTITY, why.to_string()))?;
        tracing::warn!(scenario, ?new, directions = ?new.directions(), "fault proxy: scoped fault changed");
        c.scoped.set(&scenario, new);
        Ok(Json(new))
    }
    axum::Router::new()
        .route("/internal/fault", get(read).put(write))
        .route("/internal/fault/scoped", get(read_scoped))
        .route("/internal/fault/scoped/{scenario}", put(write_scoped))
        .route("/internal/requests", get(requests))
        .with_state(control)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::Fault;
    use crate::testing::{expect_bytes, proxy};

    #[tokio::test]
    async fn put_sets_the_fault_and_get_reads_it_back() {
        let p = proxy().await;
        let url = format!("http://{}/internal/fault", p.control_addr);
        let http = reqwest::Client::new();
        let res = http
            .put(&url)
            .json(&serde_json::json!({"mode": "latency", "ms": 250}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        assert_eq!(p.control.fault.get(), Fault::Latency { ms: 250 });
        let now: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(now, serde_json::json!({"mode": "latency", "ms": 250}));

        // A mode the proxy does not know changes nothing.
        let res = http
            .put(&url)
            .json(&serde_json::json!({"mode": "flood"}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
        assert_eq!(p.control.fault.get(), Fault::Latency { ms: 250 });
    }

    #[tokio::test]
    async fn a_scoped_fault_is_put_per_scenario_listed_and_healed() {
        let p = proxy().await;
        let base = format!("http://{}/internal/fault/scoped", p.control_addr);
        let http = reqwest::Client::new();
        let put = |scenario: &str, body: serde_json::Value| {
            http.put(format!("{base}/{scenario}")).json(&body).send()
        };
        let res = put("s1", serde_json::json!({"mode": "abort", "status": 503}))
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        put("s2", serde_json::json!({"mode": "holdanswer", "ms": 2000}))
            .await
            .unwrap();
        let all: serde_json::Value = http.get(&base).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            all,
            serde_json::json!({
                "s1": {"mode": "abort", "status": 503},
                "s2": {"mode": "holdanswer", "ms": 2000},
            })
        );
        // The link-wide fault is another switch.
        assert_eq!(p.control.fault.get(), Fault::None);

        // What cannot be applied changes nothing.
        for (scenario, body) in [
            ("s1", serde_json::json!({"mode": "abort", "status": 99})),
            ("a,b", serde_json::json!({"mode": "dropanswer"})),
            ("s1", serde_json::json!({"mode": "blackhole"})),
        ] {
            let res = put(scenario, body).await.unwrap();
            assert!(
                res.status().is_client_error(),
                "{scenario}: {}",
                res.status()
            );
        }
        put("s1", serde_json::json!({"mode": "none"}))
            .await
            .unwrap();
        let all: serde_json::Value = http.get(&base).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            all,
            serde_json::json!({"s2": {"mode": "holdanswer", "ms": 2000}})
        );
    }

    #[tokio::test]
    async fn get_requests_lists_what_callers_sent_oldest_first() {
        let p = proxy().await;
        let mut sock = TcpStream::connect(p.addr).await.unwrap();
        let reqs = b"POST /payments/charges HTTP/1.1\r\nidempotency-key: k1\r\ncontent-length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n\r\n";
        sock.write_all(reqs).await.unwrap();
        expect_bytes(&mut sock, reqs).await;

        let url = format!("http://{}/internal/requests", p.control_addr);
        let seen: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        assert_eq!(
            seen,
            serde_json::json!([
                {"seq": 1, "method": "POST", "path": "/payments/charges",
                 "headers": {"content-length": "2", "idempotency-key": "k1"}, "body": "{}"},
                {"seq": 2, "method": "GET", "path": "/health", "headers": {}, "body": ""},
            ])
        );
    }
}
