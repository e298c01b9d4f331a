//! Forwarding a request to an upstream service over the pooled client.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::problem;

/// Largest request body forwarded (bytes).
const MAX_BODY: usize = 1 << 20;

/// Hop-by-hop headers that a proxy must not forward (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

pub async fn to_orders(State(state): State<AppState>, req: Request) -> Response {
    let base = state.orders_url.clone();
    forward(&state, &base, "orders", req).await
}

async fn forward(state: &AppState, base: &str, upstream: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = parts
        .headers
        .get(contracts::headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(format!("request body over {MAX_BODY} bytes")),
            );
        }
    };
    let mut upstream_req = state
        .http
        .request(parts.method.clone(), format!("{base}{path_and_query}"))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name.as_str() != contracts::headers::REQUEST_ID {
            upstream_req = upstream_req.header(name, value);
        }
    }
    upstream_req = upstream_req.header(contracts::headers::REQUEST_ID, &request_id);

    let mut response = match upstream_req.send().await {
        Ok(res) => {
            let status = res.status();
            let headers = res.headers().clone();
            match res.bytes().await {
                Ok(bytes) => {
                    let mut out = Response::new(Body::from(bytes));
                    *out.status_mut() = status;
                    for (name, value) in &headers {
                        if !HOP_BY_HOP.contains(&name.as_str()) {
                            out.headers_mut().insert(name.clone(), value.clone());
                        }
                    }
                    out
                }
                Err(e) => upstream_error(upstream, &e),
            }
        }
        Err(e) => upstream_error(upstream, &e),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(contracts::headers::REQUEST_ID), v);
    }
    response
}

fn upstream_error(upstream: &str, e: &reqwest::Error) -> Response {
    tracing::warn!(upstream, error = %e, "upstream request failed");
    if e.is_timeout() {
        problem(
            StatusCode::GATEWAY_TIMEOUT,
            Some(format!("{upstream} did not answer in time")),
        )
    } else {
        problem(
            StatusCode::BAD_GATEWAY,
            Some(format!("{upstream} is unavailable")),
        )
    }
    .into_response()
}
