//! Forwarding one request to an upstream over the pooled client.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Response, StatusCode};

/// Hop-by-hop headers that a proxy must not forward (RFC 9110 §7.6.1), plus the ones the
/// client may not set because the gateway owns them.
pub const NOT_FORWARDED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
];

/// Why an upstream gave no response.
#[derive(Debug)]
pub enum ForwardError {
    Timeout,
    Unreachable(String),
}

/// Sends `method path_and_query` with `headers` and `body` to `base`, within `timeout`.
pub async fn forward(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
    timeout: Duration,
) -> Result<Response<Body>, ForwardError> {
    let mut req = http
        .request(method, format!("{base}{path_and_query}"))
        .timeout(timeout)
        .body(body);
    for (name, value) in headers {
        let name_str = name.as_str();
        if !NOT_FORWARDED.contains(&name_str) && !crate::propagation::HEADERS.contains(&name_str) {
            req = req.header(name, value);
        }
    }
    // The trace context and baggage go on from the request's context, as an
    // instrumented proxy passes them.
    req = req.headers(crate::propagation::headers());
    let res = req.send().await.map_err(classify)?;
    let status = res.status();
    let res_headers = res.headers().clone();
    let bytes = res.bytes().await.map_err(classify)?;
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in &res_headers {
        if !NOT_FORWARDED.contains(&name.as_str()) {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(out)
}

fn classify(e: reqwest::Error) -> ForwardError {
    if e.is_timeout() {
        ForwardError::Timeout
    } else {
        ForwardError::Unreachable(e.to_string())
    }
}
