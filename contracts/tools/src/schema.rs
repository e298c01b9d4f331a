//! Contract files and a registry to validate payloads with.
//!
//! Each contract is a JSON Schema (draft 2020-12) file named `<Name>.v<version>.json`,
//! listed in `index.json` with its kind, producers, consumers and endpoints or exchange.
//! Loading checks that every file's `$id` and `title` agree with its index entry, that
//! the schema compiles and that every one of its `examples` validates.
//!
//! [`Registry::load_dir`] reads a contracts directory (the reference system's, an older
//! revision, a user's own) from disk at run time; [`Registry::from_files`] reads files
//! compiled into a binary (the reference payloads crate bundles its own that way). Both
//! read `index.json` through [`crate::index`], as the diff does.

use std::fmt;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `$schema` every contract file declares.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

use crate::index::{self, schema_id};
pub use crate::index::{ContractError, INDEX_FILE, IndexEntry};

/// What a contract's schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An HTTP request body, as the receiving service accepts it.
    Request,
    /// An HTTP response body for the endpoint's listed statuses.
    Response,
    /// An AMQP message body on `exchange` with `routing_key`.
    Message,
    /// HTTP request headers: an object of lower-case header name to string value.
    Headers,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Message => "message",
            Kind::Headers => "headers",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP endpoint a request or response contract applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template; a `{param}` segment matches any one non-empty segment.
    pub path: String,
    /// Response statuses the contract describes (response contracts only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<u16>,
}

impl Endpoint {
    /// Whether a request with `method` on the concrete `path` hits this endpoint. The
    /// query string is ignored, and so are a scheme and authority (`http://host:8080`).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && template_literals(&self.path, path).is_some()
    }
}

/// The number of literal segments of `template` when the concrete `path` matches it.
pub(crate) fn template_literals(template: &str, path: &str) -> Option<usize> {
    let path = match path.find("://") {
        Some(i) => path[i + 3..].find('/').map_or("/", |j| &path[i + 3 + j..]),
        None => path,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut literals = 0;
    let mut concrete = path.split('/');
    for segment in template.split('/') {
        let actual = concrete.next()?;
        let is_param = segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}');
        if is_param {
            if actual.is_empty() {
                return None;
            }
        } else if segment == actual {
            literals += usize::from(!segment.is_empty());
        } else {
            return None;
        }
    }
    concrete.next().is_none().then_some(literals)
}

/// Every way an instance breaks a contract, each as `<JSON pointer>: <problem>`; the
/// pointer of the whole instance is written `(root)`.
///
/// Displayed one per line, e.g. `/amount_cents: 0 is less than the minimum of 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<String>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for Violations {}

/// One contract: its index entry, its schema and the compiled validator.
#[derive(Debug, Clone)]
pub struct Contract {
    pub name: String,
    pub version: u32,
    pub kind: Kind,
    /// File name relative to the index, `<Name>.v<version>.json`.
    pub file: String,
    /// Services that send the payload.
    pub producers: Vec<String>,
    /// Services that receive and read it.
    pub consumers: Vec<String>,
    /// Request and response contracts: where they apply.
    pub endpoints: Vec<Endpoint>,
    /// Message contracts: the AMQP exchange.
    pub exchange: Option<String>,
    /// Message contracts: the routing key.
    pub routing_key: Option<String>,
    /// Request contracts: lower-case header names the receiver requires.
    pub required_headers: Vec<String>,
    /// The whole schema document.
    pub schema: Value,
    /// The schema's `examples`, each valid.
    pub examples: Vec<Value>,
    validator: jsonschema::Validator,
}

impl Contract {
    /// `"<name> v<version>"`, e.g. `ChargeRequest v1`.
    pub fn id(&self) -> String {
        format!("{} v{}", self.name, self.version)
    }

    /// The schema's `$id`: `urn:qalens:contract:<name>:v<version>`.
    pub fn schema_id(&self) -> String {
        schema_id(&self.name, self.version)
    }

    /// Checks `instance` against the schema and reports every violation.
    pub fn validate(&self, instance: &Value) -> Result<(), Violations> {
        let violations: Vec<String> = self
            .validator
            .iter_errors(instance)
            .map(|e| {
                let pointer = e.instance_path().as_str();
                let pointer = if pointer.is_empty() {
                    "(root)"
                } else {
                    pointer
                };
                format!("{pointer}: {e}")
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Violations(violations))
        }
    }
}

/// A set of contracts loaded from one index.
#[derive(Debug, Clone)]
pub struct Registry {
    contracts: Vec<Contract>,
}

