//! Authentication at the edge: a valid HS256 bearer token (or, with a public key
//! configured, RS256/ES256) or a 401 with a Bearer challenge; a token is accepted up to
//! [`JWT_LEEWAY_SECONDS`] past its `exp`.

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
    if let Some(key) = &state.jwt_public_key {
        return key.verify(token, leeway);
    }
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

    /// The claims of `token` if it is signed by this key and not expired more than
    /// `leeway` seconds ago; the error is the 401's detail.
    fn verify(&self, token: &str, leeway: u64) -> Result<Claims, String> {
        let mut validation = jsonwebtoken::Validation::new(self.alg);
        validation.leeway = leeway;
        jsonwebtoken::decode::<Claims>(token, &self.key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired".to_string(),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => "bad signature".to_string(),
                _ => format!("invalid token: {e}"),
            })
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
            let claims = k.verify(&token(alg, private, now + 60), 5).unwrap();
            assert_eq!(claims.sub, "alice");
            assert_eq!(
                k.verify(&token(alg, private, now - 60), 5).unwrap_err(),
                "token expired"
            );
        }
        let rsa = PublicKey::from_pem(&key("test-only-rs256-public.pem")).unwrap();
        let es = token(Algorithm::ES256, "test-only-es256-private.pem", now + 60);
        assert!(
            rsa.verify(&es, 5).is_err(),
            "an ES256 token passed an RSA key"
        );
        let hs = contract_tools::jwt::encode(
            &Claims {
                sub: "alice".into(),
                tier: Tier::Free,
                scope: String::new(),
                exp: now + 60,
            },
            b"secret",
        );
        assert!(
            rsa.verify(&hs, 5).is_err(),
            "an HS256 token passed an RSA key"
        );
        assert!(PublicKey::from_pem(b"not a key").is_err());
    }
}
