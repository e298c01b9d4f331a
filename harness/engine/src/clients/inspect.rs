//! JSON over HTTP outside the front door: inspection endpoints, a fault proxy's
//! recording, the gateway's route table.

use serde::de::DeserializeOwned;

use crate::clients::ClientError;
use crate::context::RunContext;

/// GETs `url` and parses its JSON (an inspection endpoint, a proxy's recording).
pub async fn get_json<T: DeserializeOwned>(
    ctx: &RunContext,
    url: String,
) -> Result<T, ClientError> {
    get_json_with(ctx, url, None).await
}

/// GETs `url` (with an Authorization header if given) and parses its JSON.
pub(crate) async fn get_json_with<T: DeserializeOwned>(
    ctx: &RunContext,
    url: String,
    authorization: Option<String>,
) -> Result<T, ClientError> {
    let mut req = ctx.http.get(&url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let res = match req.send().await {
        Ok(res) => res,
        Err(cause) => return Err(ClientError::Get { url, cause }),
    };
    let status = res.status();
    let body = match res.text().await {
        Ok(body) => body,
        Err(cause) => return Err(ClientError::GetBody { url, cause }),
    };
    if !status.is_success() {
        return Err(ClientError::GetStatus { url, status, body });
    }
    serde_json::from_str(&body).map_err(|cause| ClientError::GetJson { url, cause, body })
}
