//! JSON over HTTP outside the front door: inspection endpoints, a fault proxy's
//! recording, the gateway's route table.

use serde::de::DeserializeOwned;

use crate::context::RunContext;

/// GETs `url` and parses its JSON (an inspection endpoint, a proxy's recording).
pub async fn get_json<T: DeserializeOwned>(ctx: &RunContext, url: String) -> Result<T, String> {
    get_json_with(ctx, url, None).await
}

/// GETs `url` (with an Authorization header if given) and parses its JSON.
pub async fn get_json_with<T: DeserializeOwned>(
    ctx: &RunContext,
    url: String,
    authorization: Option<String>,
) -> Result<T, String> {
    let mut req = ctx.http.get(&url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))?;
    let status = res.status();
    let body = res.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url} answered {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {url}: {e}: {body}"))
}
