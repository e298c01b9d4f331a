//! The gateway's route table: the protected routes the system file documents
//! (`x-qalens.routes`, a list or an OpenAPI document), or else the table the gateway
//! serves itself on `/admin/routes`, and the tokens the scoped sweeps present on them.

use contract_tools::jwt::Tier;
use serde::Deserialize;

use std::collections::{BTreeMap, BTreeSet};

use crate::clients::inspect::get_json_with as inspect_with;
use crate::clients::{Client, ClientError};
use crate::context::RunContext;
use crate::tokens::{Issuer, TOKEN_TTL, Who, every_scope_but, near_misses_of, now};

/// A route of the table: a path prefix, its methods and the scopes that open it. The
/// gateway's `/admin/routes` answers `{"routes": [{"prefix": "/carts", "methods":
/// ["GET"], "scope": "carts:read"}, ...]}` (other members are ignored;
/// docs/system-file.md).
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    pub prefix: String,
    pub methods: Vec<String>,
    /// The scope a token needs (several, space-separated: a token holding none of them
    /// must be refused); empty when the system file documents none.
    pub scope: String,
}

#[derive(Debug, Deserialize)]
struct Table {
    routes: Vec<Route>,
}

/// The routes to sweep: the protected routes the system file documents
/// (`x-qalens.routes`, public ones left out, with the scopes it names) or, when it
/// documents none, the gateway's own table, read through the front door with a
/// harness-minted admin token.
pub async fn fetch_routes(ctx: &RunContext) -> Result<Vec<Route>, ClientError> {
    if !ctx.endpoints.routes.is_empty() {
        let routes: Vec<Route> = ctx
            .endpoints
            .routes
            .iter()
            .filter(|r| !r.public)
            .map(|r| Route {
                prefix: r.path.clone(),
                methods: vec![r.method.clone()],
                scope: r.scopes.join(" "),
            })
            .collect();
        if routes.is_empty() {
            return Err(ClientError::AllRoutesPublic);
        }
        return Ok(routes);
    }
    // The admin token comes from the file's identity, whichever mode it is.
    let admin = crate::tokens::Who {
        client: "qalens-harness",
        tier: Tier::Paid,
        scope: "admin",
    };
    let token = ctx
        .endpoints
        .identity
        .valid(&admin, crate::tokens::now() + crate::tokens::TOKEN_TTL)
        .await?;
    let base = crate::clients::http::base_url(ctx, crate::clients::http::Target::FrontDoor)?;
    let table: Table = inspect_with(ctx, format!("{base}/admin/routes"), token).await?;
    if table.routes.is_empty() {
        return Err(ClientError::EmptyRouteTable);
    }
    Ok(table.routes)
}

/// A token a scoped sweep presents: its `Authorization` header value and the scope it
/// holds, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub authorization: String,
    /// Space-separated, as in the token's `scope` claim.
    pub scope: String,
}

/// Which scopes the token a scoped sweep presents on a route holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// Every scope the table names except the route's ([`every_scope_but`]).
    EveryOtherScope,
    /// Only near misses of the route's scope ([`near_misses_of`]), `adminx` for `admin`.
    NearMisses,
}

