//! HS256 JSON Web Tokens (RFC 7519), shared by the gateway (which verifies them) and the
//! harness (which mints them).
//!
//! Only one algorithm is accepted: HMAC-SHA256 with a shared secret. [`verify`] refuses
//! every token whose header `alg` is not exactly `"HS256"` (including `none`, `None` and
//! `HS512`), so an attacker cannot choose the algorithm. [`encode_with_header`] exists to
//! build such hostile tokens in tests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The only `alg` header value [`verify`] accepts.
pub const ALGORITHM: &str = "HS256";

/// The header [`encode`] writes.
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// A client's service tier; it selects the rate-limit quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Paid,
}

/// The claims the gateway reads from a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the client id (rate limits are counted per subject).
    pub sub: String,
    pub tier: Tier,
    /// Granted scopes, space-separated as in RFC 8693 (`"orders:read orders:write"`).
    pub scope: String,
    /// Expiry, in Unix seconds. The token is invalid from this second on.
    pub exp: u64,
}

impl Claims {
    /// Whether `scope` is one of the space-separated scopes granted (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split_whitespace().any(|s| s == scope)
    }
}

/// Why [`verify`] refused a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url segments of JSON, or claims missing or of the wrong type.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header names an algorithm other than `HS256` (or none at all).
    #[error("unsupported algorithm {0:?}: only HS256 is accepted")]
    UnsupportedAlgorithm(String),
    /// The signature does not match the header and payload under the secret.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is at or before the current time.
    #[error("token expired")]
    Expired,
}

/// Signs `claims` with HS256 under `secret`, with header `{"alg":"HS256","typ":"JWT"}`.
pub fn encode(claims: &Claims, secret: &[u8]) -> String {
    // Serializing a struct of strings and integers cannot fail.
    let claims_json = serde_json::to_string(claims).unwrap_or_default();
    encode_with_header(HEADER_JSON, &claims_json, Some(secret))
}