impl Registry {
    /// Loads an index and the files it lists from memory (for example files compiled into
    /// a binary with `include_str!`): `files` maps each file name to its text; `index` is
    /// the path reported in errors.
    pub fn from_files(index: &Path, files: &[(&str, &str)]) -> Result<Registry, ContractError> {
        let file = |name: &str| {
            files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| *text)
        };
        let value = index::parse_json(index, file(INDEX_FILE).unwrap_or_default())?;
        Registry::parse(index, &value, |path| {
            path.file_name()
                .and_then(|name| file(name.to_str()?))
                .map(str::to_owned)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
        })
    }

    /// Loads `dir/index.json` and the files it lists, from any directory at run time.
    pub fn load_dir(dir: &Path) -> Result<Registry, ContractError> {
        Registry::from_index_file(&dir.join(INDEX_FILE))
    }

    /// Loads an index file and the files it lists, relative to the index's directory.
    pub fn from_index_file(index: &Path) -> Result<Registry, ContractError> {
        let value = index::read_json(index)?;
        Registry::parse(index, &value, |path| std::fs::read_to_string(path))
    }

    /// Builds the registry from the parsed index; `read` returns a listed file's text.
    fn parse(
        index: &Path,
        value: &serde_json::Value,
        read: impl Fn(&Path) -> io::Result<String>,
    ) -> Result<Registry, ContractError> {
        if let Some(key) = value
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "contracts"))
        {
            return Err(ContractError::invalid(
                index,
                format!("unknown field `{key}`"),
            ));
        }
        let contracts = index::load(
            index,
            value,
            read,
            |i, entry| check_entry(index, i, entry),
            |entry, path, schema| load_contract(entry, &path, schema),
        )?;
        Ok(Registry { contracts })
    }

    /// Every contract, in index order.
    pub fn contracts(&self) -> &[Contract] {
        &self.contracts
    }

    /// The contract `name` at `version`; the error lists the known contracts.
    pub fn get(&self, name: &str, version: u32) -> Result<&Contract, ContractError> {
        self.contracts
            .iter()
            .find(|c| c.name == name && c.version == version)
            .ok_or_else(|| ContractError::Unknown {
                name: name.to_string(),
                version,
                known: self
                    .contracts
                    .iter()
                    .map(Contract::id)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The highest version of `name`.
    pub fn latest(&self, name: &str) -> Option<&Contract> {
        self.contracts
            .iter()
            .filter(|c| c.name == name)
            .max_by_key(|c| c.version)
    }

    /// The response contract for `status` of `method` on the concrete `path` (e.g.
    /// `/payments/refunds-by-order/3f..`). The template with the most literal segments
    /// wins, then the highest version.
    pub fn response_for(&self, method: &str, path: &str, status: u16) -> Option<&Contract> {
        self.find(Kind::Response, method, path, |e| {
            e.statuses.contains(&status)
        })
    }

    /// The request contract of `method` on the concrete `path`.
    pub fn request_for(&self, method: &str, path: &str) -> Option<&Contract> {
        self.find(Kind::Request, method, path, |_| true)
    }

    fn find(
        &self,
        kind: Kind,
        method: &str,
        path: &str,
        accept: impl Fn(&Endpoint) -> bool,
    ) -> Option<&Contract> {
        self.contracts
            .iter()
            .filter(|c| c.kind == kind)
            .filter_map(|c| {
                c.endpoints
                    .iter()
                    .filter(|e| e.method.eq_ignore_ascii_case(method) && accept(e))
                    .filter_map(|e| template_literals(&e.path, path))
                    .max()
                    .map(|literals| ((literals, c.version), c))
            })
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, c)| c)
    }
}

