//! The gateway's route table, read from the system file (`x-qalens.routes`) or else from
//! the gateway itself, and checks over every route.

use contract_tools::jwt::Tier;
use cucumber::{then, when};
use serde::Deserialize;

use super::StepResult;
use super::http::{Call, Target, header};
use crate::clients::inspect::get_json_with as inspect_with;
use crate::context;
use crate::world::QaWorld;

/// A route as the gateway serves it on `/admin/routes`.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    pub prefix: String,
    pub methods: Vec<String>,
    pub scope: String,
}

#[derive(Debug, Deserialize)]
struct Table {
    routes: Vec<Route>,
}

/// The routes to sweep: the protected routes the system file documents
/// (`x-qalens.routes`, public ones left out) or, when it documents none, the gateway's
/// own table, read through the front door with a harness-minted admin token.
pub async fn fetch_routes() -> Result<Vec<Route>, String> {
    let ctx = context::current()?;
    if !ctx.endpoints.routes.is_empty() {
        let routes: Vec<Route> = ctx
            .endpoints
            .routes
            .iter()
            .filter(|r| !r.public)
            .map(|r| Route {
                prefix: r.path.clone(),
                methods: vec![r.method.clone()],
                scope: String::new(),
            })
            .collect();
        if routes.is_empty() {
            return Err("every route in x-qalens.routes is public: none to sweep".into());
        }
        return Ok(routes);
    }
    let token = crate::tokens::bearer(
        "qalens-harness",
        Tier::Paid,
        "admin",
        u64::MAX / 2,
        &ctx.endpoints.jwt_secret,
    );
    let table: Table = inspect_with(
        format!("{}/admin/routes", ctx.endpoints.gateway),
        Some(token),
    )
    .await?;
    if table.routes.is_empty() {
        return Err("the gateway's route table is empty".into());
    }
    Ok(table.routes)
}

#[when(expr = "the client calls every route in the gateway's route table")]
async fn call_every_route(world: &mut QaWorld) -> StepResult {
    let routes = fetch_routes().await?;
    let mut batch = vec![];
    for route in routes {
        for method in &route.methods {
            let mut call = Call::new(world, method, Target::FrontDoor, &route.prefix)?;
            if method != "GET" {
                call = call.json(&serde_json::json!({}))?;
            }
            batch.push(call.send().await?);
        }
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

#[then(expr = "every route answered 401 with a WWW-Authenticate challenge")]
async fn every_route_401(world: &mut QaWorld) -> StepResult {
    let bad: Vec<String> = world
        .batch
        .iter()
        .filter(|e| {
            e.status != 401
                || header(e, "www-authenticate").is_none_or(|v| !v.starts_with("Bearer"))
        })
        .map(|e| e.to_string())
        .collect();
    if world.batch.is_empty() {
        return Err("no route was called".into());
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} routes did not answer 401 with a Bearer challenge:\n{}",
            bad.len(),
            world.batch.len(),
            bad.join("\n")
        ))
    }
}

#[then(expr = "every route answered 403")]
async fn every_route_403(world: &mut QaWorld) -> StepResult {
    if world.batch.is_empty() {
        return Err("no route was called".into());
    }
    let bad: Vec<String> = world
        .batch
        .iter()
        .filter(|e| e.status != 403)
        .map(|e| e.to_string())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} routes did not answer 403:\n{}",
            bad.len(),
            world.batch.len(),
            bad.join("\n")
        ))
    }
}
