//! Steps the system file cannot serve, found before anything starts: a hostile token the
//! identity mode cannot make (an expired token, or one with chosen time claims or a
//! `crit` header, with a static token or a command), a
//! narrowed scope a static token ignores, a declared rate limit of a route no policy
//! covers, and a step whose catalog entry needs what the file lacks (the entry point,
//! the gateway, the routes' scopes: [`Need::unmet`]). Scenario outlines are checked once
//! per row of their examples.

use std::sync::LazyLock;

use cucumber::codegen::Regex;
use cucumber::gherkin;

use crate::lint::Problem;
use qalens_model::system::RateLimit;
use qalens_model::system::System;
use qalens_steps::catalog::Need;

/// The needs [`Need::unmet`] explains, with the step patterns whose entries have them.
fn needing() -> &'static [(Regex, Vec<Need>)] {
    static NEEDING: LazyLock<Vec<(Regex, Vec<Need>)>> = LazyLock::new(|| {
        qalens_steps::catalog::entries()
            .into_iter()
            .filter_map(|e| {
                let needs: Vec<Need> = e
                    .needs
                    .iter()
                    .copied()
                    .filter(|n| matches!(n, Need::Entry | Need::Gateway | Need::RouteScopes))
                    .collect();
                let regex = Regex::new(&e.pattern).ok()?;
                (!needs.is_empty()).then_some((regex, needs))
            })
            .collect()
    });
    &NEEDING
}

struct Patterns {
    signed: Regex,
    scope: Regex,
    declared: Regex,
}

impl Patterns {
    fn new() -> Self {
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| unreachable!("{p}: {e}"));
        Self {
            signed: re(
                r"^the client presents (an expired token|a token signed with the wrong key|an unsigned alg-none token|a tampered token|a token that expired \d+ seconds? ago|a token that is not valid before .+ from now|a token issued .+ in the future|a token that expires in .+|a token without an expiry|a token whose crit header names an unknown extension|a token whose \S+ claim is not a number)$",
            ),
            scope: re(r#"^the client's token has only the scope ""#),
            declared: re(
                r#"^the client sends the declared limit of (\S+) requests to "([^"]*)"(?: on gateway replica \d+)?$"#,
            ),
        }
    }
}

/// The problems of `feature` (read from `path`) on `system`.
pub(crate) fn check(system: &System, feature: &gherkin::Feature, path: &str) -> Vec<Problem> {
    let p = Patterns::new();
    let issuer = qalens_engine::tokens::Issuer::from_system(
        system.qalens.identity.as_ref(),
        &system.dir,
        &system.file,
    );
    let file = system.file.display();
    let mut problems = vec![];
    for (line, text) in expanded_steps(feature) {
        let message = if let Some(c) = p.signed.captures(&text) {
            match &issuer {
                Ok(i) if !i.signs() => Some(i.cannot(&c[1]).to_string()),
                _ => None,
            }
        } else if p.scope.is_match(&text)
            && system
                .qalens
                .identity
                .as_ref()
                .is_some_and(|i| i.token.is_some())
        {
            Some(format!(
                "{file} gives every client one static token (x-qalens.identity.token): a \
                 narrowed scope cannot change it; this step needs x-qalens.identity.jwt or \
                 a command that reads {{scope}}"
            ))
        } else if let Some(c) = p.declared.captures(&text) {
            let (method, route) = (&c[1], &c[2]);
            RateLimit::find(&system.qalens.rate_limits, method, route)
                .is_none()
                .then(|| {
                    format!(
                        "no rate-limit policy in {file} covers {method} {route}: add one to \
                         x-qalens.rate_limits ({{ route: \"{method} {route}\", limit: N, \
                         window: 60s, per: client }})"
                    )
                })
        } else {
            None
        };
        let unmet = needing()
            .iter()
            .filter(|(r, _)| r.is_match(&text))
            .flat_map(|(_, needs)| needs.iter().filter_map(|n| n.unmet(system)));
        for message in message.into_iter().chain(unmet) {
            problems.push(Problem {
                at: format!("{path}:{line}"),
                message,
            });
        }
    }
    problems.dedup_by(|a, b| a.at == b.at && a.message == b.message);
    problems
}

