//! The gateway's route table: the protected routes the system file documents
//! (`x-qalens.routes`), or else the table the gateway serves itself.

use contract_tools::jwt::Tier;
use serde::Deserialize;

use std::collections::{BTreeMap, BTreeSet};

use crate::clients::inspect::get_json_with as inspect_with;
use crate::clients::{Client, ClientError};
use crate::context::RunContext;
use crate::tokens::{Issuer, TOKEN_TTL, Who, every_scope_but, now};

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
                scope: String::new(),
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
    let table: Table = inspect_with(
        ctx,
        format!("{}/admin/routes", ctx.endpoints.gateway),
        token,
    )
    .await?;
    if table.routes.is_empty() {
        return Err(ClientError::EmptyRouteTable);
    }
    Ok(table.routes)
}

/// For each scope the route table names, the `Authorization` header value of a token
/// for `client` lacking it (`token_without`), minted once per scope. Refused when a
/// route names no scope (a table the system file documents): a token lacking "no scope"
/// lacks every route's, so no answer could tell a sound gateway from a broken one.
pub async fn tokens_lacking_each_scope(
    identity: &Issuer,
    client: &Client,
    routes: &[Route],
) -> Result<BTreeMap<String, String>, ClientError> {
    if let Some(r) = routes.iter().find(|r| r.scope.is_empty()) {
        return Err(ClientError::RouteWithoutScope {
            prefix: r.prefix.clone(),
        });
    }
    let all: BTreeSet<&str> = routes.iter().map(|r| r.scope.as_str()).collect();
    let mut tokens = BTreeMap::new();
    for scope in &all {
        tokens.insert(
            scope.to_string(),
            token_without(identity, client, &all, scope).await?,
        );
    }
    Ok(tokens)
}

/// The `Authorization` header value of a token for `client` with the scope
/// [`every_scope_but`] gives. Refused when the system's tokens do not follow the scope
/// asked for (a static token might hold `missing` after all, and a 2xx would mean
/// nothing) or it has no identity.
async fn token_without(
    identity: &Issuer,
    client: &Client,
    all: &BTreeSet<&str>,
    missing: &str,
) -> Result<String, ClientError> {
    let scope = every_scope_but(all, missing);
    let who = Who {
        client: &client.id,
        tier: client.tier,
        scope: &scope,
    };
    if !identity.follows_scope() {
        return Err(identity.cannot("a token lacking one route's scope").into());
    }
    identity
        .valid(&who, now() + TOKEN_TTL)
        .await?
        .ok_or(ClientError::NoIdentity)
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

        // Each scope gets a token lacking exactly it (and its near misses).
        let alice = client("items:read baskets:write");
        let tokens = tokens_lacking_each_scope(&ctx.endpoints.identity, &alice, &routes)
            .await
            .unwrap();
        let scope_of = |scope: &str| {
            verified_claims(&tokens[scope]).unwrap()["scope"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            scope_of("items:read"),
            "baskets:write items:rea items:readx"
        );
        assert_eq!(
            scope_of("baskets:write"),
            "items:read baskets:writ baskets:writex"
        );
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
        let e = tokens_lacking_each_scope(&ctx.endpoints.identity, &client("x"), &documented)
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::RouteWithoutScope { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("the route table names no scope for /items: ")
        );
    }
}
