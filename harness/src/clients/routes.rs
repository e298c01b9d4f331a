//! The gateway's route table: the protected routes the system file documents
//! (`x-qalens.routes`), or else the table the gateway serves itself.

use contract_tools::jwt::Tier;
use serde::Deserialize;

use crate::clients::inspect::get_json_with as inspect_with;
use crate::context;

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
    let table: Table =
        inspect_with(format!("{}/admin/routes", ctx.endpoints.gateway), token).await?;
    if table.routes.is_empty() {
        return Err("the gateway's route table is empty".into());
    }
    Ok(table.routes)
}
