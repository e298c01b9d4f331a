//! Path confusion: raw-path rewrites of every route in the gateway's route table never
//! reach a route whose scope the token lacks, and never answer 2xx without a token.

use std::collections::BTreeSet;

use cucumber::{then, when};
use futures::StreamExt;

use crate::world::{Exchange, QaWorld};
use crate::{StepError, StepResult};
use qalens_engine::clients::http::Target;
use qalens_engine::clients::raw::send_raw;
use qalens_engine::clients::routes::{Route, fetch_routes, tokens_lacking_each_scope};

/// Raw requests in flight at once during a rewrite sweep.
const RAW_CONCURRENCY: usize = 8;

/// One raw path to try, and what it aims at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rewrite {
    pub method: String,
    /// Exactly what goes on the request line.
    pub path: String,
    /// The route the rewrite means (its prefix) and the scope that route needs.
    pub target: String,
    pub scope: String,
    /// Which trick, e.g. `dot segments via /limited/fixed`.
    pub kind: String,
}

/// Every rewrite of every route: for each route (the target) and method, rewrites that
/// mean the target but start under another route ("cover") whose scope differs, and
/// rewrites of the target's own path. A gateway that matches the raw path against its
/// prefixes, or decodes and normalises it after routing, lets one of them through.
pub(super) fn rewrites(routes: &[Route]) -> Vec<Rewrite> {
    // One cover per scope other than the target's is enough: the scope is what the
    // token has. A route without a scope (documented in the system file, not read from
    // the gateway) stands for its own: every other route covers it.
    let key = |r: &Route| match r.scope.is_empty() {
        true => r.prefix.clone(),
        false => r.scope.clone(),
    };
    let mut covers: Vec<&Route> = vec![];
    for r in routes {
        if !covers.iter().any(|c| key(c) == key(r)) {
            covers.push(r);
        }
    }
    let mut out = vec![];
    let mut seen = BTreeSet::new();
    for target in routes {
        let t = target.prefix.as_str();
        let t_rest = t.trim_start_matches('/');
        let mut paths: Vec<(String, String)> = vec![
            (format!("/.{t}"), "a leading dot segment".into()),
            (format!("/%2e{t}"), "an encoded leading dot segment".into()),
            (format!("/{t}"), "a leading doubled slash".into()),
            (t.replace('/', "//"), "doubled slashes".into()),
            (t.to_uppercase(), "upper case".into()),
            (format!("{t};"), "a `;` suffix".into()),
            (format!("{t};x=1"), "a `;` parameter".into()),
            (format!("{t}%00"), "a NUL suffix".into()),
            (format!("{t}/."), "a trailing dot segment".into()),
            (t.replace('/', "%2f"), "encoded slashes".into()),
            (t.replace('/', "\\"), "backslashes".into()),
        ];
        for cover in covers.iter().filter(|c| key(c) != key(target)) {
            let c = cover.prefix.as_str();
            let depth = c.split('/').filter(|s| !s.is_empty()).count();
            let via = |what: &str| format!("{what} via {c}");
            paths.extend([
                (
                    format!("{c}{}{t}", "/..".repeat(depth)),
                    via("dot segments"),
                ),
                (
                    format!("{c}{}{t}", "/%2e%2e".repeat(depth)),
                    via("encoded dot segments"),
                ),
                (
                    format!("{c}{}{t}", "/.%2E".repeat(depth)),
                    via("half-encoded dot segments"),
                ),
                (
                    format!(
                        "{c}{}%2f{}",
                        "%2f..".repeat(depth),
                        t_rest.replace('/', "%2f")
                    ),
                    via("encoded slashes"),
                ),
                (
                    format!("{c}{}{t}", "/..%2f".repeat(depth).trim_end_matches("%2f")),
                    via("dot segments ending in %2f"),
                ),
                (
                    format!("{c}{}\\{}", "\\..".repeat(depth), t_rest.replace('/', "\\")),
                    via("backslashes"),
                ),
                (
                    format!("{c}{}{t}", "%5c..".repeat(depth)),
                    via("encoded backslashes"),
                ),
                (
                    format!("{c};{}{t}", "/..".repeat(depth)),
                    via("a `;` then dot segments"),
                ),
                (
                    format!("{c}%00{}{t}", "/..".repeat(depth)),
                    via("a NUL then dot segments"),
                ),
                (
                    format!("{c}/{}{t}", "/..".repeat(depth)),
                    via("a doubled slash then dot segments"),
                ),
            ]);
        }
        for method in &target.methods {
            for (path, kind) in &paths {
                if seen.insert((method.clone(), path.clone())) {
                    out.push(Rewrite {
                        method: method.clone(),
                        path: path.clone(),
                        target: target.prefix.clone(),
                        scope: target.scope.clone(),
                        kind: kind.clone(),
                    });
                }
            }
        }
    }
    out
}

