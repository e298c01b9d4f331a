//! The bearer tokens the harness mints, in one place: the identity steps, the route sweep,
//! `qalens token` and the bench all sign HS256 tokens with the secret the gateways verify
//! with (`QALENS_JWT_SECRET`, or the topology's).

use contract_tools::jwt::{self, Claims, Tier};

/// The scopes a client gets unless a step narrows them: what the packs `system` enables
/// need ([`crate::packs::default_scopes`]).
pub fn default_scopes(system: &crate::system::System) -> String {
    crate::packs::default_scopes(system)
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A signed token for `sub` with `tier` and space-separated `scope`, valid until
/// `expires_at` (seconds since the epoch).
pub fn mint(sub: &str, tier: Tier, scope: &str, expires_at: u64, secret: &str) -> String {
    let claims = Claims {
        sub: sub.to_string(),
        tier,
        scope: scope.to_string(),
        exp: expires_at,
    };
    jwt::encode(&claims, secret.as_bytes())
}

/// The `Authorization` header value for [`mint`]'s token.
pub fn bearer(sub: &str, tier: Tier, scope: &str, expires_at: u64, secret: &str) -> String {
    format!("Bearer {}", mint(sub, tier, scope, expires_at, secret))
}
