//! `qalens token`: a bearer token the system's gateway accepts, for curl. It comes from
//! the system file's identity (`x-qalens.identity`), whichever mode: a JWT signed with its
//! secret or key, its static token, or what its token command prints.

use std::path::Path;

use crate::cli::TierArg;
use qalens_engine::tokens::{Issuer, Who, now};
use qalens_model::system::System;
use qalens_steps::packs::default_scopes;

pub async fn token(
    client: String,
    tier: TierArg,
    scope: Option<String>,
    ttl: u64,
    system: Option<&Path>,
) -> u8 {
    match issue(&client, tier, scope, ttl, system).await {
        Ok(token) => {
            println!("{token}");
            0
        }
        Err(e) => {
            eprintln!("qalens: {e}");
            2
        }
    }
}

/// The token (without `Bearer `) the system file's identity gives `client`.
async fn issue(
    client: &str,
    tier: TierArg,
    scope: Option<String>,
    ttl: u64,
    file: Option<&Path>,
) -> Result<String, String> {
    let system = System::load_or_reference(file).map_err(|e| e.to_string())?;
    let scope = scope.unwrap_or_else(|| default_scopes(&system));
    let identity = system.qalens.identity.as_ref();
    let issuer = Issuer::from_system(identity, &system.dir, &system.file)
        .map_err(|e| format!("{}: x-qalens.identity: {e}", system.file.display()))?;
    let who = Who {
        client,
        tier: tier.into(),
        scope: &scope,
    };
    let header = issuer.valid(&who, now() + ttl).await;
    let header = header.map_err(|e| e.to_string())?.ok_or_else(|| {
        format!(
            "{} has no x-qalens.identity: its clients present no token",
            system.file.display()
        )
    })?;
    Ok(header
        .strip_prefix("Bearer ")
        .unwrap_or(&header)
        .to_string())
}
