//! The control API the harness's nemesis drives: `GET`/`PUT /internal/fault` reads and
//! sets the fault in effect, `GET /internal/requests` lists the requests callers sent
//! over the link ([`crate::recorder`]), oldest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use tokio::sync::watch;

use crate::faults::Fault;
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

/// What the control API works on: the fault switch and the request log.
#[derive(Clone, Default)]
pub(crate) struct Control {
    pub fault: FaultSwitch,
    pub requests: recorder::Log,
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
    axum::Router::new()
        .route("/internal/fault", get(read).put(write))
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