/// Checks what an index entry must hold for its kind.
fn check_entry(index: &Path, i: usize, entry: &IndexEntry) -> Result<(), ContractError> {
    if let Some(key) = entry.unknown.keys().next() {
        return Err(ContractError::invalid(
            index,
            format!("contracts[{i}]: unknown field `{key}`"),
        ));
    }
    let id = format!("{} v{}", entry.name, entry.version);
    let fail = |problem: String| Err(ContractError::invalid(index, format!("{id}: {problem}")));
    let valid_name = entry.name.starts_with(|c: char| c.is_ascii_uppercase())
        && entry.name.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid_name {
        return fail("the name must be UpperCamelCase letters and digits".into());
    }
    if entry.version == 0 {
        return fail("versions start at 1".into());
    }
    let expected_file = format!("{}.v{}.json", entry.name, entry.version);
    if entry.file != expected_file {
        return fail(format!(
            "the file is {:?}, it must be {expected_file:?}",
            entry.file
        ));
    }
    let http = matches!(entry.kind, Kind::Request | Kind::Response);
    if http && entry.endpoints.is_empty() {
        return fail(format!("a {} contract needs endpoints", entry.kind));
    }
    if !http && !entry.endpoints.is_empty() {
        return fail(format!("a {} contract has no endpoints", entry.kind));
    }
    for e in &entry.endpoints {
        let at = format!("endpoint {} {}", e.method, e.path);
        if e.method.is_empty() || e.method != e.method.to_ascii_uppercase() {
            return fail(format!("{at}: the method must be upper case"));
        }
        if !e.path.starts_with('/') || e.path.contains(['?', '#']) {
            return fail(format!(
                "{at}: the path must start with '/' and have no query"
            ));
        }
        match (entry.kind, e.statuses.is_empty()) {
            (Kind::Response, true) => return fail(format!("{at}: a response lists its statuses")),
            (Kind::Request, false) => return fail(format!("{at}: a request has no statuses")),
            _ => {}
        }
        if let Some(s) = e.statuses.iter().find(|s| !(100..=599).contains(*s)) {
            return fail(format!("{at}: {s} is not an HTTP status"));
        }
    }
    let is_message = entry.kind == Kind::Message;
    match (
        is_message,
        entry.exchange.is_some(),
        entry.routing_key.is_some(),
    ) {
        (true, true, true) | (false, false, false) => {}
        (true, _, _) => return fail("a message contract needs exchange and routing_key".into()),
        (false, _, _) => {
            return fail(format!(
                "a {} contract has no exchange or routing_key",
                entry.kind
            ));
        }
    }
    if !entry.required_headers.is_empty() && entry.kind != Kind::Request {
        return fail("only request contracts have required_headers".into());
    }
    if let Some(h) = entry
        .required_headers
        .iter()
        .find(|h| h.is_empty() || **h != h.to_ascii_lowercase())
    {
        return fail(format!("required header {h:?} must be lower case"));
    }
    Ok(())
}

/// Parses, checks and compiles one contract file.
fn load_contract(entry: IndexEntry, file: &Path, schema: Value) -> Result<Contract, ContractError> {
    let Some(object) = schema.as_object() else {
        return Err(ContractError::invalid(
            file,
            "a schema must be a JSON object",
        ));
    };
    let keyword = |k: &str| object.get(k).and_then(Value::as_str);
    if keyword("$schema") != Some(DRAFT_2020_12) {
        return Err(ContractError::invalid(
            file,
            format!("$schema must be {DRAFT_2020_12:?}"),
        ));
    }
    let expected_id = schema_id(&entry.name, entry.version);
    for (name, expected) in [("$id", expected_id.as_str()), ("title", &entry.name)] {
        let found = keyword(name);
        if found != Some(expected) {
            return Err(ContractError::Mismatch {
                path: file.to_owned(),
                keyword: name,
                found: found.map_or_else(|| "missing".into(), |f| format!("{f:?}")),
                expected: format!("{expected:?}"),
            });
        }
    }
    if keyword("description").is_none_or(str::is_empty) {
        return Err(ContractError::invalid(file, "a description is required"));
    }
    let examples = match object.get("examples") {
        Some(Value::Array(examples)) if !examples.is_empty() => examples.clone(),
        _ => {
            return Err(ContractError::invalid(
                file,
                "examples must be an array of at least one valid instance",
            ));
        }
    };
    let validator = jsonschema::draft202012::options()
        .build(&schema)
        .map_err(|e| {
            let at = e.instance_path().as_str();
            ContractError::Compile {
                path: file.to_owned(),
                message: if at.is_empty() {
                    e.to_string()
                } else {
                    format!("at {at}: {e}")
                },
            }
        })?;
    let contract = Contract {
        name: entry.name,
        version: entry.version,
        kind: entry.kind,
        file: entry.file,
        producers: entry.producers,
        consumers: entry.consumers,
        endpoints: entry.endpoints,
        exchange: entry.exchange,
        routing_key: entry.routing_key,
        required_headers: entry.required_headers,
        schema,
        examples,
        validator,
    };
    for (index, example) in contract.examples.iter().enumerate() {
        contract
            .validate(example)
            .map_err(|violations| ContractError::Example {
                path: file.to_owned(),
                index,
                violations,
            })?;
    }
    Ok(contract)
}

#[cfg(test)]
mod tests;
