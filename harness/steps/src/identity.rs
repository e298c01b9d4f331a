//! Identity and tokens: who the scenario acts as and what credentials it presents.

use contract_tools::jwt::Tier;
use cucumber::given;

use super::StepResult;
use crate::StepError;
use crate::packs::default_scopes;
use crate::world::{Client, Credentials, QaWorld};
use qalens_engine::tokens::{Abuse, TOKEN_TTL, TimeClaim, now};

/// Gets the valid token of the scenario's client ready (a token command runs here, as an
/// async child process), so that the requests that present it find it already fetched.
async fn fetch_token(world: &QaWorld) -> StepResult {
    let Some(client) = &world.client else {
        return Ok(());
    };
    if !matches!(client.credentials, Credentials::Valid) {
        return Ok(());
    }
    let issuer = world.ctx()?.endpoints.identity.clone();
    issuer.valid(&client.who(), now() + TOKEN_TTL).await?;
    Ok(())
}

fn parse_tier(tier: &str) -> Result<Tier, StepError> {
    match tier {
        "free" => Ok(Tier::Free),
        "paid" => Ok(Tier::Paid),
        other => Err(format!("tier {other:?} must be `free` or `paid`").into()),
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
        scope: default_scopes(&world.ctx()?.system),
        credentials: Credentials::Valid,
    };
    act_as(world, name, client);
    fetch_token(world).await
}

#[given(expr = "an admin client {string}")]
async fn an_admin_client(world: &mut QaWorld, name: String) -> StepResult {
    let client = Client {
        id: world.scoped(&name),
        tier: Tier::Paid,
        scope: format!("admin {}", default_scopes(&world.ctx()?.system)),
        credentials: Credentials::Valid,
    };
    act_as(world, name, client);
    fetch_token(world).await
}

#[given(expr = "the client's token has only the scope {string}")]
async fn only_scope(world: &mut QaWorld, scope: String) -> StepResult {
    let client = world.client.as_mut().ok_or("no client yet")?;
    client.scope = scope;
    fetch_token(world).await
}

#[given(
    regex = r"^the client presents (no token|a malformed token|an expired token|a token signed with the wrong key|an unsigned alg-none token|a tampered token|a valid token)$"
)]
async fn presents(world: &mut QaWorld, kind: String) -> StepResult {
    let issuer = world.ctx()?.endpoints.identity.clone();
    let client = world.client.clone().ok_or("no client yet")?;
    let abuse = |abuse| issuer.abused(&client.who(), abuse, TOKEN_TTL);
    let credentials = match kind.as_str() {
        "no token" => Credentials::None,
        "a valid token" => Credentials::Valid,
        "a malformed token" => Credentials::Raw("Bearer not.a-jwt".into()),
        "an expired token" => Credentials::Raw(abuse(Abuse::ExpiredAt(now().saturating_sub(60)))?),
        "a token signed with the wrong key" => Credentials::Raw(abuse(Abuse::WrongKey)?),
        "an unsigned alg-none token" => Credentials::Raw(abuse(Abuse::AlgNone)?),
        "a tampered token" => Credentials::Raw(abuse(Abuse::Tampered)?),
        other => return Err(format!("unknown credential kind {other:?}").into()),
    };
    world.client.as_mut().expect("checked above").credentials = credentials;
    fetch_token(world).await
}

#[given(expr = "the client presents a token that expired {int} second(s) ago")]
async fn presents_expired(world: &mut QaWorld, seconds: u64) -> StepResult {
    let issuer = world.ctx()?.endpoints.identity.clone();
    let client = world.client.as_mut().ok_or("no client yet")?;
    let exp = now()
        .checked_sub(seconds)
        .ok_or_else(|| format!("{seconds} s ago is before 1970"))?;
    client.credentials =
        Credentials::Raw(issuer.abused(&client.who(), Abuse::ExpiredAt(exp), 0)?);
    Ok(())
}

