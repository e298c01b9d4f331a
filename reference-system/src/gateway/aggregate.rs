//! `GET /orders/{id}/summary`: order, payment and reservation in one reply. A part whose
//! service is down or slow is marked unavailable instead of failing the whole reply.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

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

/// Builds the summary; 404 when orders says the order does not exist.
pub async fn summary(state: &AppState, id: &str, timeout: Duration) -> (StatusCode, Value) {
    let (order, payment, reservation) = tokio::join!(
        part(state, "orders", format!("/orders/{id}"), timeout),
        part(
            state,
            "payments",
            format!("/payments/charges?order_id={id}"),
            timeout
        ),
        part(
            state,
            "inventory",
            format!("/inventory/reservations/{id}"),
            timeout
        ),
    );
    if order.1 == Some(404) {
        return (StatusCode::NOT_FOUND, order.0);
    }
    let payment = match payment {
        (Value::Array(mut charges), Some(_)) => charges.pop().unwrap_or(json!({"status": "NONE"})),
        (_, Some(404)) => json!({"status": "NONE"}),
        (v, _) => v,
    };
    let reservation = match reservation {
        (_, Some(404)) => json!({"status": "NONE"}),
        (v, _) => v,
    };
    (
        StatusCode::OK,
        json!({"order": order.0, "payment": payment, "reservation": reservation}),
    )
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
}
