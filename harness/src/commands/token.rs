//! `qalens token`: a bearer token the system's gateway accepts, for curl. It comes from
//! the system file's identity (`x-qalens.identity`), whichever mode: a JWT signed with its
//! secret or key, its static token, or what its token command prints.

use std::path::Path;

use anyhow::anyhow;

use crate::cli::{TierArg, TokenArgs};
use crate::exit::Exit;
use qalens_engine::tokens::{Issuer, Who, now};
use qalens_model::system::System;
use qalens_steps::packs::default_scopes;

pub(super) async fn token(args: TokenArgs) -> Exit {
    let TokenArgs {
        client,
        tier,
        scope,
        ttl,
        system,
    } = args;
    match issue(&client, tier, scope, ttl, system.file.as_deref()).await {
        Ok(token) => {
            println!("{token}");
            Exit::Passed
        }
        Err(e) => {
            eprintln!("qalens: {e}");
            Exit::NotRun
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
) -> anyhow::Result<String> {
    let system = System::load_or_reference(file)?;
    let scope = scope.unwrap_or_else(|| default_scopes(&system));
    let identity = system.qalens.identity.as_ref();
    let issuer = Issuer::from_system(identity, &system.dir, &system.file)
        .map_err(|e| anyhow!("{}: x-qalens.identity: {e}", system.file.display()))?;
    let who = Who {
        client,
        tier: tier.into(),
        scope: &scope,
    };
    let header = issuer.valid(&who, now() + ttl).await?;
    let header = header.ok_or_else(|| {
        anyhow!(
            "{} has no x-qalens.identity: its clients present no token",
            system.file.display()
        )
    })?;
    Ok(header
        .strip_prefix("Bearer ")
        .unwrap_or(&header)
        .to_string())
}
