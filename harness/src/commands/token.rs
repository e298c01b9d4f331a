//! `qalens token`: a bearer token the gateways accept, for curl.

use crate::cli::TierArg;

pub fn token(client: String, tier: TierArg, scope: Option<String>, ttl: u64) -> u8 {
    let scope = scope.unwrap_or_else(|| {
        crate::system::System::reference()
            .map(|s| crate::tokens::default_scopes(&s))
            .unwrap_or_default()
    });
    let secret = crate::topology::jwt_secret_from_env();
    let expires_at = crate::tokens::now() + ttl;
    println!(
        "{}",
        crate::tokens::mint(&client, tier.into(), &scope, expires_at, &secret)
    );
    0
}
