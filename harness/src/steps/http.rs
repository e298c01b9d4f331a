//! HTTP requests and responses.

use cucumber::then;
use serde::Serialize;

use super::StepResult;
use crate::context;
use crate::world::{Exchange, QaWorld};

/// Sends `method` to `url` (JSON `body` if any) and records the exchange in the world.
pub async fn send<B: Serialize>(
    world: &mut QaWorld,
    method: reqwest::Method,
    url: String,
    headers: &[(&str, String)],
    body: Option<&B>,
) -> Result<(), String> {
    let ctx = context::current()?;
    let mut req = ctx.http.request(method.clone(), &url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let request_body = match body {
        Some(b) => {
            let text = serde_json::to_string(b).map_err(|e| e.to_string())?;
            req = req
                .header("content-type", "application/json")
                .body(text.clone());
            Some(text)
        }
        None => None,
    };
    let res = req
        .send()
        .await
        .map_err(|e| format!("{method} {url} failed before any response: {e}"))?;
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string()))
        .collect();
    let body = res
        .text()
        .await
        .map_err(|e| format!("{method} {url}: reading the body failed: {e}"))?;
    world.last = Some(Exchange {
        method: method.to_string(),
        url,
        request_body,
        status,
        headers,
        body,
    });
    Ok(())
}

#[then(expr = "the response status is {int}")]
async fn response_status_is(world: &mut QaWorld, expected: u16) -> StepResult {
    let Some(last) = &world.last else {
        return Err("no request was sent before this step".into());
    };
    if last.status == expected {
        Ok(())
    } else {
        Err(format!(
            "expected status {expected}, saw {}\n{}",
            last.status,
            world.last_exchange()
        ))
    }
}
