//! OpenAPI 3.0 and 3.1 documents as contracts.
//!
//! [`OpenApi::load`] reads a document (YAML or JSON) and the files its relative `$ref`s
//! name, converts every schema to JSON Schema draft 2020-12 (3.0's `nullable`, boolean
//! `exclusiveMinimum`/`exclusiveMaximum`, ignored `$ref` siblings: `convert.rs`) and
//! compiles it, so a document that loads has every reference resolved.
//!
//! - [`diff()`]: breaking changes between two versions (`qalens contracts diff` when both
//!   sides are OpenAPI documents), each part of an operation judged by the JSON Schema
//!   diff ([`crate::diff`]) as a `request` (parameters, request body) or `response`.
//! - [`OpenApi::check_response`]: an HTTP exchange checked against its operation's
//!   response (the run-time check of `x-qalens.contracts` naming a document).
//!
//! Module map: `load.rs` (parsing, version, bundling referenced files), `convert.rs`
//! (3.0 schema objects to JSON Schema), `document.rs` (the operations and their
//! self-contained schemas), `diff.rs`, `validate.rs`.

mod convert;
mod diff;
mod document;
mod load;
#[cfg(test)]
mod tests;
mod validate;

pub use convert::schema_30;
pub use diff::{diff, render};
pub use document::{OpenApi, Operation, Parameter, RequestBody, Response};
pub use load::{Version, is_openapi};
pub use validate::Mismatch;
