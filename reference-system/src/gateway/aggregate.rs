//! `GET /orders/{id}/summary`: order, payment and reservation in one reply. A part whose
//! service is down or slow is marked unavailable (`{"status": "unavailable", "reason"}`)
//! instead of failing the whole reply, and the reply's own `status` says whether it is
//! `complete` or `partial`.
//!
//! The order is asked for first, as the client (the identity headers the gateway set go
//! with it): orders answers only the order's own customer, so its answer decides who may
//! see the rest. Payment and reservation are fetched only after orders said 200; when
//! orders answers 4xx that is the summary's answer, and when it is unavailable the other
//! parts are withheld too, since nobody could check that they are the client's.
//! Payments checks the forwarded identity again (a charge answers only its customer);
//! inventory, which does not know customers, is reached only from here, never routed to
//! clients.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AppState;
use crate::defects::{self, Defect};

/// The `status` of a summary with every part: `complete`, or `partial` when a part is
/// unavailable.
fn status_of(parts: &[&Value]) -> &'static str {
    if parts.iter().any(|p| p["status"] == "unavailable") {
        "partial"
    } else {
        "complete"
    }
}

/// The summary of `order`, `payment` and `reservation`: 200 with a `status` of
/// `complete` or `partial`.
fn assemble(order: Value, payment: Value, reservation: Value) -> (StatusCode, Value) {
    let status = status_of(&[&order, &payment, &reservation]);
    // DEFECT(summary-fails-whole): one part down fails the whole summary.
    if status == "partial" && defects::on(Defect::SummaryFailsWhole) {
        return (
            StatusCode::BAD_GATEWAY,
            json!({"type": "about:blank", "title": "Bad Gateway", "status": 502,
                   "detail": "a part of the summary is unavailable"}),
        );
    }
    (
        StatusCode::OK,
        json!({"status": status, "order": order, "payment": payment, "reservation": reservation}),
    )
}

/// The order id when `path` is `/orders/{id}/summary`.
pub fn summary_id(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/orders/")?;
    let id = rest.strip_suffix("/summary")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

async fn part(
    state: &AppState,
    upstream: &str,
    path: String,
    headers: &HeaderMap,
    timeout: Duration,
) -> (Value, Option<u16>) {
    let Some(base) = state.upstreams.get(upstream).map(|u| u.base.clone()) else {
        return (
            json!({"status": "unavailable", "reason": "no such upstream"}),
            None,
        );
    };
    match state
        .http
        .get(format!("{base}{path}"))
        .headers(identity(headers))
        .timeout(timeout)
        .send()
        .await
    {
        Ok(res) => {
            let status = res.status().as_u16();
            match res.json::<Value>().await {
                Ok(body) if status < 500 => (body, Some(status)),
                _ => (
                    json!({"status": "unavailable", "reason": format!("{upstream} answered {status}")}),
                    None,
                ),
            }
        }
        Err(e) => (
            json!({"status": "unavailable", "reason": if e.is_timeout() { format!("{upstream} timed out") } else { format!("{upstream} unreachable") }}),
            None,
        ),
    }
}

/// The identity and request-id headers of `headers` (set by the gateway from the token),
/// with the request's trace context and baggage.
fn identity(headers: &HeaderMap) -> reqwest::header::HeaderMap {
    let mut out = crate::propagation::headers();
    for name in super::IDENTITY_HEADERS
        .into_iter()
        .chain([contracts::headers::REQUEST_ID])
    {
        if let Some(v) = headers.get(name)
            && let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_bytes(v.as_bytes()),
            )
        {
            out.insert(k, v);
        }
    }
    out
}

/// Builds the summary for the client named in `headers` (the identity headers the
/// gateway set): orders' own 4xx (404 for an order that does not exist or is not the
/// client's) when it refuses.
pub async fn summary(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    timeout: Duration,
) -> (StatusCode, Value) {
    let order = part(state, "orders", format!("/orders/{id}"), headers, timeout).await;
    match order.1 {
        Some(200) => {}
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return (status, order.0);
        }
        None => {
            let withheld = json!({"status": "unavailable", "reason": "the order could not be read, so its owner could not be checked"});
            return assemble(order.0, withheld.clone(), withheld);
        }
    }
    let (payment, reservation) = tokio::join!(
        part(
            state,
            "payments",
            format!("/payments/charges?order_id={id}"),
            headers,
            timeout
        ),
        part(
            state,
            "inventory",
            format!("/inventory/reservations/{id}"),
            headers,
            timeout
        ),
    );
    let payment = match payment {
        (Value::Array(mut charges), Some(_)) => charges.pop().unwrap_or(json!({"status": "NONE"})),
        (_, Some(404)) => json!({"status": "NONE"}),
        (v, _) => v,
    };
    let reservation = match reservation {
        (_, Some(404)) => json!({"status": "NONE"}),
        (v, _) => v,
    };
    assemble(order.0, payment, reservation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_summary_paths_only() {
        assert_eq!(summary_id("/orders/abc/summary"), Some("abc"));
        assert_eq!(summary_id("/orders//summary"), None);
        assert_eq!(summary_id("/orders/a/b/summary"), None);
        assert_eq!(summary_id("/orders/abc"), None);
    }

    #[test]
    fn a_summary_with_an_unavailable_part_is_partial() {
        let up = json!({"status": "CHARGED"});
        let down = json!({"status": "unavailable", "reason": "payments unreachable"});
        let (status, body) = assemble(json!({"status": "CONFIRMED"}), down, up.clone());
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "partial");
        assert_eq!(body["payment"]["status"], "unavailable");
        assert_eq!(body["reservation"], up);
        let (_, body) = assemble(json!({"status": "CONFIRMED"}), up.clone(), up);
        assert_eq!(body["status"], "complete");
    }
}