/// `count` of `unit` (`second(s)`, `minute(s)`, `hour(s)`, `day(s)`, `year(s)` of 365
/// days) in seconds.
fn seconds_of(count: &str, unit: &str) -> Result<u64, StepError> {
    let n: u64 = count
        .parse()
        .map_err(|e| format!("{count:?} is not a whole number of {unit}: {e}"))?;
    let per = match unit.trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 24 * 3600,
        "year" => 365 * 24 * 3600,
        other => {
            return Err(
                format!("{other:?} is not a unit: seconds, minutes, hours, days or years").into(),
            );
        }
    };
    n.checked_mul(per)
        .ok_or_else(|| format!("{count} {unit} is more seconds than a token can hold").into())
}

/// The Unix second `count` `unit`s from now, for a claim in the future.
fn from_now(count: &str, unit: &str) -> Result<u64, StepError> {
    now().checked_add(seconds_of(count, unit)?).ok_or_else(|| {
        format!("{count} {unit} from now is more seconds than a token can hold").into()
    })
}

/// Presents a hostile token for the client.
fn present_abuse(world: &mut QaWorld, abuse: Abuse) -> StepResult {
    let issuer = world.ctx()?.endpoints.identity.clone();
    let client = world.client.as_mut().ok_or("no client yet")?;
    client.credentials = Credentials::Raw(issuer.abused(&client.who(), abuse, TOKEN_TTL)?);
    Ok(())
}

#[given(
    regex = r"^the client presents a token that is not valid before (\d+) (seconds?|minutes?|hours?|days?|years?) from now$"
)]
async fn presents_not_yet_valid(world: &mut QaWorld, count: String, unit: String) -> StepResult {
    present_abuse(world, Abuse::NotBefore(from_now(&count, &unit)?))
}

#[given(
    regex = r"^the client presents a token issued (\d+) (seconds?|minutes?|hours?|days?|years?) in the future$"
)]
async fn presents_issued_ahead(world: &mut QaWorld, count: String, unit: String) -> StepResult {
    present_abuse(world, Abuse::IssuedAt(from_now(&count, &unit)?))
}

#[given(
    regex = r"^the client presents a token that expires in (\d+) (seconds?|minutes?|hours?|days?|years?)$"
)]
async fn presents_expiring_in(world: &mut QaWorld, count: String, unit: String) -> StepResult {
    present_abuse(world, Abuse::ExpiresAt(from_now(&count, &unit)?))
}

#[given(expr = "the client presents a token without an expiry")]
async fn presents_without_expiry(world: &mut QaWorld) -> StepResult {
    present_abuse(world, Abuse::NoExpiry)
}

#[given(expr = "the client presents a token whose crit header names an unknown extension")]
async fn presents_critical_extension(world: &mut QaWorld) -> StepResult {
    present_abuse(world, Abuse::CriticalExtension)
}

#[given(regex = r"^the client presents a token whose (nbf|iat|exp) claim is not a number$")]
async fn presents_claim_not_a_number(world: &mut QaWorld, claim: String) -> StepResult {
    present_abuse(world, Abuse::NotANumber(TimeClaim::parse(&claim)?))
}

/// A valid token for the client that differs from the one it presented before: the same
/// subject, tier and scopes, a later `exp`. A count kept per client (a rate limit) must
/// not start again with it. The token is kept (not minted again per request) until the
/// next credential step.
#[given(expr = "the client presents a fresh valid token")]
async fn presents_fresh(world: &mut QaWorld) -> StepResult {
    let issuer = world.ctx()?.endpoints.identity.clone();
    let client = world.client.clone().ok_or("no client yet")?;
    let before = match &client.credentials {
        Credentials::Raw(t) => Some(t.clone()),
        _ => {
            issuer.valid(&client.who(), now() + TOKEN_TTL).await?;
            issuer.presented(&client.who())?
        }
    };
    // A later exp each time round, until the token differs from the one before.
    for later in 1..=60 {
        let token = issuer
            .valid(&client.who(), now() + TOKEN_TTL + later)
            .await?
            .ok_or("this system's identity gives no tokens (anonymous)")?;
        if Some(&token) != before.as_ref() {
            world.client.as_mut().expect("checked above").credentials = Credentials::Raw(token);
            return Ok(());
        }
    }
    Err("this system's identity gives the client the same token every time: no fresh token to present".into())
}
