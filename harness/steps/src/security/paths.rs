//! Path confusion: raw-path rewrites of every route in the gateway's route table never
//! reach a route whose scope the token lacks, and never answer 2xx without a token.
//!
//! The sweep also sends each route's own path, not rewritten, with the same credentials:
//! a route that lets those through has another fault (it does not check the scope, or
//! the token at all), and the verdict blames that fault, not the paths. The token of the
//! scoped sweep holds every other scope of the table and no near miss of the route's
//! (`adminx` for `admin`): a gateway that compares scopes by substring has a fault of its
//! own, which the near-miss step of `routes.rs` names.

use std::collections::{BTreeMap, BTreeSet};

use cucumber::{then, when};
use futures::StreamExt;

use crate::world::{QaWorld, RewriteSweep, ScopedSweep, SweepRequest};
use crate::{StepError, StepResult};
use qalens_engine::clients::http::Target;
use qalens_engine::clients::raw::send_raw;
use qalens_engine::clients::routes::{
    Holding, Presented, Route, fetch_routes, tokens_for_each_scope,
};

/// What a sweep's control tried: a route's own path, not rewritten.
const PLAIN: &str = "its plain path";

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
    /// The route it starts under (its prefix), for a rewrite through another route.
    pub via: Option<String>,
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
        let own = |path: String, kind: &str| (path, kind.to_string(), None);
        let mut paths: Vec<(String, String, Option<String>)> = vec![
            own(format!("/.{t}"), "a leading dot segment"),
            own(format!("/%2e{t}"), "an encoded leading dot segment"),
            own(format!("/{t}"), "a leading doubled slash"),
            own(t.replace('/', "//"), "doubled slashes"),
            own(t.to_uppercase(), "upper case"),
            own(format!("{t};"), "a `;` suffix"),
            own(format!("{t};x=1"), "a `;` parameter"),
            own(format!("{t}%00"), "a NUL suffix"),
            own(format!("{t}/."), "a trailing dot segment"),
            own(t.replace('/', "%2f"), "encoded slashes"),
            own(t.replace('/', "\\"), "backslashes"),
        ];
        for cover in covers.iter().filter(|c| key(c) != key(target)) {
            let c = cover.prefix.as_str();
            let depth = c.split('/').filter(|s| !s.is_empty()).count();
            let via =
                |path: String, what: &str| (path, format!("{what} via {c}"), Some(c.to_string()));
            paths.extend([
                via(format!("{c}{}{t}", "/..".repeat(depth)), "dot segments"),
                via(
                    format!("{c}{}{t}", "/%2e%2e".repeat(depth)),
                    "encoded dot segments",
                ),
                via(
                    format!("{c}{}{t}", "/.%2E".repeat(depth)),
                    "half-encoded dot segments",
                ),
                via(
                    format!(
                        "{c}{}%2f{}",
                        "%2f..".repeat(depth),
                        t_rest.replace('/', "%2f")
                    ),
                    "encoded slashes",
                ),
                via(
                    format!("{c}{}{t}", "/..%2f".repeat(depth).trim_end_matches("%2f")),
                    "dot segments ending in %2f",
                ),
                via(
                    format!("{c}{}\\{}", "\\..".repeat(depth), t_rest.replace('/', "\\")),
                    "backslashes",
                ),
                via(
                    format!("{c}{}{t}", "%5c..".repeat(depth)),
                    "encoded backslashes",
                ),
                via(
                    format!("{c};{}{t}", "/..".repeat(depth)),
                    "a `;` then dot segments",
                ),
                via(
                    format!("{c}%00{}{t}", "/..".repeat(depth)),
                    "a NUL then dot segments",
                ),
                via(
                    format!("{c}/{}{t}", "/..".repeat(depth)),
                    "a doubled slash then dot segments",
                ),
            ]);
        }
        for method in &target.methods {
            for (path, kind, via) in &paths {
                if seen.insert((method.clone(), path.clone())) {
                    out.push(Rewrite {
                        method: method.clone(),
                        path: path.clone(),
                        target: target.prefix.clone(),
                        scope: target.scope.clone(),
                        kind: kind.clone(),
                        via: via.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Each route's own path and method, not rewritten: the sweep's controls.
fn plain_paths(routes: &[Route]) -> Vec<Rewrite> {
    let mut seen = BTreeSet::new();
    let mut out = vec![];
    for route in routes {
        for method in &route.methods {
            if seen.insert((method.clone(), route.prefix.clone())) {
                out.push(Rewrite {
                    method: method.clone(),
                    path: route.prefix.clone(),
                    target: route.prefix.clone(),
                    scope: route.scope.clone(),
                    kind: PLAIN.into(),
                    via: None,
                });
            }
        }
    }
    out
}

/// Sends `requests` raw through the front door, each with the token `tokens` holds for
/// its route's scope (none when it holds none), a few at a time.
async fn send_all(
    world: &QaWorld,
    requests: Vec<Rewrite>,
    tokens: &BTreeMap<String, Presented>,
) -> Result<Vec<SweepRequest>, StepError> {
    let ctx = world.ctx()?;
    let results: Vec<Result<SweepRequest, StepError>> = futures::stream::iter(requests)
        .map(|rw| {
            let presented = tokens.get(&rw.scope).cloned();
            let ctx = ctx.clone();
            async move {
                let body = (rw.method != "GET").then_some("{}");
                let auth = presented.as_ref().map(|p| p.authorization.as_str());
                let exchange =
                    send_raw(&ctx, Target::FrontDoor, &rw.method, &rw.path, auth, body).await?;
                Ok(SweepRequest {
                    trick: rw.kind,
                    method: rw.method,
                    route: rw.target,
                    needs: rw.scope,
                    via: rw.via,
                    holding: presented.map(|p| p.scope),
                    exchange,
                })
            }
        })
        .buffered(RAW_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn sweep(world: &mut QaWorld, with_token: bool) -> StepResult {
    let client = world.client()?.clone();
    let ctx = world.ctx()?;
    let routes = fetch_routes(&ctx).await?;
    let tokens = if with_token {
        let identity = &ctx.endpoints.identity;
        tokens_for_each_scope(identity, &client, &routes, Holding::EveryOtherScope).await?
    } else {
        BTreeMap::new()
    };
    let controls = send_all(world, plain_paths(&routes), &tokens).await?;
    let rewrites = send_all(world, rewrites(&routes), &tokens).await?;
    world.batch = rewrites.iter().map(|r| r.exchange.clone()).collect();
    world.last = world.batch.last().cloned();
    world.rewrites = RewriteSweep { controls, rewrites };
    world.scoped = ScopedSweep::default();
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

fn ok(r: &SweepRequest) -> bool {
    (200..300).contains(&r.exchange.status)
}

/// What a request of the sweep presented, and what its route needs.
fn presented(r: &SweepRequest) -> String {
    match &r.holding {
        None => "without a token".to_string(),
        Some(scope) => format!(
            "with a token holding the scopes {scope:?} (the route needs {:?}, which it lacks)",
            r.needs
        ),
    }
}

/// The first `shown` of `requests`, each with what it tried and its exchange.
fn list(requests: &[&SweepRequest], shown: usize) -> String {
    requests
        .iter()
        .take(shown)
        .map(|r| {
            let what = match r.trick == PLAIN {
                true => "the route's own path".to_string(),
                false => format!("{} toward {} {}", r.trick, r.method, r.route),
            };
            format!(
                "- {} {} ({what}) {}:\n{}",
                r.method,
                r.exchange.url,
                presented(r),
                r.exchange
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The verdict on a sweep. A 2xx to a route's own path means the route lets the sweep's
/// credentials through without any rewrite: that fault is named first, and rewrites
/// toward (or, without a token, through) such a route prove nothing about path
/// confusion. Only the other 2xx rewrites are path confusion.
pub(super) fn verdict(sweep: &RewriteSweep) -> StepResult {
    if sweep.rewrites.is_empty() {
        return Err("no rewrite was sent before this step".into());
    }
    let open: Vec<&SweepRequest> = sweep.controls.iter().filter(|r| ok(r)).collect();
    let open_route = |route: &str| open.iter().any(|c| c.route == route);
    let (blamed_elsewhere, confused): (Vec<&SweepRequest>, Vec<&SweepRequest>) =
        sweep.rewrites.iter().filter(|r| ok(r)).partition(|r| {
            open_route(&r.route)
                // Without a token, a route that answers 2xx anyway opens every path
                // under it: a rewrite through it is that route's fault.
                || (r.holding.is_none() && r.via.as_deref().is_some_and(open_route))
        });
    let mut parts = vec![];
    if !open.is_empty() {
        let fault = match open[0].holding {
            None => "they do not ask for a token at all (an unprotected route)",
            Some(_) => {
                "they do not check the scope a token holds (a token lacking the route's scope \
                 passes)"
            }
        };
        parts.push(format!(
            "{} of {} routes answered 2xx on their own path, not rewritten: {fault}. That is \
             not path confusion; {} rewrite(s) toward or through them answered 2xx too and \
             prove nothing about paths (first {} shown):\n{}",
            open.len(),
            sweep.controls.len(),
            blamed_elsewhere.len(),
            open.len().min(5),
            list(&open, 5)
        ));
    }
    if !confused.is_empty() {
        parts.push(format!(
            "path confusion: {} of {} path rewrites answered 2xx although the route they mean \
             refuses the same credentials on its own path (first {} shown):\n{}",
            confused.len(),
            sweep.rewrites.len(),
            confused.len().min(5),
            list(&confused, 5)
        ));
    }
    match parts.is_empty() {
        true => Ok(()),
        false => Err(parts.join("\n").into()),
    }
}

#[then(expr = "no rewrite answered 2xx")]
async fn no_rewrite_2xx(world: &mut QaWorld) -> StepResult {
    verdict(&world.rewrites)
}

async fn raw_one(world: &mut QaWorld, target: Target, method: &str, path: &str) -> StepResult {
    let auth = world.authorization()?;
    let body = (method != "GET").then_some("{}");
    let ex = send_raw(&*world.ctx()?, target, method, path, auth.as_deref(), body).await?;
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

    fn exchange(path: &str, status: u16) -> crate::world::Exchange {
        crate::world::Exchange {
            method: "GET".into(),
            url: format!("http://127.0.0.1:8080{path}"),
            request_body: None,
            status,
            headers: vec![],
            body: String::new(),
            elapsed: std::time::Duration::ZERO,
            sent_at: std::time::Instant::now(),
        }
    }

    fn sent(
        path: &str,
        trick: &str,
        route: &str,
        via: Option<&str>,
        holding: Option<&str>,
        status: u16,
    ) -> SweepRequest {
        SweepRequest {
            trick: trick.into(),
            method: "GET".into(),
            route: route.into(),
            needs: if route == "/admin" {
                "admin"
            } else {
                "carts:read"
            }
            .into(),
            via: via.map(str::to_string),
            holding: holding.map(str::to_string),
            exchange: exchange(path, status),
        }
    }

    /// A gateway that matches scopes by substring lets `/admin` itself through to a
    /// token holding `adminx`: its `/admin;` is no path trick, and the verdict must say
    /// the route does not check the scope, showing the token's scopes, not "path
    /// confusion".
    #[test]
    fn a_route_open_on_its_own_path_is_blamed_and_its_rewrites_prove_nothing() {
        let holding = Some("carts:read adminx");
        let sweep = RewriteSweep {
            controls: vec![
                sent("/admin", PLAIN, "/admin", None, holding, 200),
                sent("/carts", PLAIN, "/carts", None, Some("admin"), 403),
            ],
            rewrites: vec![
                sent("/admin;", "a `;` suffix", "/admin", None, holding, 200),
                sent("/admin%00", "a NUL suffix", "/admin", None, holding, 200),
                sent(
                    "/carts;",
                    "a `;` suffix",
                    "/carts",
                    None,
                    Some("admin"),
                    403,
                ),
            ],
        };
        let e = verdict(&sweep).unwrap_err().to_string();
        let first = e.lines().next().unwrap();
        assert!(
            first.starts_with("1 of 2 routes answered 2xx on their own path, not rewritten: they do not check the scope"),
            "{e}"
        );
        assert!(
            first.contains("That is not path confusion; 2 rewrite(s)"),
            "{e}"
        );
        assert!(!e.contains("path confusion: "), "{e}");
        assert!(
            e.contains(
                "/admin (the route's own path) with a token holding the scopes \"carts:read adminx\" (the route needs \"admin\""
            ),
            "{e}"
        );
    }

    #[test]
    fn a_rewrite_through_another_route_to_one_that_refuses_the_token_is_path_confusion() {
        let sweep = RewriteSweep {
            controls: vec![
                sent("/admin", PLAIN, "/admin", None, Some("carts:read"), 403),
                sent("/carts", PLAIN, "/carts", None, Some("admin"), 403),
            ],
            rewrites: vec![
                sent(
                    "/carts/../admin",
                    "dot segments via /carts",
                    "/admin",
                    Some("/carts"),
                    Some("carts:read"),
                    200,
                ),
                sent(
                    "/admin;",
                    "a `;` suffix",
                    "/admin",
                    None,
                    Some("carts:read"),
                    403,
                ),
            ],
        };
        let e = verdict(&sweep).unwrap_err().to_string();
        assert!(
            e.starts_with("path confusion: 1 of 2 path rewrites answered 2xx although the route they mean refuses the same credentials on its own path"),
            "{e}"
        );
        assert!(e.contains("dot segments via /carts toward GET /admin) with a token holding the scopes \"carts:read\""), "{e}");
        // Everything refused: it passes.
        let mut refused = sweep.clone();
        refused.rewrites[0].exchange.status = 400;
        assert!(verdict(&refused).is_ok());
    }

    /// Without a token, a route that answers 2xx anyway (unprotected) opens every path
    /// under it: a rewrite through it toward a protected route is that route's fault.
    #[test]
    fn without_a_token_a_rewrite_through_an_unprotected_route_blames_that_route() {
        let sweep = RewriteSweep {
            controls: vec![
                sent("/api/export", PLAIN, "/api/export", None, None, 200),
                sent("/api/catalog", PLAIN, "/api/catalog", None, None, 401),
            ],
            rewrites: vec![sent(
                "/api/export\\..\\..\\api\\catalog",
                "backslashes via /api/export",
                "/api/catalog",
                Some("/api/export"),
                None,
                200,
            )],
        };
        let e = verdict(&sweep).unwrap_err().to_string();
        assert!(
            e.starts_with("1 of 2 routes answered 2xx on their own path, not rewritten: they do not ask for a token at all"),
            "{e}"
        );
        assert!(!e.contains("path confusion: "), "{e}");
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
