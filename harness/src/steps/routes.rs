//! Checks over every route in the gateway's route table
//! ([`crate::clients::routes::fetch_routes`]).

use cucumber::{then, when};

use super::StepResult;
use crate::checks::exchange::header;
use crate::clients::http::{Call, Target};
use crate::clients::routes::fetch_routes;
use crate::world::QaWorld;

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
