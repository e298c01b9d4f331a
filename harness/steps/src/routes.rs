//! Checks over every route in the gateway's route table
//! ([`qalens_engine::clients::routes::fetch_routes`]).

use std::collections::BTreeSet;

use cucumber::{then, when};

use super::StepResult;
use crate::world::{Credentials, Exchange, QaWorld, ScopedSweep};
use qalens_engine::checks::exchange::header;
use qalens_engine::clients::http::Target;
use qalens_engine::clients::raw::send_raw;
use qalens_engine::clients::routes::{Holding, fetch_routes, tokens_for_each_scope};

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
    world.scoped = ScopedSweep::default();
    Ok(())
}

#[when(
    expr = "the client calls every route in the gateway's route table with a token holding every other scope of the table"
)]
async fn call_every_route_other_scopes(world: &mut QaWorld) -> StepResult {
    call_every_route_holding(world, Holding::EveryOtherScope).await
}

#[when(
    expr = "the client calls every route in the gateway's route table with a token holding only near misses of the route's scope"
)]
async fn call_every_route_near_misses(world: &mut QaWorld) -> StepResult {
    call_every_route_holding(world, Holding::NearMisses).await
}

/// Calls every route of the table with a valid token per route that must not pass it,
/// holding what `holding` says, and keeps what each presented ([`ScopedSweep`]).
async fn call_every_route_holding(world: &mut QaWorld, holding: Holding) -> StepResult {
    let ctx = world.ctx()?;
    let routes = fetch_routes(&ctx).await?;
    let tokens =
        tokens_for_each_scope(&ctx.endpoints.identity, world.client()?, &routes, holding).await?;
    let mut batch = vec![];
    let mut presented = vec![];
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
                Some(&token.authorization),
                body,
            );
            batch.push(ex.await?);
            presented.push((route.scope.clone(), token.scope.clone()));
        }
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    world.scoped = ScopedSweep {
        fault: match holding {
            Holding::EveryOtherScope => {
                "the gateway does not check the route's own scope (or only part of it, such as \
                 the resource before `:`): a token holding only other scopes of the table passes"
            }
            Holding::NearMisses => {
                "the gateway compares scopes loosely (by prefix, by substring or by the resource \
                 before `:`): a token holding only near misses of the route's scope passes"
            }
        },
        presented,
    };
    Ok(())
}

/// Fails unless the last sweep called some route and every answer satisfies `ok`;
/// `broke` says what the others did ("did not answer 403"). After a scoped sweep, the
/// first line blames what a 2xx shows ([`ScopedSweep::fault`]) and each exchange says the
/// scopes its token held; when the client presented a fixed token (a hostile one), the
/// message shows its header and claims, decoded.
fn every_route(world: &QaWorld, broke: &str, ok: impl Fn(&Exchange) -> bool) -> StepResult {
    if world.batch.is_empty() {
        return Err("no route was called".into());
    }
    let scoped = (world.scoped.presented.len() == world.batch.len()).then_some(&world.scoped);
    let shown = |i: usize, e: &Exchange| match scoped {
        Some(s) => {
            let (needs, holding) = &s.presented[i];
            format!("with a token holding the scopes {holding:?} (the route needs {needs:?}):\n{e}")
        }
        None => e.to_string(),
    };
    let bad: Vec<(usize, &Exchange)> = world
        .batch
        .iter()
        .enumerate()
        .filter(|(_, e)| !ok(e))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let n = world.batch.len();
    let (passed, other): (Vec<_>, Vec<_>) = bad
        .iter()
        .partition(|(_, e)| (200..300).contains(&e.status));
    let mut lines = vec![];
    match scoped {
        Some(s) if !passed.is_empty() => {
            lines.push(format!(
                "{} of {n} routes answered 2xx: {}",
                passed.len(),
                s.fault
            ));
            lines.extend(passed.iter().map(|(i, e)| shown(*i, e)));
            if !other.is_empty() {
                lines.push(format!("and {} of {n} routes {broke}:", other.len()));
                lines.extend(other.iter().map(|(i, e)| shown(*i, e)));
            }
        }
        _ => {
            let presented = match world.client.as_ref().map(|c| &c.credentials) {
                Some(Credentials::Raw(value)) => qalens_engine::tokens::decoded(value)
                    .map(|t| format!(" with the token it presented ({t})"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            lines.push(format!("{} of {n} routes {broke}{presented}:", bad.len()));
            lines.extend(bad.iter().map(|(i, e)| shown(*i, e)));
        }
    }
    Err(lines.join("\n").into())
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

    fn answer(path: &str, status: u16) -> Exchange {
        Exchange::get_answered(format!("http://127.0.0.1:8080{path}"), status)
    }

    /// After the near-miss sweep, a route that let a near miss through is blamed on the
    /// loose scope comparison in the first line, with the token's scopes; a route that
    /// answered another refusal than 403 is listed after it.
    #[test]
    fn a_scoped_sweep_blames_what_a_2xx_shows_and_names_the_tokens_scopes() {
        let mut world = QaWorld::new();
        world.batch = vec![
            answer("/admin", 200),
            answer("/carts", 401),
            answer("/catalog", 403),
        ];
        world.scoped = ScopedSweep {
            fault: "the gateway compares scopes loosely (by prefix, by substring or by the \
                    resource before `:`): a token holding only near misses of the route's scope \
                    passes",
            presented: vec![
                ("admin".into(), "admi adminx".into()),
                ("carts:read".into(), "carts:rea carts:readx".into()),
                ("catalog:read".into(), "catalog:rea catalog:readx".into()),
            ],
        };
        let e = every_route(&world, "did not answer 403", |e| e.status == 403)
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines[0],
            "1 of 3 routes answered 2xx: the gateway compares scopes loosely (by prefix, by \
             substring or by the resource before `:`): a token holding only near misses of the \
             route's scope passes"
        );
        assert_eq!(
            lines[1],
            "with a token holding the scopes \"admi adminx\" (the route needs \"admin\"):"
        );
        assert!(e.contains("and 1 of 3 routes did not answer 403:"), "{e}");
        assert!(!e.contains("/catalog"), "{e}");

        // Without a scoped sweep, the message is as it was.
        world.scoped = ScopedSweep::default();
        let e = every_route(&world, "did not answer 403", |e| e.status == 403)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("2 of 3 routes did not answer 403:\n"), "{e}");
    }
}