/// Builds a token from raw header and claims JSON, for tests and attacks: signed with
/// HS256 under `secret` when it is `Some` (whatever the header says), otherwise with an
/// empty signature (as an `alg: none` token has).
pub fn encode_with_header(header_json: &str, claims_json: &str, secret: Option<&[u8]>) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(claims_json)
    );
    let signature = match secret {
        Some(secret) => URL_SAFE_NO_PAD.encode(sign(signing_input.as_bytes(), secret)),
        None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

/// Checks `token` and returns its claims. `now_unix` is the current time in Unix seconds.
///
/// In order: three segments, a JSON header whose `alg` is exactly `HS256`, a signature
/// that matches (compared in constant time), claims that parse, and `exp > now_unix`.
pub fn verify(token: &str, secret: &[u8], now_unix: u64) -> Result<Claims, JwtError> {
    let (_header, claims) = verify_signature(token, secret)?;
    let claims: Claims =
        serde_json::from_value(claims).map_err(|e| JwtError::Malformed(format!("claims: {e}")))?;
    if claims.exp <= now_unix {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// Checks the form, the `alg` and the signature of `token` as [`verify`] does, and
/// returns its header and claims as JSON, their values unchecked: for a verifier that
/// applies its own rules to the claims (the gateway's time claims and `crit`).
pub fn verify_signature(
    token: &str,
    secret: &[u8],
) -> Result<(serde_json::Value, serde_json::Value), JwtError> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = segments[..] else {
        return Err(JwtError::Malformed(format!(
            "expected 3 dot-separated segments, found {}",
            segments.len()
        )));
    };

    let header: serde_json::Value = serde_json::from_slice(&decode_segment("header", header_b64)?)
        .map_err(|e| JwtError::Malformed(format!("header is not JSON: {e}")))?;
    let alg = match header.get("alg") {
        Some(serde_json::Value::String(alg)) => alg.clone(),
        Some(other) => return Err(JwtError::UnsupportedAlgorithm(other.to_string())),
        None => return Err(JwtError::UnsupportedAlgorithm(String::new())),
    };
    if alg != ALGORITHM {
        return Err(JwtError::UnsupportedAlgorithm(alg));
    }

    let signature = decode_segment("signature", signature_b64)?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    mac(secret)
        .chain_update(signing_input.as_bytes())
        .verify_slice(&signature)
        .map_err(|_| JwtError::BadSignature)?;

    let claims = serde_json::from_slice(&decode_segment("claims", claims_b64)?)
        .map_err(|e| JwtError::Malformed(format!("claims: {e}")))?;
    Ok((header, claims))
}

fn decode_segment(what: &str, segment: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| JwtError::Malformed(format!("{what} is not base64url: {e}")))
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` never fails for it.
    <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

fn sign(input: &[u8], secret: &[u8]) -> Vec<u8> {
    mac(secret)
        .chain_update(input)
        .finalize()
        .into_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret";
    const NOW: u64 = 1_700_000_000;

    fn claims() -> Claims {
        Claims {
            sub: "client-1".into(),
            tier: Tier::Free,
            scope: "orders:read orders:write".into(),
            exp: NOW + 60,
        }
    }

    fn claims_json() -> String {
        serde_json::to_string(&claims()).unwrap()
    }

    #[test]
    fn round_trips() {
        let token = encode(&claims(), SECRET);
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(verify(&token, SECRET, NOW), Ok(claims()));
    }

    #[test]
    fn header_is_hs256_jwt() {
        let token = encode(&claims(), SECRET);
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    }

    #[test]
    fn tier_and_claims_serialize_as_documented() {
        assert_eq!(serde_json::to_string(&Tier::Free).unwrap(), "\"free\"");
        assert_eq!(serde_json::to_string(&Tier::Paid).unwrap(), "\"paid\"");
        let json: serde_json::Value = serde_json::from_str(&claims_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "sub": "client-1",
                "tier": "free",
                "scope": "orders:read orders:write",
                "exp": NOW + 60,
            })
        );
    }

    #[test]
    fn has_scope_matches_whole_scopes_only() {
        let c = claims();
        assert!(c.has_scope("orders:read"));
        assert!(c.has_scope("orders:write"));
        assert!(!c.has_scope("orders"));
        assert!(!c.has_scope("payments:read"));
        assert!(!c.has_scope(""));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let token = encode(&claims(), SECRET);
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged.tier = Tier::Paid;
        forged.sub = "admin".into();
        forged.scope = "admin".into();
        let forged_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_string(&forged).unwrap());
        let tampered = format!("{}.{}.{}", parts[0], forged_b64, parts[2]);
        assert_eq!(verify(&tampered, SECRET, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let token = encode(&claims(), SECRET);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[0] ^= 1;
        let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(verify(&tampered, SECRET, NOW), Err(JwtError::BadSignature));
        let truncated = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig[..16]));
        assert_eq!(verify(&truncated, SECRET, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let token = encode(&claims(), b"another-secret");
        assert_eq!(verify(&token, SECRET, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn alg_none_without_signature_is_rejected() {
        for alg in ["none", "None", "NONE"] {
            let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
            let token = encode_with_header(&header, &claims_json(), None);
            assert!(token.ends_with('.'), "{token}");
            assert_eq!(
                verify(&token, SECRET, NOW),
                Err(JwtError::UnsupportedAlgorithm(alg.into()))
            );
        }
    }

    #[test]
    fn alg_none_with_valid_hs256_signature_is_rejected() {
        // Even a correct HMAC does not make a token with a non-HS256 header acceptable.
        let token = encode_with_header(r#"{"alg":"none"}"#, &claims_json(), Some(SECRET));
        assert_eq!(
            verify(&token, SECRET, NOW),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
    }

    #[test]
    fn hs512_header_is_rejected() {
        let token = encode_with_header(
            r#"{"alg":"HS512","typ":"JWT"}"#,
            &claims_json(),
            Some(SECRET),
        );
        assert_eq!(
            verify(&token, SECRET, NOW),
            Err(JwtError::UnsupportedAlgorithm("HS512".into()))
        );
    }

    #[test]
    fn missing_or_non_string_alg_is_rejected() {
        let token = encode_with_header(r#"{"typ":"JWT"}"#, &claims_json(), Some(SECRET));
        assert!(matches!(
            verify(&token, SECRET, NOW),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
        let token = encode_with_header(r#"{"alg":["HS256"]}"#, &claims_json(), Some(SECRET));
        assert!(matches!(
            verify(&token, SECRET, NOW),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn expiry_is_exclusive() {
        let token = encode(&claims(), SECRET);
        assert!(verify(&token, SECRET, NOW + 59).is_ok());
        assert_eq!(verify(&token, SECRET, NOW + 60), Err(JwtError::Expired));
        assert_eq!(verify(&token, SECRET, NOW + 3600), Err(JwtError::Expired));
    }

    #[test]
    fn wrong_segment_counts_are_malformed() {
        let token = encode(&claims(), SECRET);
        let parts: Vec<&str> = token.split('.').collect();
        for bad in [
            String::new(),
            parts[0].to_string(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{token}.extra"),
        ] {
            assert!(
                matches!(verify(&bad, SECRET, NOW), Err(JwtError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_base64_is_malformed() {
        let token = encode(&claims(), SECRET);
        let parts: Vec<&str> = token.split('.').collect();
        for bad in [
            format!("!!!.{}.{}", parts[1], parts[2]),
            format!("{}.{}.{}", parts[0], parts[1], "sig*"),
            // Standard (not URL-safe) alphabet and padding are not base64url.
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        ] {
            assert!(
                matches!(verify(&bad, SECRET, NOW), Err(JwtError::Malformed(_))),
                "{bad:?}"
            );
        }
        // Bad base64 in the claims of a correctly signed token.
        let input = format!("{}.%%%", URL_SAFE_NO_PAD.encode(HEADER_JSON));
        let sig = URL_SAFE_NO_PAD.encode(sign(input.as_bytes(), SECRET));
        assert!(matches!(
            verify(&format!("{input}.{sig}"), SECRET, NOW),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn non_json_is_malformed() {
        let token = encode_with_header("not json", &claims_json(), Some(SECRET));
        assert!(matches!(
            verify(&token, SECRET, NOW),
            Err(JwtError::Malformed(_))
        ));
        let token = encode_with_header(HEADER_JSON, "not json", Some(SECRET));
        assert!(matches!(
            verify(&token, SECRET, NOW),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn claims_with_wrong_shape_are_malformed() {
        for claims in [
            r#"{"sub":"a","tier":"gold","scope":"","exp":9999999999}"#,
            r#"{"sub":"a","tier":"free","scope":""}"#,
            r#"{"sub":"a","tier":"free","scope":"","exp":"soon"}"#,
        ] {
            let token = encode_with_header(HEADER_JSON, claims, Some(SECRET));
            assert!(
                matches!(verify(&token, SECRET, NOW), Err(JwtError::Malformed(_))),
                "{claims}"
            );
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(
            JwtError::UnsupportedAlgorithm("none".into()).to_string(),
            "unsupported algorithm \"none\": only HS256 is accepted"
        );
        assert_eq!(JwtError::Expired.to_string(), "token expired");
    }
}
