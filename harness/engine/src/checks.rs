//! Checks shared by generic steps and packs: the contract a step names, out of the run's
//! contracts ([`crate::contracts`]), and the contract examples they publish.

use std::sync::Arc;

use contract_tools::openapi::OpenApi;
use contract_tools::schema::Contract;
use serde_json::Value;
use uuid::Uuid;

mod error;
pub mod exchange;

pub use error::CheckError;

use crate::clients::amqp::{Outgoing, publish};
use crate::context::RunContext;
use crate::contracts::{Contracts, RunContracts};

/// The OpenAPI document `x-qalens.contracts` names, or why there is none.
pub fn openapi(ctx: &RunContext) -> Result<Arc<OpenApi>, CheckError> {
    let file = ctx.system.file.clone();
    match &ctx.contracts {
        Some(RunContracts::OpenApi(doc)) => Ok(doc.clone()),
        Some(RunContracts::Schemas(_) | RunContracts::Bundled(_)) => {
            Err(CheckError::SchemasNotOpenApi { file })
        }
        None => Err(CheckError::NoOpenApi { file }),
    }
}

/// The registry the contract steps check against: the directory the system file names
/// (`x-qalens.contracts`), else the one an enabled pack bundles.
pub fn registry(ctx: &RunContext) -> Result<Contracts, CheckError> {
    let file = ctx.system.file.clone();
    match &ctx.contracts {
        Some(RunContracts::Schemas(r)) => Ok(Contracts::Loaded(r.clone())),
        Some(RunContracts::Bundled(r)) => Ok(Contracts::Bundled(r)),
        Some(RunContracts::OpenApi(doc)) => Err(CheckError::OpenApiNotSchemas {
            file,
            document: doc.path.clone(),
        }),
        None => Err(CheckError::NoContracts { file }),
    }
}

/// `name v<version>` from the run's registry, or an error listing the known ones.
pub fn contract(ctx: &RunContext, name: &str, version: u32) -> Result<Contract, CheckError> {
    registry(ctx)?
        .get(name, version)
        .cloned()
        .map_err(CheckError::UnknownContract)
}

/// `example` with fresh ids (every `*_id` uuid field) and `customer` set to `customer`,
/// so it can be published again and again; still valid under its contract.
pub fn fresh_example(example: &Value, customer: &str) -> Value {
    let mut v = example.clone();
    if let Some(obj) = v.as_object_mut() {
        for (k, field) in obj.iter_mut() {
            if k.ends_with("_id") && field.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()) {
                *field = Value::String(Uuid::now_v7().to_string());
            }
        }
        if obj.contains_key("customer") {
            obj.insert("customer".into(), Value::String(customer.to_string()));
        }
    }
    v
}

/// Publishes `body` as the message contract `c` describes.
pub async fn publish_example(
    ctx: &RunContext,
    c: &Contract,
    body: &Value,
) -> Result<Outgoing, CheckError> {
    let key = c
        .routing_key
        .as_deref()
        .ok_or_else(|| CheckError::NoRoutingKey { id: c.id() })?;
    let id = body
        .get("event_id")
        .and_then(Value::as_str)
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_string);
    let exchange = c.exchange.as_deref().unwrap_or_default();
    let bytes = serde_json::to_vec(body).map_err(CheckError::Json)?;
    let msg = Outgoing::json(exchange, key, &id, bytes);
    publish(ctx, &msg).await?;
    Ok(msg)
}
