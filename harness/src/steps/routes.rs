//! Checks over every route in the gateway's route table
//! ([`crate::clients::routes::fetch_routes`]).

use std::collections::BTreeSet;

use cucumber::{then, when};

use super::StepResult;
use crate::checks::exchange::header;
use crate::clients::http::{Call, Target};
use crate::clients::routes::fetch_routes;
use crate::tokens::{TOKEN_TTL, now, who};
use crate::world::{Credentials, Exchange, QaWorld};

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

/// Every distinct route prefix of the table, called once with `method` whatever methods
/// the route lists: a method the table does not route (HEAD, OPTIONS) must be refused as
/// well as the routed ones, never slip past authentication.
#[when(expr = "the client calls every route in the gateway's route table with the method {word}")]
async fn call_every_route_with(world: &mut QaWorld, method: String) -> StepResult {
    let mut prefixes: Vec<String> = fetch_routes()
        .await?
        .into_iter()
        .map(|r| r.prefix)
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let mut batch = vec![];
    for prefix in prefixes {
        batch.push(
            Call::new(world, &method, Target::FrontDoor, &prefix)?
                .send()
                .await?,
        );
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

/// Scopes that are not `scope` but look like it to a sloppy comparison: it cut short by
/// one character and it extended by one.
fn near_misses(scope: &str) -> [String; 2] {
    let mut cut = scope.to_string();
    cut.pop();
    [cut, format!("{scope}x")]
}

/// The token's scope for a call to a route that needs `scope`: every other scope the
/// table names and the near misses of `scope`, never `scope` itself.
fn every_other_scope(all: &BTreeSet<String>, scope: &str) -> String {
    all.iter()
        .filter(|s| s.as_str() != scope)
        .cloned()
        .chain(
            near_misses(scope)
                .into_iter()
                .filter(|s| !s.is_empty() && !all.contains(s)),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

#[when(
    expr = "the client calls every route in the gateway's route table with a token holding every other scope of the table"
)]
async fn call_every_route_other_scopes(world: &mut QaWorld) -> StepResult {
    let routes = fetch_routes().await?;
    if let Some(r) = routes.iter().find(|r| r.scope.is_empty()) {
        return Err(format!(
            "the route table names no scope for {}: this step needs the gateway's own table (x-qalens.routes documents no scopes)",
            r.prefix
        ));
    }
    let all: BTreeSet<String> = routes.iter().map(|r| r.scope.clone()).collect();
    let saved = world.client.clone().ok_or("no client yet")?;
    let issuer = crate::context::current()?.endpoints.identity.clone();
    let mut batch = vec![];
    let mut outcome = Ok(());
    for route in &routes {
        let mut narrowed = saved.clone();
        narrowed.scope = every_other_scope(&all, &route.scope);
        // Fetched here (a token command runs as an async child), presented as is.
        let token = match issuer.valid(&who(&narrowed), now() + TOKEN_TTL).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                outcome = Err("this system's identity gives no tokens (anonymous)".into());
                break;
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        };
        narrowed.credentials = Credentials::Raw(token);
        world.client = Some(narrowed);
        for method in &route.methods {
            let call = Call::new(world, method, Target::FrontDoor, &route.prefix).and_then(|c| {
                if method == "GET" {
                    Ok(c)
                } else {
                    c.json(&serde_json::json!({}))
                }
            });
            match call {
                Ok(c) => match c.send().await {
                    Ok(ex) => batch.push(ex),
                    Err(e) => outcome = Err(e),
                },
                Err(e) => outcome = Err(e),
            }
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_err() {
            break;
        }
    }
    world.client = Some(saved);
    outcome?;
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

/// Fails unless the last sweep called some route and every answer satisfies `ok`;
/// `broke` says what the others did ("answered 2xx").
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
        Err(format!(
            "{} of {} routes {broke}:\n{}",
            bad.len(),
            world.batch.len(),
            bad.join("\n")
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_scopes_leave_out_the_routes_own_and_add_its_near_misses() {
        let all: BTreeSet<String> = ["items:read", "items:write", "admin"]
            .map(String::from)
            .into();
        let scope = every_other_scope(&all, "items:write");
        let granted: BTreeSet<&str> = scope.split(' ').collect();
        assert_eq!(
            granted,
            ["admin", "items:read", "items:writ", "items:writex"].into()
        );
        // A near miss that is a real scope of the table is not added twice, and a
        // one-letter scope has no empty near miss.
        let all: BTreeSet<String> = ["ab", "abx", "b"].map(String::from).into();
        assert_eq!(every_other_scope(&all, "ab"), "abx b a");
        assert_eq!(every_other_scope(&all, "b"), "ab abx bx");
    }
}
