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
use contract_tools::jwt::Tier;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
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

/// The claims the gateway reads from a token once [`accept`] checked them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// Subject: the client id (rate limits are counted per subject).
    pub sub: String,
    pub tier: Tier,
    /// Granted scopes, space-separated as in RFC 8693 (`"orders:read orders:write"`).
    pub scope: String,
    /// Expiry, in Unix seconds (`u64::MAX`: never, when a defect let a token without one
    /// through).
    pub exp: u64,
}

/// Why an HS256 token's form, algorithm or signature does not check out; displayed, the
/// 401's detail.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum SignatureError {
    /// Not three base64url segments, or a header or claims that are not JSON.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header's `alg` is not exactly `HS256` (`none`, `HS512`, missing, not a string).
    #[error("unsupported algorithm {0:?}: only HS256 is accepted")]
    UnsupportedAlgorithm(String),
    /// The signature is not the secret's over the header and claims.
    #[error("bad signature")]
    BadSignature,
}

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
    match verify_hs256(token, &state.jwt_secret) {
        Ok(parts) => Ok(parts),
        // DEFECT(alg-none-accepted): an unsigned token is taken at its word.
        Err(SignatureError::UnsupportedAlgorithm(alg))
            if defects::on(Defect::AlgNoneAccepted) && alg.eq_ignore_ascii_case("none") =>
        {
            decode_unverified(token).ok_or_else(|| "malformed token".to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The header and claims of `token` if it is signed with HS256 under `secret`, their
/// values left to [`accept`].
///
/// The algorithm is pinned from the header as sent: anything but exactly `"HS256"` is
/// refused before the signature is looked at, so a token cannot choose it. jsonwebtoken
/// checks the signature (in constant time); its `decode` is not used, since it applies
/// claim rules of its own (`aud`, the claims' types) where the gateway's are [`accept`]'s.
fn verify_hs256(token: &str, secret: &[u8]) -> Result<(Value, Value), SignatureError> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = segments[..] else {
        return Err(SignatureError::Malformed(format!(
            "expected 3 dot-separated segments, found {}",
            segments.len()
        )));
    };
    let header = json_part("header", header)?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if alg != "HS256" {
        return Err(SignatureError::UnsupportedAlgorithm(alg));
    }
    let signed = &token[..token.len() - signature.len() - 1];
    let key = DecodingKey::from_secret(secret);
    if !jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &key, Algorithm::HS256)
        .unwrap_or(false)
    {
        return Err(SignatureError::BadSignature);
    }
    Ok((header, json_part("claims", claims)?))
}

/// The `what` segment of a token (`header`, `claims`): base64url JSON.
fn json_part(what: &str, segment: &str) -> Result<Value, SignatureError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| SignatureError::Malformed(format!("{what} is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| SignatureError::Malformed(format!("{what} is not JSON: {e}")))
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
            return Err("token expired".into());
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
    let header = json_part("header", segments.next()?).ok()?;
    let claims = json_part("claims", segments.next()?).ok()?;
    Some((header, claims))
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
    key: DecodingKey,
    alg: Algorithm,
}

impl PublicKey {
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("GATEWAY_JWT_PUBLIC_KEY {}: {e}", path.display()))?;
        Self::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("GATEWAY_JWT_PUBLIC_KEY {}: {e}", path.display()))
    }

    fn from_pem(pem: &[u8]) -> Result<Self, String> {
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
            .and_then(|header| json_part("header", header).ok())
            .ok_or("malformed token: the header is not base64url JSON")?;
        Ok((header, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const SECRET: &[u8] = b"test-secret";

    fn key(name: &str) -> Vec<u8> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../harness/tests/fixtures/keys/"
        );
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    /// The private key `private` (PEM) for `alg`.
    fn private_key(alg: Algorithm, private: &str) -> EncodingKey {
        let pem = key(private);
        match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .unwrap()
    }

    fn claims(exp: u64) -> Value {
        json!({"sub": "alice", "tier": "free", "scope": "limited:read", "exp": exp})
    }

    fn token(alg: Algorithm, private: &str, exp: u64) -> String {
        jsonwebtoken::encode(&Header::new(alg), &claims(exp), &private_key(alg, private)).unwrap()
    }

    /// The header and claims of a token, base64url JSON, without a signature.
    fn unsigned(header: &Value, claims: &Value) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}", b64(header), b64(claims))
    }

    /// A token from raw header and claims JSON, signed with `key` by `alg` whatever the
    /// header says.
    fn raw_token(alg: Algorithm, key: &EncodingKey, header: &Value, claims: &Value) -> String {
        let input = unsigned(header, claims);
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
        format!("{input}.{signature}")
    }

    /// A token from raw header and claims JSON signed with HS256 under [`SECRET`].
    fn hs256(header: &Value, claims: &Value) -> String {
        raw_token(
            Algorithm::HS256,
            &EncodingKey::from_secret(SECRET),
            header,
            claims,
        )
    }

    fn hs256_header() -> Value {
        json!({"alg": "HS256", "typ": "JWT"})
    }

    #[test]
    fn an_hs256_token_signed_with_the_secret_gives_its_header_and_claims() {
        let token = jsonwebtoken::encode(
            &Header::default(),
            &claims(42),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        let (header, claims) = verify_hs256(&token, SECRET).unwrap();
        assert_eq!(header, hs256_header());
        assert_eq!(claims, self::claims(42));
        let claims = accept(&header, claims, 40, JWT_LEEWAY_SECONDS, 60).unwrap();
        assert_eq!(
            claims,
            Claims {
                sub: "alice".into(),
                tier: Tier::Free,
                scope: "limited:read".into(),
                exp: 42,
            }
        );
    }

    #[test]
    fn a_tampered_or_foreign_hs256_token_is_a_bad_signature() {
        let token = hs256(&hs256_header(), &claims(42));
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = input.split_once('.').unwrap();
        // Claims that grant more, under the original signature.
        let forged = json!({"sub": "admin", "tier": "paid", "scope": "admin", "exp": 42});
        let forged = format!("{header}.{}", URL_SAFE_NO_PAD.encode(forged.to_string()));
        // One bit of the signature flipped, or the signature cut short.
        let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
        flipped[0] ^= 1;
        let cut = URL_SAFE_NO_PAD.encode(&flipped[..16]);
        let flipped = URL_SAFE_NO_PAD.encode(&flipped);
        for bad in [
            format!("{forged}.{signature}"),
            format!("{input}.{flipped}"),
            format!("{input}.{cut}"),
            format!("{input}."),
            format!("{input}.{signature}="),
            raw_token(
                Algorithm::HS256,
                &EncodingKey::from_secret(b"another-secret"),
                &hs256_header(),
                &claims(42),
            ),
        ] {
            assert_eq!(
                verify_hs256(&bad, SECRET),
                Err(SignatureError::BadSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_an_hs256_header_is_accepted_whatever_the_signature() {
        for (header, alg) in [
            (json!({"alg": "none", "typ": "JWT"}), "none"),
            (json!({"alg": "None"}), "None"),
            (json!({"alg": "NONE"}), "NONE"),
            (json!({"alg": "HS512", "typ": "JWT"}), "HS512"),
            (json!({"alg": "hs256"}), "hs256"),
            (json!({"typ": "JWT"}), ""),
            (json!({"alg": ["HS256"]}), r#"["HS256"]"#),
        ] {
            let refused = Err(SignatureError::UnsupportedAlgorithm(alg.into()));
            // Unsigned, as an `alg: none` token is, and with a valid HS256 signature.
            let bare = format!("{}.", unsigned(&header, &claims(42)));
            assert_eq!(verify_hs256(&bare, SECRET), refused, "{bare}");
            let signed = hs256(&header, &claims(42));
            assert_eq!(verify_hs256(&signed, SECRET), refused, "{signed}");
        }
        assert_eq!(
            SignatureError::UnsupportedAlgorithm("none".into()).to_string(),
            "unsupported algorithm \"none\": only HS256 is accepted"
        );
    }

    #[test]
    fn a_token_that_is_not_three_base64url_json_segments_is_malformed() {
        let token = hs256(&hs256_header(), &claims(42));
        let parts: Vec<&str> = token.split('.').collect();
        let header = URL_SAFE_NO_PAD.encode(hs256_header().to_string());
        let not_json = format!("{header}.{}", URL_SAFE_NO_PAD.encode("not json"));
        let not_json = format!(
            "{not_json}.{}",
            jsonwebtoken::crypto::sign(
                not_json.as_bytes(),
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256
            )
            .unwrap()
        );
        for bad in [
            String::new(),
            parts[0].to_string(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{token}.extra"),
            format!("!!!.{}.{}", parts[1], parts[2]),
            // Standard (not URL-safe) padding is not base64url.
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("{"), parts[1], parts[2]),
            not_json,
        ] {
            assert!(
                matches!(
                    verify_hs256(&bad, SECRET),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?}: {:?}",
                verify_hs256(&bad, SECRET)
            );
        }
    }

    #[test]
    fn a_token_is_accepted_until_the_leeway_past_its_exp_and_not_at_its_end() {
        let check = |now: u64, leeway: u64| {
            accept(&hs256_header(), claims(100), now, leeway, 3600).map(|c| c.sub)
        };
        assert_eq!(check(99, JWT_LEEWAY_SECONDS), Ok("alice".into()));
        assert_eq!(check(104, JWT_LEEWAY_SECONDS), Ok("alice".into()));
        assert_eq!(check(105, JWT_LEEWAY_SECONDS), Err("token expired".into()));
        assert_eq!(check(3600, JWT_LEEWAY_SECONDS), Err("token expired".into()));
        // With the defective leeway, half a minute later still passes.
        assert_eq!(check(129, DEFECTIVE_LEEWAY_SECONDS), Ok("alice".into()));
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
        let hs = hs256(&hs256_header(), &claims(now + 60));
        assert!(rsa.verify(&hs).is_err(), "an HS256 token passed an RSA key");
        assert!(PublicKey::from_pem(b"not a key").is_err());
    }

    /// The rules beyond the signature hold for public-key tokens as for HS256 (whose
    /// cases the `api` tests run through the whole gateway).
    #[test]
    fn a_public_key_token_follows_the_same_claim_and_header_rules() {
        let now = now_unix();
        let k = PublicKey::from_pem(&key("test-only-es256-public.pem")).unwrap();
        let es256 = private_key(Algorithm::ES256, "test-only-es256-private.pem");
        let check = |header: Value, claims: Value| {
            let token = raw_token(Algorithm::ES256, &es256, &header, &claims);
            let (header, claims) = k.verify(&token)?;
            accept(&header, claims, now, 5, DEFAULT_MAX_LIFETIME_SECONDS)
        };
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let claims = |extra: Value| {
            let mut c = claims(now + 60);
            for (name, value) in extra.as_object().unwrap() {
                c[name] = value.clone();
            }
            c
        };
        assert!(check(header.clone(), claims(json!({}))).is_ok());
        let crit = json!({"alg": "ES256", "crit": ["b64"], "b64": false});
        let err = check(crit, claims(json!({}))).unwrap_err();
        assert!(err.contains("[\"b64\"] critical"), "{err}");
        let err = check(header.clone(), claims(json!({"nbf": now + 3600}))).unwrap_err();
        assert!(err.contains("not valid before"), "{err}");
        let err = check(header.clone(), claims(json!({"iat": "x".repeat(100)}))).unwrap_err();
        assert!(err.contains("iat claim is") && err.len() < 200, "{err}");
        let mut no_exp = claims(json!({}));
        no_exp.as_object_mut().unwrap().remove("exp");
        let err = check(header.clone(), no_exp).unwrap_err();
        assert!(err.contains("no exp claim"), "{err}");
        let err = check(
            header,
            claims(json!({"exp": now + 2 * DEFAULT_MAX_LIFETIME_SECONDS})),
        )
        .unwrap_err();
        assert!(err.contains("longest token lifetime"), "{err}");
    }
}
