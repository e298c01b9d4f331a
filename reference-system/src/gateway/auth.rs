//! Authentication at the edge: a valid HS256 bearer token (or, with a public key
//! configured, RS256/ES256) or a 401 with a Bearer challenge.
//!
//! Beyond its signature, a token must follow these rules ([`accept`]), each allowing
//! [`JWT_LEEWAY_SECONDS`] of clock skew between the token issuer and the gateway:
//! - its header names no critical extension (`crit`, RFC 7515 4.1.11): the gateway
//!   understands none, so any `crit` is refused;
//! - `exp`, `nbf` and `iat`, when present, are NumericDates (JSON numbers of seconds
//!   since 1970, not negative); a string or any other value is refused;
//! - it has an `exp`, and it is accepted up to the leeway past it;
//! - it is not used before its `nbf` (RFC 7519 4.1.5), nor issued (`iat`) in the future,
//!   beyond the leeway;
//! - its `exp` lies at most [`DEFAULT_MAX_LIFETIME_SECONDS`] (24 hours, or
//!   `GATEWAY_JWT_MAX_LIFETIME_SECONDS`) plus the leeway from now: a token valid for a
//!   century is a credential nobody can revoke.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use contract_tools::jwt::{self, Claims, Tier};
use serde_json::Value;

use super::AppState;
use crate::defects::{self, Defect};
use crate::error::problem;

/// How far the token issuer's clock and the gateway's may disagree (seconds): a token is
/// accepted up to this long after its `exp`, and this long before its `nbf` or `iat`.
/// Room for clock skew, not a grace period.
pub const JWT_LEEWAY_SECONDS: u64 = 5;

/// The longest a token may still be valid for when it arrives (`exp - now`, seconds),
/// unless `GATEWAY_JWT_MAX_LIFETIME_SECONDS` says otherwise: 24 hours.
pub const DEFAULT_MAX_LIFETIME_SECONDS: u64 = 24 * 3600;

/// The leeway of [`Defect::ExpiryLeeway`] (seconds).
const DEFECTIVE_LEEWAY_SECONDS: u64 = 30;

/// The longest claim or header value a 401's detail quotes (characters).
const SHOWN_CHARS: usize = 40;

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
    let expiry_leeway = if defects::on(Defect::ExpiryLeeway) {
        DEFECTIVE_LEEWAY_SECONDS
    } else {
        JWT_LEEWAY_SECONDS
    };
    let (header, claims) = signed_parts(state, token)?;
    accept(
        &header,
        claims,
        now_unix(),
        expiry_leeway,
        state.jwt_max_lifetime,
    )
}

