//! Contract tooling that works on any system's contracts, not only the reference system's.
//!
//! - [`schema`]: a registry of JSON Schema (draft 2020-12) contracts listed in an
//!   `index.json`, loaded from any directory at run time ([`schema::Registry::load_dir`])
//!   or from files compiled into a binary ([`schema::Registry::from_files`]); it validates
//!   payloads and finds the contract of an endpoint or a message.
//! - [`index`]: the one reader of `index.json` and the `urn:qalens:contract:` ids.
//! - [`diff`]: the breaking-change detector between two versions of a contracts directory.
//! - [`openapi`]: OpenAPI 3.0 and 3.1 documents as contracts: their diff, and HTTP
//!   exchanges checked against their operations.
//! - [`jwt`]: the `tier` claim of a bearer token (the harness mints tokens with it, the
//!   reference gateway reads it).
//!
//! The reference system's own payloads and their bundled schemas are the `contracts`
//! crate. Run the tests with `cargo test -p contract-tools`.

pub mod diff;
pub mod index;
pub mod jwt;
pub mod openapi;
pub mod schema;