/// For each scope the route table names (a route's [`Route::scope`]), a token for
/// `client` that must not pass that route, holding what `holding` says; minted once per
/// scope. Refused when a route names no scope (a table the system file documents
/// without scopes): a token lacking "no scope" lacks every route's, so no answer could
/// tell a sound gateway from a broken one.
pub async fn tokens_for_each_scope(
    identity: &Issuer,
    client: &Client,
    routes: &[Route],
    holding: Holding,
) -> Result<BTreeMap<String, Presented>, ClientError> {
    if let Some(r) = routes.iter().find(|r| r.scope.trim().is_empty()) {
        return Err(ClientError::RouteWithoutScope {
            route: format!("{} {}", r.methods.join(","), r.prefix),
        });
    }
    if !identity.follows_scope() {
        return Err(identity.cannot("a token lacking one route's scope").into());
    }
    let all: BTreeSet<&str> = routes
        .iter()
        .flat_map(|r| r.scope.split_whitespace())
        .collect();
    let mut tokens = BTreeMap::new();
    for route in routes {
        if tokens.contains_key(&route.scope) {
            continue;
        }
        let scope = match holding {
            Holding::EveryOtherScope => every_scope_but(&all, &route.scope),
            Holding::NearMisses => near_misses_of(&all, &route.scope),
        };
        let who = Who {
            client: &client.id,
            tier: client.tier,
            scope: &scope,
        };
        let authorization = identity
            .valid(&who, now() + TOKEN_TTL)
            .await?
            .ok_or(ClientError::NoIdentity)?;
        tokens.insert(
            route.scope.clone(),
            Presented {
                authorization,
                scope,
            },
        );
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use qalens_model::system::routes::DocumentedRoute;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::testing::{authorization, client, context, verified_claims};

    fn documented(method: &str, path: &str, public: bool) -> DocumentedRoute {
        DocumentedRoute {
            method: method.into(),
            path: path.into(),
            public,
            scopes: vec![],
        }
    }

    #[tokio::test]
    async fn the_documented_routes_are_swept_public_ones_left_out_without_asking_the_gateway() {
        let gateway = MockServer::start().await;
        let mut ctx = context(&gateway.uri());
        ctx.endpoints.routes = vec![
            documented("GET", "/items", false),
            documented("GET", "/health", true),
            documented("POST", "/baskets", false),
        ];
        let routes = fetch_routes(&ctx).await.unwrap();
        let swept: Vec<(&str, &[String])> = routes
            .iter()
            .map(|r| (r.prefix.as_str(), r.methods.as_slice()))
            .collect();
        assert_eq!(
            swept,
            [
                ("/items", &["GET".to_string()][..]),
                ("/baskets", &["POST".to_string()][..])
            ]
        );
        assert!(gateway.received_requests().await.unwrap().is_empty());

        ctx.endpoints.routes = vec![documented("GET", "/health", true)];
        let e = fetch_routes(&ctx).await.unwrap_err();
        assert!(matches!(e, ClientError::AllRoutesPublic), "{e:?}");
        assert_eq!(
            e.to_string(),
            "every route in x-qalens.routes is public: none to sweep"
        );
    }

    #[tokio::test]
    async fn without_documented_routes_the_gateways_table_is_read_with_an_admin_token() {
        let gateway = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/admin/routes"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "routes": [
                    {"prefix": "/items", "methods": ["GET"], "scope": "items:read"},
                    {"prefix": "/baskets", "methods": ["GET", "POST"], "scope": "baskets:write"},
                ]
            })))
            .expect(1)
            .mount(&gateway)
            .await;
        let ctx = context(&gateway.uri());
        let routes = fetch_routes(&ctx).await.unwrap();
        let prefixes: Vec<&str> = routes.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(prefixes, ["/items", "/baskets"]);
        let received = gateway.received_requests().await.unwrap();
        let claims = verified_claims(&authorization(&received[0]).unwrap()).unwrap();
        assert_eq!(
            (&claims["sub"], &claims["scope"], &claims["tier"]),
            (&"qalens-harness".into(), &"admin".into(), &"paid".into())
        );

        // Each scope gets a token lacking exactly it, and no near miss of it.
        let alice = client("items:read baskets:write");
        let identity = &ctx.endpoints.identity;
        let tokens = tokens_for_each_scope(identity, &alice, &routes, Holding::EveryOtherScope)
            .await
            .unwrap();
        let scope_of = |tokens: &BTreeMap<String, Presented>, scope: &str| {
            let presented = &tokens[scope];
            let claim = verified_claims(&presented.authorization).unwrap()["scope"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(claim, presented.scope, "the scope shown is the token's");
            claim
        };
        assert_eq!(scope_of(&tokens, "items:read"), "baskets:write");
        assert_eq!(scope_of(&tokens, "baskets:write"), "items:read");
        // The near-miss tokens hold only near misses of the route's scope.
        let tokens = tokens_for_each_scope(identity, &alice, &routes, Holding::NearMisses)
            .await
            .unwrap();
        assert_eq!(scope_of(&tokens, "items:read"), "items:rea items:readx");
        assert_eq!(
            scope_of(&tokens, "baskets:write"),
            "baskets:writ baskets:writex"
        );
    }

    #[tokio::test]
    async fn documented_scopes_make_the_scoped_tokens_without_asking_the_gateway() {
        let gateway = MockServer::start().await;
        let mut ctx = context(&gateway.uri());
        let mut admin = documented("GET", "/admin", false);
        admin.scopes = vec!["admin".into()];
        let mut catalog = documented("GET", "/catalog", false);
        catalog.scopes = vec!["catalog:read".into(), "catalog:write".into()];
        ctx.endpoints.routes = vec![admin, catalog];
        let routes = fetch_routes(&ctx).await.unwrap();
        let scopes: Vec<&str> = routes.iter().map(|r| r.scope.as_str()).collect();
        assert_eq!(scopes, ["admin", "catalog:read catalog:write"]);
        let tokens = tokens_for_each_scope(
            &ctx.endpoints.identity,
            &client("x"),
            &routes,
            Holding::EveryOtherScope,
        )
        .await
        .unwrap();
        assert_eq!(tokens["admin"].scope, "catalog:read catalog:write");
        assert_eq!(tokens["catalog:read catalog:write"].scope, "admin");
        assert!(gateway.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_empty_table_or_a_route_without_a_scope_is_an_error() {
        let gateway = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/admin/routes"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"routes": []})),
            )
            .mount(&gateway)
            .await;
        let ctx = context(&gateway.uri());
        let e = fetch_routes(&ctx).await.unwrap_err();
        assert_eq!(e.to_string(), "the gateway's route table is empty");

        let documented = [Route {
            prefix: "/items".into(),
            methods: vec!["GET".into()],
            scope: String::new(),
        }];
        let e = tokens_for_each_scope(
            &ctx.endpoints.identity,
            &client("x"),
            &documented,
            Holding::EveryOtherScope,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ClientError::RouteWithoutScope { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("the route table names no scope for GET /items: "),
            "{e}"
        );
    }
}
