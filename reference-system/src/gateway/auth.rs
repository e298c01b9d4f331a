//! Authentication at the edge: a valid HS256 bearer token or a 401 with a Bearer
//! challenge; a token is accepted up to [`JWT_LEEWAY_SECONDS`] past its `exp`.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use contract_tools::jwt::{self, Claims, Tier};

use super::AppState;
use crate::defects::{self, Defect};
use crate::error::problem;

/// How long after its `exp` a token is still accepted (seconds): room for clock skew
/// between the token issuer and the gateway, not a grace period.
pub const JWT_LEEWAY_SECONDS: u64 = 5;

/// The leeway of [`Defect::ExpiryLeeway`] (seconds).
const DEFECTIVE_LEEWAY_SECONDS: u64 = 30;

pub(super) fn unauthorized(detail: &str) -> Response {
    let mut res = problem(StatusCode::UNAUTHORIZED, Some(detail.to_string()));
    let challenge = format!(
        "Bearer realm=\"qalens\", error=\"invalid_token\", error_description=\"{}\"",
        detail.replace('"', "'")
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge)
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"qalens\"")),
    );
    res
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Verifies the bearer token of `headers`; the error is the 401's detail.
pub(super) fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Claims, String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("a bearer token is required".into());
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("the Authorization header must be `Bearer <token>`")?;
    // DEFECT(expiry-leeway): tokens stay valid half a minute after they expired.
    let leeway = if defects::on(Defect::ExpiryLeeway) {
        DEFECTIVE_LEEWAY_SECONDS
    } else {
        JWT_LEEWAY_SECONDS
    };
    // `exp > now - leeway`, i.e. accepted until `leeway` seconds past `exp`.
    match jwt::verify(token, &state.jwt_secret, now_unix().saturating_sub(leeway)) {
        Ok(claims) => Ok(claims),
        // DEFECT(alg-none-accepted): an unsigned token is taken at its word.
        Err(jwt::JwtError::UnsupportedAlgorithm(alg))
            if defects::on(Defect::AlgNoneAccepted) && alg.eq_ignore_ascii_case("none") =>
        {
            decode_unverified(token).ok_or_else(|| "malformed token".to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The claims of a token, signature unchecked: only for [`Defect::AlgNoneAccepted`].
fn decode_unverified(token: &str) -> Option<Claims> {
    use base64::Engine as _;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(super) fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Free => "free",
        Tier::Paid => "paid",
    }
}

pub(super) fn scopes(claims: &Claims) -> BTreeSet<&str> {
    claims.scope.split_whitespace().collect()
}