/// The header and claims of `token` once its algorithm and signature check out.
fn signed_parts(state: &AppState, token: &str) -> Result<(Value, Value), String> {
    if let Some(key) = &state.jwt_public_key {
        return key.verify(token);
    }
    match jwt::verify_signature(token, &state.jwt_secret) {
        Ok(parts) => Ok(parts),
        // DEFECT(alg-none-accepted): an unsigned token is taken at its word.
        Err(jwt::JwtError::UnsupportedAlgorithm(alg))
            if defects::on(Defect::AlgNoneAccepted) && alg.eq_ignore_ascii_case("none") =>
        {
            decode_unverified(token).ok_or_else(|| "malformed token".to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The claims of a token whose signature checked out, if its header and time claims
/// follow the rules of the module docs at `now` (Unix seconds): accepted up to
/// `expiry_leeway` seconds past its `exp`, and until at most `max_lifetime` seconds (plus
/// the leeway) from now. The error is the 401's detail.
fn accept(
    header: &Value,
    mut claims: Value,
    now: u64,
    expiry_leeway: u64,
    max_lifetime: u64,
) -> Result<Claims, String> {
    // DEFECT(crit-ignored): a header's critical extensions are skipped like any unknown
    // header parameter.
    if let Some(crit) = header.get("crit")
        && !defects::on(Defect::CritIgnored)
    {
        return Err(format!(
            "the token's header marks {} critical (crit), and this gateway understands no \
             JWS extension (RFC 7515 4.1.11)",
            shown(crit)
        ));
    }
    if !claims.is_object() {
        return Err("malformed token: the claims are not a JSON object".into());
    }
    let exp = numeric_date(&claims, "exp")?;
    let nbf = numeric_date(&claims, "nbf")?;
    let iat = numeric_date(&claims, "iat")?;
    let skewed_now = now.saturating_add(JWT_LEEWAY_SECONDS);
    // DEFECT(nbf-ignored): `nbf` is read as any other claim the gateway has no use for.
    if let Some(nbf) = nbf
        && nbf > skewed_now
        && !defects::on(Defect::NbfIgnored)
    {
        return Err(format!(
            "the token is not valid before {nbf} (nbf, {} s from now; RFC 7519 4.1.5)",
            nbf - now
        ));
    }
    // DEFECT(iat-unchecked): `iat` is taken on trust, however far ahead it lies.
    if let Some(iat) = iat
        && iat > skewed_now
        && !defects::on(Defect::IatUnchecked)
    {
        return Err(format!(
            "the token was issued in the future (iat {iat}, {} s from now)",
            iat - now
        ));
    }
    let exp = match exp {
        Some(exp) => Some(exp),
        // DEFECT(exp-optional): a token without `exp` is taken as one that never expires.
        None if defects::on(Defect::ExpOptional) => None,
        None => {
            return Err(
                "the token has no exp claim: this gateway accepts only tokens that expire".into(),
            );
        }
    };
    if let Some(exp) = exp {
        // Accepted until `expiry_leeway` seconds past `exp`.
        if exp <= now.saturating_sub(expiry_leeway) {
            return Err(jwt::JwtError::Expired.to_string());
        }
        let longest = max_lifetime.saturating_add(JWT_LEEWAY_SECONDS);
        // DEFECT(lifetime-unbounded): any `exp` is accepted, a century ahead included.
        if exp.saturating_sub(now) > longest && !defects::on(Defect::LifetimeUnbounded) {
            return Err(format!(
                "the token expires in {} s, beyond the longest token lifetime this gateway \
                 accepts ({max_lifetime} s)",
                exp - now
            ));
        }
    }
    // What the gateway reads: `exp` as the whole seconds checked above (never, when a
    // defect let a token without one through).
    claims["exp"] = exp.unwrap_or(u64::MAX).into();
    serde_json::from_value(claims).map_err(|e| format!("malformed token: claims: {e}"))
}

/// The claim `name` of `claims` as whole Unix seconds (a fraction is dropped), `None`
/// when absent; an error when it is not a NumericDate (RFC 7519 2: a JSON number of
/// seconds since 1970).
fn numeric_date(claims: &Value, name: &str) -> Result<Option<u64>, String> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    if let Some(seconds) = value.as_u64() {
        return Ok(Some(seconds));
    }
    if let Some(seconds) = value.as_f64().filter(|s| s.is_finite() && *s >= 0.0) {
        // `as` saturates: 1e300 becomes u64::MAX, which the lifetime rule refuses.
        return Ok(Some(seconds as u64));
    }
    // DEFECT(claims-not-typed): a time claim of the wrong type is skipped as if absent.
    if defects::on(Defect::ClaimsNotTyped) {
        return Ok(None);
    }
    Err(format!(
        "the token's {name} claim is {}, not a NumericDate (a number of seconds since 1970, \
         RFC 7519 2)",
        shown(value)
    ))
}

/// `value` as JSON, cut to [`SHOWN_CHARS`] characters.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= SHOWN_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{cut}...")
}

/// The header and claims of a token, signature unchecked: only for
/// [`Defect::AlgNoneAccepted`].
fn decode_unverified(token: &str) -> Option<(Value, Value)> {
    let mut segments = token.split('.');
    let header = json_segment(segments.next()?)?;
    let claims = json_segment(segments.next()?)?;
    Some((header, claims))
}

/// A base64url segment of a token, as JSON.
fn json_segment(segment: &str) -> Option<Value> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
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

/// A public key tokens are checked with (`GATEWAY_JWT_PUBLIC_KEY`): RSA for RS256, P-256
/// EC for ES256. Only that algorithm is accepted, whatever a token's header says.
pub struct PublicKey {
    key: jsonwebtoken::DecodingKey,
    alg: jsonwebtoken::Algorithm,
}

impl PublicKey {
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("GATEWAY_JWT_PUBLIC_KEY {}: {e}", path.display()))?;
        Self::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("GATEWAY_JWT_PUBLIC_KEY {}: {e}", path.display()))
    }

    fn from_pem(pem: &[u8]) -> Result<Self, String> {
        use jsonwebtoken::{Algorithm, DecodingKey};
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self {
                key,
                alg: Algorithm::RS256,
            });
        }
        let key = DecodingKey::from_ec_pem(pem)
            .map_err(|e| format!("neither an RSA nor an EC public key in PEM: {e}"))?;
        Ok(Self {
            key,
            alg: Algorithm::ES256,
        })
    }

    /// The header and claims of `token` if it is signed by this key with its algorithm;
    /// the claims' values are left to [`accept`]. The error is the 401's detail.
    fn verify(&self, token: &str) -> Result<(Value, Value), String> {
        let mut validation = jsonwebtoken::Validation::new(self.alg);
        // The time claims are the gateway's own rules ([`accept`]), as for HS256.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(token, &self.key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => "bad signature".to_string(),
                _ => format!("invalid token: {e}"),
            })?;
        // The signature covers the header: it is the one that was signed.
        let header = token
            .split('.')
            .next()
            .and_then(json_segment)
            .ok_or("malformed token: the header is not base64url JSON")?;
        Ok((header, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    fn key(name: &str) -> Vec<u8> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../harness/tests/fixtures/keys/"
        );
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    fn token(alg: Algorithm, private: &str, exp: u64) -> String {
        let claims = Claims {
            sub: "alice".into(),
            tier: Tier::Free,
            scope: "limited:read".into(),
            exp,
        };
        let pem = key(private);
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .unwrap();
        jsonwebtoken::encode(&Header::new(alg), &claims, &key).unwrap()
    }

    #[test]
    fn a_public_key_accepts_its_algorithms_tokens_only_and_not_expired_ones() {
        let now = now_unix();
        for (alg, private, public) in [
            (
                Algorithm::RS256,
                "test-only-rs256-private.pem",
                "test-only-rs256-public.pem",
            ),
            (
                Algorithm::ES256,
                "test-only-es256-private.pem",
                "test-only-es256-public.pem",
            ),
        ] {
            let k = PublicKey::from_pem(&key(public)).unwrap();
            assert_eq!(k.alg, alg);
            let check = |token: &str| {
                let (header, claims) = k.verify(token)?;
                accept(&header, claims, now, 5, DEFAULT_MAX_LIFETIME_SECONDS)
            };
            let claims = check(&token(alg, private, now + 60)).unwrap();
            assert_eq!(claims.sub, "alice");
            assert_eq!(
                check(&token(alg, private, now - 60)).unwrap_err(),
                "token expired"
            );
        }
        let rsa = PublicKey::from_pem(&key("test-only-rs256-public.pem")).unwrap();
        let es = token(Algorithm::ES256, "test-only-es256-private.pem", now + 60);
        assert!(rsa.verify(&es).is_err(), "an ES256 token passed an RSA key");
        let hs = contract_tools::jwt::encode(
            &Claims {
                sub: "alice".into(),
                tier: Tier::Free,
                scope: String::new(),
                exp: now + 60,
            },
            b"secret",
        );
        assert!(rsa.verify(&hs).is_err(), "an HS256 token passed an RSA key");
        assert!(PublicKey::from_pem(b"not a key").is_err());
    }

    /// A token signed by `private` from raw header and claims JSON.
    fn raw_token(alg: Algorithm, private: &str, header: &Value, claims: &Value) -> String {
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(header), b64(claims));
        let pem = key(private);
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .unwrap();
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap();
        format!("{input}.{signature}")
    }

    /// The rules beyond the signature hold for public-key tokens as for HS256 (whose
    /// cases the `api` tests run through the whole gateway).
    #[test]
    fn a_public_key_token_follows_the_same_claim_and_header_rules() {
        let now = now_unix();
        let k = PublicKey::from_pem(&key("test-only-es256-public.pem")).unwrap();
        let check = |header: serde_json::Value, claims: serde_json::Value| {
            let token = raw_token(
                Algorithm::ES256,
                "test-only-es256-private.pem",
                &header,
                &claims,
            );
            let (header, claims) = k.verify(&token)?;
            accept(&header, claims, now, 5, DEFAULT_MAX_LIFETIME_SECONDS)
        };
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT"});
        let claims = |extra: serde_json::Value| {
            let mut c =
                serde_json::json!({"sub": "alice", "tier": "free", "scope": "", "exp": now + 60});
            for (name, value) in extra.as_object().unwrap() {
                c[name] = value.clone();
            }
            c
        };
        assert!(check(header.clone(), claims(serde_json::json!({}))).is_ok());
        let crit = serde_json::json!({"alg": "ES256", "crit": ["b64"], "b64": false});
        let err = check(crit, claims(serde_json::json!({}))).unwrap_err();
        assert!(err.contains("[\"b64\"] critical"), "{err}");
        let err = check(
            header.clone(),
            claims(serde_json::json!({"nbf": now + 3600})),
        )
        .unwrap_err();
        assert!(err.contains("not valid before"), "{err}");
        let err = check(
            header.clone(),
            claims(serde_json::json!({"iat": "x".repeat(100)})),
        )
        .unwrap_err();
        assert!(err.contains("iat claim is") && err.len() < 200, "{err}");
        let mut no_exp = claims(serde_json::json!({}));
        no_exp.as_object_mut().unwrap().remove("exp");
        let err = check(header.clone(), no_exp).unwrap_err();
        assert!(err.contains("no exp claim"), "{err}");
        let err = check(
            header,
            claims(serde_json::json!({"exp": now + 2 * DEFAULT_MAX_LIFETIME_SECONDS})),
        )
        .unwrap_err();
        assert!(err.contains("longest token lifetime"), "{err}");
    }
}
