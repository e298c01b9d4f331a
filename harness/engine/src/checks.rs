//! Checks shared by generic steps and packs: the contracts of the run (a registry of JSON
//! Schemas, or an OpenAPI document) and the contract examples they publish.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context as _;
use contract_tools::openapi::OpenApi;
use contract_tools::schema::{Contract, Registry};
use serde_json::Value;
use uuid::Uuid;

pub mod exchange;

use crate::clients::amqp::{Outgoing, publish};
use crate::context::RunContext;
use qalens_model::system::System;

/// The run's contracts: loaded from `x-qalens.contracts`, or bundled by an enabled pack.
pub enum Contracts {
    Loaded(Arc<Registry>),
    Bundled(&'static Registry),
}

impl Deref for Contracts {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        match self {
            Contracts::Loaded(r) => r,
            Contracts::Bundled(r) => r,
        }
    }
}

/// What `x-qalens.contracts` names: a directory of JSON Schemas with an `index.json`, or
/// an OpenAPI 3.0/3.1 document.
#[derive(Debug, Clone)]
pub enum RunContracts {
    Schemas(Arc<Registry>),
    OpenApi(Arc<OpenApi>),
    /// What an enabled pack bundles, for a system file that names none.
    Bundled(&'static Registry),
}

/// Reads the contracts `system` names in `x-qalens.contracts` from disk (`None` when it
/// names none): a directory is a JSON Schema registry, a file an OpenAPI document. Read
/// once per run, before its scenarios: every `run_on` of the run (the self-test's
/// variants and canaries included) shares what this returns.
pub fn load_contracts(system: &System) -> anyhow::Result<Option<RunContracts>> {
    let Some(path) = &system.qalens.contracts else {
        return Ok(None);
    };
    let path = system.dir.join(path);
    let loaded = if path.is_file() {
        RunContracts::OpenApi(Arc::new(
            OpenApi::load(&path)
                .with_context(|| format!("x-qalens.contracts: {}", path.display()))?,
        ))
    } else {
        RunContracts::Schemas(Arc::new(
            Registry::load_dir(&path)
                .with_context(|| format!("x-qalens.contracts: {}", path.display()))?,
        ))
    };
    Ok(Some(loaded))
}

/// The OpenAPI document `x-qalens.contracts` names, or why there is none.
pub fn openapi(ctx: &RunContext) -> Result<Arc<OpenApi>, String> {
    match &ctx.contracts {
        Some(RunContracts::OpenApi(doc)) => Ok(doc.clone()),
        Some(RunContracts::Schemas(_) | RunContracts::Bundled(_)) => Err(format!(
            "{}: x-qalens.contracts names a directory of JSON Schemas, not an OpenAPI document",
            ctx.system.file.display()
        )),
        None => Err(format!(
            "{} names no OpenAPI document (x-qalens.contracts: a .yaml or .json file with a top-level `openapi` key)",
            ctx.system.file.display()
        )),
    }
}

/// The registry the contract steps check against: the directory the system file names
/// (`x-qalens.contracts`), else the one an enabled pack bundles.
pub fn registry(ctx: &RunContext) -> Result<Contracts, String> {
    match &ctx.contracts {
        Some(RunContracts::Schemas(r)) => Ok(Contracts::Loaded(r.clone())),
        Some(RunContracts::Bundled(r)) => Ok(Contracts::Bundled(r)),
        Some(RunContracts::OpenApi(doc)) => Err(format!(
            "{}: x-qalens.contracts names the OpenAPI document {}: contracts by name and version need a directory of JSON Schemas with an index.json; check responses with `Then every response of the scenario conforms to the OpenAPI document`",
            ctx.system.file.display(),
            doc.path.display()
        )),
        None => Err(format!(
            "{} names no contracts (x-qalens.contracts: a directory with an index.json)",
            ctx.system.file.display()
        )),
    }
}

/// `name v<version>` from the run's registry, or an error listing the known ones.
pub fn contract(ctx: &RunContext, name: &str, version: u32) -> Result<Contract, String> {
    registry(ctx)?
        .get(name, version)
        .cloned()
        .map_err(|e| e.to_string())
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
) -> Result<Outgoing, String> {
    let key = c
        .routing_key
        .as_deref()
        .ok_or_else(|| format!("{} names no routing key", c.id()))?;
    let id = body
        .get("event_id")
        .and_then(Value::as_str)
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_string);
    let exchange = c.exchange.as_deref().unwrap_or_default();
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let msg = Outgoing::json(exchange, key, &id, bytes);
    publish(ctx, &msg).await?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_contracts_are_read_from_the_directory_the_system_file_names() {
        let mut system = System::reference().unwrap();
        let loaded = load_contracts(&system)
            .unwrap()
            .expect("the reference names some");
        let RunContracts::Schemas(loaded) = loaded else {
            panic!("the reference names a directory");
        };
        assert!(!loaded.contracts().is_empty());

        system.qalens.contracts = Some("no-such-contracts".into());
        let err = format!("{:#}", load_contracts(&system).err().unwrap());
        assert!(
            err.contains("x-qalens.contracts:") && err.contains("no-such-contracts"),
            "{err}"
        );

        system.qalens.contracts = None;
        assert!(load_contracts(&system).unwrap().is_none());
    }

    #[test]
    fn a_file_named_as_contracts_is_read_as_an_openapi_document() {
        let mut system = System::reference().unwrap();
        let shop = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../contracts/tools/tests/fixtures/openapi/shop/v1.yaml");
        system.qalens.contracts = Some(shop.clone());
        let Some(RunContracts::OpenApi(doc)) = load_contracts(&system).unwrap() else {
            panic!("{} was not read as OpenAPI", shop.display());
        };
        assert_eq!(doc.operations.len(), 1);
        let item = shop.with_file_name("schemas").join("item.yaml");
        system.qalens.contracts = Some(item);
        let err = format!("{:#}", load_contracts(&system).err().unwrap());
        assert!(err.contains("no top-level `openapi` key"), "{err}");
    }
}