/// Every step of the feature with its line; a scenario outline's steps once per row of
/// its examples, with the row's values in place of `<name>`.
pub(super) fn expanded_steps(feature: &gherkin::Feature) -> Vec<(usize, String)> {
    let mut out = vec![];
    let backgrounds = feature
        .background
        .iter()
        .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()));
    for b in backgrounds {
        out.extend(b.steps.iter().map(|s| (s.position.line, s.value.clone())));
    }
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
    for sc in scenarios {
        let rows: Vec<Vec<(String, String)>> = sc
            .examples
            .iter()
            .filter_map(|ex| ex.table.as_ref())
            .flat_map(|t| {
                let (head, rows) = t
                    .rows
                    .split_first()
                    .map_or((&[][..], &[][..]), |(h, r)| (&h[..], r));
                rows.iter()
                    .map(|r| head.iter().cloned().zip(r.iter().cloned()).collect())
                    .collect::<Vec<_>>()
            })
            .collect();
        for step in &sc.steps {
            if rows.is_empty() {
                out.push((step.position.line, step.value.clone()));
            }
            for row in &rows {
                let text = row.iter().fold(step.value.clone(), |t, (k, v)| {
                    t.replace(&format!("<{k}>"), v)
                });
                out.push((step.position.line, text));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn load(file: &str) -> System {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
        System::load_with(&file, &|v| {
            (v == "QALENS_REFSYS_BIN").then(|| file.display().to_string())
        })
        .unwrap()
    }

    fn problems(system: &System, text: &str) -> Vec<Problem> {
        let feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap();
        check(system, &feature, "f.feature")
    }

    const FEATURE: &str = "Feature: f\n  Scenario: s\n\
        \x20   Given a free client \"c\"\n\
        \x20   And the client presents an expired token\n\
        \x20   And the client presents a token that expired 5 seconds ago\n\
        \x20   And the client presents a malformed token\n\
        \x20   And the client's token has only the scope \"items:read\"\n\
        \x20   When the client sends the declared limit of GET requests to \"/limited/mine\"\n\
        \x20   And the client sends the declared limit of GET requests to \"/api/catalog\" on gateway replica 2\n\
        \n  Scenario Outline: o\n\
        \x20   When the client sends the declared limit of GET requests to \"<path>\"\n\
        \x20   Examples:\n\
        \x20     | path |\n\
        \x20     | /limited/fixed |\n\
        \x20     | /limited/none |\n";

    #[test]
    fn a_static_token_cannot_serve_signed_abuse_and_undeclared_limits_are_located() {
        let shop = load("../examples/nginx-shop/qalens.yml");
        let found = problems(&shop, FEATURE);
        let at: Vec<&str> = found.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            ["f.feature:4", "f.feature:5", "f.feature:7", "f.feature:9"],
            "{found:#?}"
        );
        assert!(
            found[0].message.contains("static token")
                && found[0].message.contains("an expired token")
        );
        assert!(found[2].message.contains("narrowed scope"), "{}", found[2]);
        assert!(
            found[3].message.contains("covers GET /api/catalog")
                && found[3].message.contains("x-qalens.rate_limits"),
            "{}",
            found[3]
        );
    }

    /// Every catalog step that needs tokens qalens signs is refused, with its line, on a
    /// system with one static token, and served on one with a JWT identity: the catalog's
    /// `needs` and `qalens check` agree.
    #[test]
    fn every_step_needing_a_jwt_identity_is_refused_on_a_static_token() {
        let shop = load("../examples/nginx-shop/qalens.yml");
        let reference = load(qalens_model::system::REFERENCE_FILE);
        let needing: Vec<_> = qalens_steps::catalog::entries()
            .into_iter()
            .filter(|e| e.needs.contains(&qalens_steps::catalog::Need::Jwt))
            .collect();
        assert!(needing.len() >= 7, "{needing:#?}");
        for e in needing {
            let text = format!(
                "Feature: f\n  Scenario: s\n    Given a free client \"c\"\n    {}\n",
                e.example
            );
            let found = problems(&shop, &text);
            assert_eq!(found.len(), 1, "{}: {found:#?}", e.example);
            assert_eq!(found[0].at, "f.feature:4");
            assert!(
                found[0].message.contains("static token")
                    && found[0].message.contains("x-qalens.identity.jwt"),
                "{}",
                found[0]
            );
            assert!(!qalens_steps::catalog::serves(&shop, &e), "{}", e.example);
            assert!(problems(&reference, &text).is_empty(), "{}", e.example);
            assert!(
                qalens_steps::catalog::serves(&reference, &e),
                "{}",
                e.example
            );
        }
    }

    fn parse(x_qalens: &str) -> System {
        let text = format!(
            "services:\n  gw:\n    image: \"img:1\"\n    scale: 3\n    expose: [8080]\n\
             x-qalens:\n{x_qalens}"
        );
        System::parse(
            std::path::Path::new("gw.yml"),
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            &text,
            &|_| None,
        )
        .unwrap()
    }

    const SWEEPS: &str = "Feature: f\n  Scenario: s\n\
        \x20   Given a free client \"c\"\n\
        \x20   When the client sends path rewrites toward every route in the gateway's route table, each with a token lacking that route's scope\n\
        \x20   And the client calls every route in the gateway's route table with a token holding every other scope of the table\n\
        \x20   And the client calls every route in the gateway's route table with a token holding only near misses of the route's scope\n\
        \x20   And the client sends path rewrites toward every route in the gateway's route table without a token\n";

    /// The scoped sweeps need every route's scope: a route list without scopes cannot
    /// serve them (each is located, naming the route and the key), one with scopes can,
    /// and so can a file without routes (the gateway's own /admin/routes).
    #[test]
    fn a_scoped_sweep_without_route_scopes_is_located() {
        let identity = "  entry: gw:8080\n  identity: { jwt: { alg: HS256, secret: s } }\n";
        let unscoped = parse(&format!(
            "{identity}  routes:\n    - {{ method: GET, path: /admin, scope: admin }}\n    - {{ method: GET, path: /carts }}\n"
        ));
        let found = problems(&unscoped, SWEEPS);
        let at: Vec<&str> = found.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            ["f.feature:4", "f.feature:5", "f.feature:6"],
            "{found:#?}"
        );
        for p in &found {
            assert!(
                p.message.contains("gw.yml names no scope for GET /carts")
                    && p.message.contains("its `scope` in x-qalens.routes"),
                "{p}"
            );
        }
        let scoped = parse(&format!(
            "{identity}  routes:\n    - {{ method: GET, path: /admin, scope: admin }}\n    - {{ method: GET, path: /carts, scope: carts:read }}\n"
        ));
        assert!(problems(&scoped, SWEEPS).is_empty());
        // `qalens steps --system` offers the scoped sweeps only where they can run.
        let scoped_sweeps: Vec<_> = qalens_steps::catalog::entries()
            .into_iter()
            .filter(|e| e.needs.contains(&Need::RouteScopes))
            .collect();
        assert_eq!(scoped_sweeps.len(), 3, "{scoped_sweeps:#?}");
        for e in &scoped_sweeps {
            assert!(
                !qalens_steps::catalog::serves(&unscoped, e),
                "{}",
                e.example
            );
            assert!(qalens_steps::catalog::serves(&scoped, e), "{}", e.example);
        }
        assert!(problems(&parse(identity), SWEEPS).is_empty());
        // A static token cannot lack a scope, whatever the routes say.
        let static_token = parse("  entry: gw:8080\n  identity: { token: t }\n");
        let found = problems(&static_token, SWEEPS);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found[0].message.contains("one static token"),
            "{}",
            found[0]
        );
    }

    /// Without x-qalens.entry every step that sends through it is located (a run would
    /// fail each with a builder error), and without x-qalens.gateway every replica step.
    #[test]
    fn steps_that_need_the_entry_or_the_gateway_are_located_without_them() {
        let text = "Feature: f\n  Scenario: s\n\
            \x20   Given a free client \"c\"\n\
            \x20   When the client sends GET \"/x\"\n\
            \x20   And the client sends 12 GET requests to \"/x\" round-robin across the gateway replicas\n\
            \x20   Then the response status is 200\n";
        let bare = parse("  identity: { token: t }\n");
        let found = problems(&bare, text);
        let at: Vec<&str> = found.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["f.feature:4", "f.feature:5"], "{found:#?}");
        assert!(
            found[0]
                .message
                .contains("gw.yml names none: add `entry: SERVICE:PORT`"),
            "{}",
            found[0]
        );
        assert!(
            found[1].message.contains("declares no gateway"),
            "{}",
            found[1]
        );
        let full = parse("  entry: gw:8080\n  gateway: { service: gw, port: 8080 }\n");
        assert!(problems(&full, text).is_empty());
    }

    #[test]
    fn a_jwt_identity_serves_them_and_outline_rows_are_checked_one_by_one() {
        let reference = load(qalens_model::system::REFERENCE_FILE);
        let found = problems(&reference, FEATURE);
        let at: Vec<&str> = found.iter().map(|p| p.at.as_str()).collect();
        // /limited/mine and /api/catalog are not reference routes; of the outline's rows
        // only /limited/none is undeclared.
        assert_eq!(
            at,
            ["f.feature:8", "f.feature:9", "f.feature:12"],
            "{found:#?}"
        );
        assert!(found[2].message.contains("/limited/none"), "{}", found[2]);
    }
}