async fn sweep(world: &mut QaWorld, with_token: bool) -> StepResult {
    let client = world.client()?.clone();
    let ctx = world.ctx()?;
    let routes = fetch_routes(&ctx).await?;
    let rewrites = rewrites(&routes);
    let mark = &world.mark;
    let tokens = if with_token {
        tokens_lacking_each_scope(&ctx.endpoints.identity, &client, &routes).await?
    } else {
        std::collections::BTreeMap::new()
    };
    let results: Vec<Result<(String, Exchange), StepError>> = futures::stream::iter(rewrites)
        .map(|rw| {
            let auth = tokens.get(&rw.scope).cloned();
            let ctx = ctx.clone();
            async move {
                let body = (rw.method != "GET").then_some("{}");
                let ex = send_raw(
                    &ctx,
                    mark,
                    Target::FrontDoor,
                    &rw.method,
                    &rw.path,
                    auth.as_deref(),
                    body,
                )
                .await?;
                let label = format!(
                    "{} toward {} (needs scope {:?}; the token {})",
                    rw.kind,
                    rw.target,
                    rw.scope,
                    if auth.is_some() {
                        "lacks it"
                    } else {
                        "is absent"
                    }
                );
                Ok((label, ex))
            }
        })
        .buffered(RAW_CONCURRENCY)
        .collect()
        .await;
    let rewrites = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    world.batch = rewrites.iter().map(|(_, e)| e.clone()).collect();
    world.last = world.batch.last().cloned();
    world.rewrites = rewrites;
    Ok(())
}

#[when(
    expr = "the client sends path rewrites toward every route in the gateway's route table, each with a token lacking that route's scope"
)]
async fn sweep_lacking_scope(world: &mut QaWorld) -> StepResult {
    sweep(world, true).await
}

#[when(
    expr = "the client sends path rewrites toward every route in the gateway's route table without a token"
)]
async fn sweep_without_token(world: &mut QaWorld) -> StepResult {
    sweep(world, false).await
}

#[then(expr = "no rewrite answered 2xx")]
async fn no_rewrite_2xx(world: &mut QaWorld) -> StepResult {
    if world.rewrites.is_empty() {
        return Err("no rewrite was sent before this step".into());
    }
    let through: Vec<&(String, Exchange)> = world
        .rewrites
        .iter()
        .filter(|(_, e)| (200..300).contains(&e.status))
        .collect();
    if through.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = through
        .iter()
        .take(5)
        .map(|(label, e)| format!("- {label}:\n{e}"))
        .collect();
    Err(format!(
        "expected every one of {} path rewrites to be refused, but {} answered 2xx (first {} shown):\n{}",
        world.rewrites.len(),
        through.len(),
        shown.len(),
        shown.join("\n")
    ).into())
}

async fn raw_one(world: &mut QaWorld, target: Target, method: &str, path: &str) -> StepResult {
    let auth = world.authorization()?;
    let body = (method != "GET").then_some("{}");
    let ex = send_raw(
        &*world.ctx()?,
        &world.mark,
        target,
        method,
        path,
        auth.as_deref(),
        body,
    )
    .await?;
    world.batch = vec![ex.clone()];
    world.last = Some(ex);
    Ok(())
}

#[when(expr = "the client sends the raw request {word} {string}")]
async fn sends_raw(world: &mut QaWorld, method: String, path: String) -> StepResult {
    raw_one(world, Target::FrontDoor, &method, &path).await
}

/// Straight to a replica: the front door (nginx) refuses some paths itself, `%00` for
/// one, so this is how the gateway's own rule is seen.
#[when(expr = "the client sends the raw request {word} {string} to gateway replica {int}")]
async fn sends_raw_to_replica(
    world: &mut QaWorld,
    method: String,
    path: String,
    replica: usize,
) -> StepResult {
    raw_one(world, Target::Replica(replica), &method, &path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, methods: &[&str], scope: &str) -> Route {
        Route {
            prefix: prefix.into(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
            scope: scope.into(),
        }
    }

    fn table() -> Vec<Route> {
        vec![
            route("/carts", &["POST"], "carts:write"),
            route("/limited/fixed", &["GET"], "limited:read"),
            route("/limited/sliding", &["GET"], "limited:read"),
            route("/admin/routes", &["GET"], "admin"),
        ]
    }

    #[test]
    fn documented_routes_without_scopes_cover_one_another() {
        let documented = vec![
            route("/api/carts", &["GET"], ""),
            route("/api/export", &["GET"], ""),
        ];
        let paths: BTreeSet<String> = rewrites(&documented).into_iter().map(|r| r.path).collect();
        for expected in [
            "/api/carts/../../api/export",
            "/api/export/%2e%2e/%2e%2e/api/carts",
        ] {
            assert!(
                paths.contains(expected),
                "{expected} missing from {paths:?}"
            );
        }
    }

    #[test]
    fn rewrites_aim_at_every_route_through_every_other_scope() {
        let all = rewrites(&table());
        let paths: BTreeSet<&str> = all.iter().map(|r| r.path.as_str()).collect();
        for expected in [
            "/limited/fixed/../../admin/routes",
            "/limited/fixed/%2e%2e/%2e%2e/admin/routes",
            "/limited/fixed%2f..%2f..%2fadmin%2froutes",
            "/limited/fixed\\..\\..\\admin\\routes",
            "/limited/fixed;/../../admin/routes",
            "/limited/fixed%00/../../admin/routes",
            "//admin/routes",
            "/ADMIN/ROUTES",
            "/admin/routes;",
            "/carts/../limited/fixed",
        ] {
            assert!(paths.contains(expected), "{expected} missing");
        }
        // Never through a route with the target's own scope, and never twice.
        assert!(!paths.contains("/limited/sliding/../../limited/fixed"));
        assert_eq!(paths.len(), all.len());
        let post = all.iter().find(|r| r.target == "/carts").unwrap();
        assert_eq!(post.method, "POST");
        assert_eq!(post.scope, "carts:write");
    }
}
