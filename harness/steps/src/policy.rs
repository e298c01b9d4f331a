//! Rate-limit policies the system file declares (`x-qalens.rate_limits`): the limit and
//! window come from the policy that covers the route, not from a number in the feature,
//! so a feature states the promise ("the declared limit") and the file says what it is.
//!
//! The policy's `per` says whose count a scenario uses: `client` counts per token subject,
//! and every scenario has a client of its own; `path` counts per request path, so a
//! scenario that uses its own path under a route ending in `/` starts fresh; `ip` and
//! `global` share one count with every scenario on the route (run such scenarios
//! `@serial`, and a refusal before the limit says so).

use std::time::Duration;

use cucumber::{then, when};

use super::StepResult;
use crate::StepError;
use crate::batch::replica_of;
use crate::world::{Exchange, QaWorld, hinted};
use qalens_engine::checks::exchange::{header, param, retry_after, sf_params};
use qalens_engine::clients::http::Target;
use qalens_engine::context::RunContext;
use qalens_model::system::{LimitKey, RateLimit};

/// The most requests a declared limit may ask a scenario to send.
const MOST: u64 = 10_000;

/// The declared policy of `method path`, or an error naming what the file declares.
fn policy(ctx: &RunContext, method: &str, path: &str) -> Result<RateLimit, StepError> {
    let limits = &ctx.system.qalens.rate_limits;
    RateLimit::find(limits, method, path)
        .cloned()
        .ok_or_else(|| {
            let routes: Vec<&str> = limits.iter().map(|l| l.route.as_str()).collect();
            format!(
            "no rate-limit policy in x-qalens.rate_limits covers {method} {path} (declared: {})",
            if routes.is_empty() {
                "none".to_string()
            } else {
                routes.join(", ")
            }
        )
        .into()
        })
}

fn limit_of(p: &RateLimit) -> Result<u64, StepError> {
    p.limit
        .value()
        .filter(|n| (1..=MOST).contains(n))
        .ok_or_else(|| format!("the limit of {} must be 1 to {MOST}", p.route).into())
}

/// `GET /x` of an exchange: its method and its URL's path and query.
fn route_of(e: &Exchange) -> Result<(String, String), StepError> {
    let url = reqwest::Url::parse(&e.url).map_err(|err| format!("{}: {err}", e.url))?;
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path = format!("{path}?{q}");
    }
    Ok((e.method.clone(), path))
}

/// `GET /limited/fixed's declared limit (5 per 60 s, per client)`.
fn describe(p: &RateLimit) -> String {
    format!(
        "{}'s declared limit ({} per {} s, per {})",
        p.route,
        p.limit.value().unwrap_or_default(),
        p.window().as_secs_f64(),
        p.per.name()
    )
}

#[when(expr = "the client sends the declared limit of {word} requests to {string}")]
async fn sends_declared_limit(world: &mut QaWorld, method: String, path: String) -> StepResult {
    send_declared_limit(world, &method, &path, Target::FrontDoor).await
}

/// The same, one after another, straight to one replica: the limit one replica enforces
/// on its own, whichever replica the entry point would pick.
#[when(
    expr = "the client sends the declared limit of {word} requests to {string} on gateway replica {int}"
)]
async fn sends_declared_limit_on(
    world: &mut QaWorld,
    method: String,
    path: String,
    replica: usize,
) -> StepResult {
    send_declared_limit(world, &method, &path, Target::Replica(replica)).await
}

