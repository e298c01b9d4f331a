//! Checks over every route in the gateway's route table
//! ([`qalens_engine::clients::routes::fetch_routes`]).

use std::collections::BTreeSet;

use cucumber::{then, when};

use super::StepResult;
use crate::world::{Credentials, Exchange, QaWorld};
use qalens_engine::checks::exchange::header;
use qalens_engine::clients::http::Target;
use qalens_engine::clients::raw::send_raw;
use qalens_engine::clients::routes::{fetch_routes, tokens_lacking_each_scope};

#[when(expr = "the client calls every route in the gateway's route table")]
async fn call_every_route(world: &mut QaWorld) -> StepResult {
    let calls = fetch_routes(&*world.ctx()?)
        .await?
        .into_iter()
        .flat_map(|r| r.methods.into_iter().map(move |m| (m, r.prefix.clone())))
        .collect();
    call_as_client(world, calls).await
}

/// Every distinct route prefix of the table, called once with `method` whatever methods
/// the route lists: a method the table does not route (HEAD, OPTIONS) must be refused as
/// well as the routed ones, never slip past authentication.
#[when(expr = "the client calls every route in the gateway's route table with the method {word}")]
async fn call_every_route_with(world: &mut QaWorld, method: String) -> StepResult {
    let prefixes: BTreeSet<String> = fetch_routes(&*world.ctx()?)
        .await?
        .into_iter()
        .map(|r| r.prefix)
        .collect();
    let calls = prefixes.into_iter().map(|p| (method.clone(), p)).collect();
    call_as_client(world, calls).await
}

/// Sends each `(method, path)` through the front door with the client's credentials (an
/// empty JSON object as the body of a method that carries one) and keeps the answers as
/// the batch.
async fn call_as_client(world: &mut QaWorld, calls: Vec<(String, String)>) -> StepResult {
    let mut batch = vec![];
    for (method, path) in calls {
        let mut call = world.call(&method, Target::FrontDoor, &path)?;
        if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            call = call.json(&serde_json::json!({}))?;
        }
        batch.push(call.send().await?);
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

#[when(
    expr = "the client calls every route in the gateway's route table with a token holding every other scope of the table"
)]
async fn call_every_route_other_scopes(world: &mut QaWorld) -> StepResult {
    let ctx = world.ctx()?;
    let routes = fetch_routes(&ctx).await?;
    let tokens =
        tokens_lacking_each_scope(&ctx.endpoints.identity, world.client()?, &routes).await?;
    let mut batch = vec![];
    for route in &routes {
        let token = &tokens[&route.scope];
        for method in &route.methods {
            let body = (method != "GET").then_some("{}");
            let ex = send_raw(
                &ctx,
                &world.mark,
                Target::FrontDoor,
                method,
                &route.prefix,
                Some(token),
                body,
            );
            batch.push(ex.await?);
        }
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

/// Fails unless the last sweep called some route and every answer satisfies `ok`;
/// `broke` says what the others did ("answered 2xx"). When the client presented a fixed
/// token (a hostile one), the message shows its header and claims, decoded.
fn every_route(world: &QaWorld, broke: &str, ok: impl Fn(&Exchange) -> bool) -> StepResult {
    if world.batch.is_empty() {
        return Err("no route was called".into());
    }
    let bad: Vec<String> = world
        .batch
        .iter()
        .filter(|e| !ok(e))
        .map(|e| e.to_string())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        let presented = match world.client.as_ref().map(|c| &c.credentials) {
            Some(Credentials::Raw(value)) => qalens_engine::tokens::decoded(value)
                .map(|t| format!(" with the token it presented ({t})"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        Err(format!(
            "{} of {} routes {broke}{presented}:\n{}",
            bad.len(),
            world.batch.len(),
            bad.join("\n")
        )
        .into())
    }
}

#[then(expr = "no route answered 2xx")]
async fn no_route_2xx(world: &mut QaWorld) -> StepResult {
    every_route(world, "answered 2xx", |e| !(200..300).contains(&e.status))
}

#[then(expr = "every route answered 401 with a WWW-Authenticate challenge")]
async fn every_route_401(world: &mut QaWorld) -> StepResult {
    every_route(world, "did not answer 401 with a Bearer challenge", |e| {
        e.status == 401 && header(e, "www-authenticate").is_some_and(|v| v.starts_with("Bearer"))
    })
}

#[then(expr = "every route answered 403")]
async fn every_route_403(world: &mut QaWorld) -> StepResult {
    every_route(world, "did not answer 403", |e| e.status == 403)
}
