//! Why a shared check failed or could not be made: [`CheckError`].

use std::path::PathBuf;

use crate::clients::{ClientError, Exchange};

/// A shared check's failure: what it expected, what it saw and the exchange it looked at;
/// or why the run's contracts cannot answer it.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("no Retry-After header\n{exchange}")]
    NoRetryAfter { exchange: Box<Exchange> },
    #[error("Retry-After: {value:?} is not a whole number of seconds of at least 1\n{exchange}")]
    BadRetryAfter {
        value: String,
        exchange: Box<Exchange>,
    },
    #[error("the response body is not JSON ({cause})\n{exchange}")]
    NotJson {
        cause: serde_json::Error,
        exchange: Box<Exchange>,
    },
    #[error("expected JSON field {path:?} to be {expected:?}, saw {seen}\n{exchange}")]
    FieldDiffers {
        path: String,
        expected: String,
        seen: serde_json::Value,
        exchange: Box<Exchange>,
    },
    #[error(
        "expected JSON field {path:?} to be {expected:?}; the body has no such field\n{exchange}"
    )]
    NoSuchField {
        path: String,
        expected: String,
        exchange: Box<Exchange>,
    },
    #[error(
        "the creation's Location {location:?} ends in no id and its body has no `id`\n{exchange}"
    )]
    LocationWithoutId {
        location: String,
        exchange: Box<Exchange>,
    },
    #[error("the creation answered neither a Location header nor a body with an `id`\n{exchange}")]
    NothingCreated { exchange: Box<Exchange> },

    // The run's contracts (`file` is the system file).
    #[error(
        "{}: x-qalens.contracts names a directory of JSON Schemas, not an OpenAPI document",
        .file.display()
    )]
    SchemasNotOpenApi { file: PathBuf },
    #[error(
        "{} names no OpenAPI document (x-qalens.contracts: a .yaml or .json file with a \
         top-level `openapi` key)",
        .file.display()
    )]
    NoOpenApi { file: PathBuf },
    #[error(
        "{}: x-qalens.contracts names the OpenAPI document {}: contracts by name and version \
         need a directory of JSON Schemas with an index.json; check responses with `Then every \
         response of the scenario conforms to the OpenAPI document`",
        .file.display(),
        .document.display()
    )]
    OpenApiNotSchemas { file: PathBuf, document: PathBuf },
    #[error(
        "{} names no contracts (x-qalens.contracts: a directory with an index.json)",
        .file.display()
    )]
    NoContracts { file: PathBuf },
    /// No contract of that name and version (the message lists the known ones).
    #[error("{0}")]
    UnknownContract(contract_tools::schema::ContractError),
    #[error("{id} names no routing key")]
    NoRoutingKey { id: String },
    /// An example that does not serialise.
    #[error("{0}")]
    Json(serde_json::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl CheckError {
    /// Whether the run's early stop ended a wait inside the check.
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, CheckError::Client(e) if e.is_cancelled())
    }
}