/// Sends the declared limit of `method path` to `target`, one after another, as the batch.
async fn send_declared_limit(
    world: &mut QaWorld,
    method: &str,
    path: &str,
    target: Target,
) -> StepResult {
    let p = policy(&*world.ctx()?, method, path)?;
    let n = limit_of(&p)?;
    if p.per == LimitKey::Client {
        world.client()?;
    }
    let call = world.call(method, target, path)?;
    let mut batch = Vec::with_capacity(n as usize);
    for _ in 0..n {
        batch.push(call.send().await?);
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

#[then(expr = "each of them succeeded")]
async fn each_succeeded(world: &mut QaWorld) -> StepResult {
    let first = world
        .batch
        .first()
        .ok_or("no request was sent before this step")?;
    let (method, path) = route_of(first)?;
    let p = policy(&*world.ctx()?, &method, &path)?;
    let n = world.batch.len();
    let Some((i, refused)) = world
        .batch
        .iter()
        .enumerate()
        .find(|(_, e)| !(200..300).contains(&e.status))
    else {
        return Ok(());
    };
    let shared = match p.per {
        LimitKey::Client | LimitKey::Path => String::new(),
        per => format!(
            " (the count is per {}: every scenario on {} shares it; run them @serial)",
            per.name(),
            p.route
        ),
    };
    let hint = world.refused_hint(world.client.as_ref(), std::slice::from_ref(refused));
    let message = format!(
        "request {} of {n} answered {}, within {}{shared}\n{refused}",
        i + 1,
        refused.status,
        describe(&p)
    );
    Err(hinted(message, hint).into())
}

#[when(expr = "the client sends one more such request")]
async fn one_more(world: &mut QaWorld) -> StepResult {
    one_more_to(world, None).await
}

/// One more request of the batch's method to another route, inside that route's window.
#[when(expr = "the client sends one more such request, to {string}")]
async fn one_more_elsewhere(world: &mut QaWorld, path: String) -> StepResult {
    one_more_to(world, Some(path)).await
}

/// Sends one more request like the batch's first, where it went (the entry point, or
/// the one replica the batch went to), to `path` if given (its route's declared policy
/// then sets the window), and refuses a verdict when the batch and this request did not
/// all fall within that window.
async fn one_more_to(world: &mut QaWorld, path: Option<String>) -> StepResult {
    let first = world
        .batch
        .first()
        .cloned()
        .ok_or("no request was sent before this step")?;
    let (method, batch_path) = route_of(&first)?;
    let path = path.unwrap_or(batch_path);
    let ctx = world.ctx()?;
    let p = policy(&ctx, &method, &path)?;
    let target = match replica_of(&ctx.endpoints.gateways, &first) {
        Some(k)
            if world
                .batch
                .iter()
                .all(|e| replica_of(&ctx.endpoints.gateways, e) == Some(k)) =>
        {
            Target::Replica(k)
        }
        _ => Target::FrontDoor,
    };
    let call = world.call(&method, target, &path)?;
    let e = call.send().await?;
    // A window that ended while the batch was sent would let this request through
    // rightly (or, on another route, leave the batch out of its count): that is no
    // verdict either way, so the step says so instead.
    let took = e.sent_at.duration_since(first.sent_at);
    if took >= p.window() {
        return Err(format!(
            "the requests took {:.1} s, not less than the declared window of {:.1} s of {}: \
             the count may have started again, so no verdict (the machine is too loaded)",
            took.as_secs_f64(),
            p.window().as_secs_f64(),
            p.route
        )
        .into());
    }
    world.batch.push(e.clone());
    world.last = Some(e);
    Ok(())
}

#[then(expr = "the response is a well-formed 429 for the declared policy")]
async fn well_formed_429(world: &mut QaWorld) -> StepResult {
    let e = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    let (method, path) = route_of(e)?;
    let p = policy(&*world.ctx()?, &method, &path)?;
    let sent = world.batch.len();
    if e.status != 429 {
        return Err(format!(
            "request {sent} should have got 429 once {} was used up, got {}\n{e}",
            describe(&p),
            e.status
        )
        .into());
    }
    let window = p.window().max(Duration::from_secs(1)).as_secs_f64().ceil() as u64;
    let secs = retry_after(e)?;
    if secs > window {
        return Err(format!(
            "Retry-After: {secs} is longer than the declared window of {window} s\n{e}"
        )
        .into());
    }
    // RateLimit headers are optional; when the system sends them they must tell the
    // declared policy.
    if let Some(policy) = header(e, "ratelimit-policy") {
        let want = (p.limit.value().unwrap_or_default(), window);
        let (q, w) = match sf_params(policy) {
            Some((_, params)) => (param(&params, "q"), param(&params, "w")),
            None => (None, None),
        };
        if (q, w) != (Some(want.0), Some(want.1)) {
            return Err(format!(
                "RateLimit-Policy: {policy:?} does not say the declared q={};w={}\n{e}",
                want.0, want.1
            )
            .into());
        }
    }
    Ok(())
}
