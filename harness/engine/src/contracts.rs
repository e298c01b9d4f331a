//! The run's contracts: what `x-qalens.contracts` names (a directory of JSON Schemas with
//! an `index.json`, or an OpenAPI 3.0/3.1 document), read once per run, or what an
//! enabled pack bundles.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use contract_tools::openapi::OpenApi;
use contract_tools::schema::{ContractError, Registry};
use qalens_model::system::System;

use crate::error::Chain;

/// Why the contracts `x-qalens.contracts` names could not be read.
#[derive(Debug, thiserror::Error)]
#[error("x-qalens.contracts: {}: {}", .path.display(), Chain(.cause))]
pub struct ContractsError {
    /// The file or directory, as the system file's directory makes it.
    pub path: PathBuf,
    pub cause: ContractError,
}

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
pub fn load_contracts(system: &System) -> Result<Option<RunContracts>, ContractsError> {
    let Some(path) = &system.qalens.contracts else {
        return Ok(None);
    };
    let path = system.dir.join(path);
    let loaded = if path.is_file() {
        OpenApi::load(&path).map(|doc| RunContracts::OpenApi(Arc::new(doc)))
    } else {
        Registry::load_dir(&path).map(|r| RunContracts::Schemas(Arc::new(r)))
    };
    match loaded {
        Ok(loaded) => Ok(Some(loaded)),
        Err(cause) => Err(ContractsError { path, cause }),
    }
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
        let err = load_contracts(&system).err().unwrap().to_string();
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
        let err = load_contracts(&system).err().unwrap().to_string();
        assert!(err.contains("no top-level `openapi` key"), "{err}");
    }
}
