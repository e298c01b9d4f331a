//! Identity and tokens: who the scenario acts as and what credentials it presents.

use contract_tools::jwt::{self, Claims, Tier};
use cucumber::given;

use super::StepResult;
use crate::context;
use crate::world::{Client, Credentials, QaWorld};

use crate::tokens::{bearer, default_scopes, now};

/// A token lifetime long enough for any scenario (seconds).
const TOKEN_TTL: u64 = 3600;

pub(crate) fn claims(client: &Client, exp: u64) -> Claims {
    Claims {
        sub: client.id.clone(),
        tier: client.tier,
        scope: client.scope.clone(),
        exp,
    }
}

/// The Authorization header value the client presents, if any.
pub fn authorization(world: &QaWorld) -> Result<Option<String>, String> {
    let Some(client) = &world.client else {
        return Ok(None);
    };
    Ok(match &client.credentials {
        Credentials::None => None,
        Credentials::Raw(v) => Some(v.clone()),
        Credentials::Valid => {
            let ctx = context::current()?;
            let endpoints = &ctx.endpoints;
            // What the system file says its clients present: a static token as it is,
            // otherwise a JWT for this client signed with the file's secret.
            if let Some(token) = &endpoints.static_token {
                return Ok(Some(format!("Bearer {token}")));
            }
            let secret = endpoints.jwt_secret.clone();
            Some(bearer(
                &client.id,
                client.tier,
                &client.scope,
                now() + TOKEN_TTL,
                &secret,
            ))
        }
    })
}

fn parse_tier(tier: &str) -> Result<Tier, String> {
    match tier {
        "free" => Ok(Tier::Free),
        "paid" => Ok(Tier::Paid),
        other => Err(format!("tier {other:?} must be `free` or `paid`")),
    }
}

/// Makes `client` the scenario's client and remembers it under `name`.
fn act_as(world: &mut QaWorld, name: String, client: Client) {
    world.clients.insert(name, client.clone());
    world.client = Some(client);
}

#[given(expr = "a {word} client {string}")]
async fn a_client(world: &mut QaWorld, tier: String, name: String) -> StepResult {
    let client = Client {
        id: world.scoped(&name),
        tier: parse_tier(&tier)?,
        scope: default_scopes(&context::current()?.system),
        credentials: Credentials::Valid,
    };
    act_as(world, name, client);
    Ok(())
}

#[given(expr = "an admin client {string}")]
async fn an_admin_client(world: &mut QaWorld, name: String) -> StepResult {
    let client = Client {
        id: world.scoped(&name),
        tier: Tier::Paid,
        scope: format!("admin {}", default_scopes(&context::current()?.system)),
        credentials: Credentials::Valid,
    };
    act_as(world, name, client);
    Ok(())
}

#[given(expr = "the client's token has only the scope {string}")]
async fn only_scope(world: &mut QaWorld, scope: String) -> StepResult {
    let client = world.client.as_mut().ok_or("no client yet")?;
    client.scope = scope;
    Ok(())
}

#[given(
    regex = r"^the client presents (no token|a malformed token|an expired token|a token signed with the wrong key|an unsigned alg-none token|a valid token)$"
)]
async fn presents(world: &mut QaWorld, kind: String) -> StepResult {
    let secret = context::current()?.endpoints.jwt_secret.clone();
    let client = world.client.clone().ok_or("no client yet")?;
    let credentials = match kind.as_str() {
        "no token" => Credentials::None,
        "a valid token" => Credentials::Valid,
        "a malformed token" => Credentials::Raw("Bearer not.a-jwt".into()),
        "an expired token" => Credentials::Raw(bearer(
            &client.id,
            client.tier,
            &client.scope,
            now().saturating_sub(60),
            &secret,
        )),
        "a token signed with the wrong key" => Credentials::Raw(bearer(
            &client.id,
            client.tier,
            &client.scope,
            now() + TOKEN_TTL,
            "not-the-gateway-secret",
        )),
        "an unsigned alg-none token" => {
            let claims_json = serde_json::to_string(&claims(&client, now() + TOKEN_TTL))
                .map_err(|e| e.to_string())?;
            Credentials::Raw(format!(
                "Bearer {}",
                jwt::encode_with_header(r#"{"alg":"none","typ":"JWT"}"#, &claims_json, None)
            ))
        }
        other => return Err(format!("unknown credential kind {other:?}")),
    };
    world.client.as_mut().expect("checked above").credentials = credentials;
    Ok(())
}

#[given(expr = "the client presents a token that expired {int} second(s) ago")]
async fn presents_expired(world: &mut QaWorld, seconds: u64) -> StepResult {
    let secret = context::current()?.endpoints.jwt_secret.clone();
    let client = world.client.as_mut().ok_or("no client yet")?;
    let exp = now()
        .checked_sub(seconds)
        .ok_or_else(|| format!("{seconds} s ago is before 1970"))?;
    client.credentials =
        Credentials::Raw(bearer(&client.id, client.tier, &client.scope, exp, &secret));
    Ok(())
}
