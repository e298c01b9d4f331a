//! `index.json`, the list of a contracts directory, read the same way for the registry
//! ([`crate::schema::Registry`]) and the breaking-change diff ([`crate::diff`]).
//!
//! [`load`] parses the index into [`IndexEntry`]s, lets the caller check each entry,
//! rejects a (name, version) listed twice and reads every listed schema file as JSON; the
//! caller builds what it needs from each file. Every failure is a [`ContractError`] whose
//! message starts with the file it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::schema::{Endpoint, Kind, Violations};

/// The name of the index file in a contracts directory.
pub const INDEX_FILE: &str = "index.json";

/// What every contract's `$id` starts with: `urn:qalens:contract:<Name>:v<N>`.
pub const ID_PREFIX: &str = "urn:qalens:contract:";

/// The `$id` of contract `name` at `version`.
pub fn schema_id(name: &str, version: u32) -> String {
    format!("{ID_PREFIX}{name}:v{version}")
}

/// `urn:qalens:contract:<Name>:v<N>` -> (Name, N); the error is a sentence quoting `id`.
pub fn parse_id(id: &str) -> Result<(String, u32), String> {
    let form = format!("\"{ID_PREFIX}<Name>:v<N>\"");
    let rest = id
        .strip_prefix(ID_PREFIX)
        .ok_or_else(|| format!("$id {id:?} is not of the form {form}"))?;
    let (name, version) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("$id {id:?} has no version (expected {form})"))?;
    let version = version
        .strip_prefix('v')
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            format!("$id {id:?} has no version: {version:?} is not v<N> (expected {form})")
        })?;
    if name.is_empty() {
        return Err(format!("$id {id:?} has no contract name (expected {form})"));
    }
    Ok((name.to_owned(), version))
}

/// One entry of `index.json`'s `contracts` array.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub version: u32,
    pub kind: Kind,
    /// The schema file, relative to the index.
    pub file: String,
    /// Services that send the payload.
    #[serde(default)]
    pub producers: Vec<String>,
    /// Services that receive and read it.
    #[serde(default)]
    pub consumers: Vec<String>,
    /// Request and response contracts: where they apply.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Message contracts: the AMQP exchange.
    pub exchange: Option<String>,
    /// Message contracts: the routing key.
    pub routing_key: Option<String>,
    /// Request contracts: lower-case header names the receiver requires.
    #[serde(default)]
    pub required_headers: Vec<String>,
    /// Keys this version does not know: the registry refuses them, the diff ignores them
    /// (the other side may come from another revision).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Why contract files could not be loaded, or a contract could not be found. Every
/// message but [`ContractError::Unknown`]'s starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: listed in {} but cannot be read: {source}", path.display(), index.display())]
    Listed {
        path: PathBuf,
        index: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: invalid JSON at line {line} column {column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}:{line}:{column}: invalid YAML: {message}", path.display())]
    Yaml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: the schema does not compile: {message}", path.display())]
    Compile { path: PathBuf, message: String },
    #[error("{}: {keyword} is {found}, but the index entry says {expected}", path.display())]
    Mismatch {
        path: PathBuf,
        keyword: &'static str,
        found: String,
        expected: String,
    },
    #[error("{}: example {index} does not validate:\n{violations}", path.display())]
    Example {
        path: PathBuf,
        /// Position in the `examples` array, from 0.
        index: usize,
        violations: Violations,
    },
    #[error("no contract {name} v{version}; known: {known}")]
    Unknown {
        name: String,
        version: u32,
        known: String,
    },
}

impl ContractError {
    /// The file the error is about (none for an unknown contract).
    pub fn path(&self) -> Option<&Path> {
        match self {
            ContractError::Io { path, .. }
            | ContractError::Listed { path, .. }
            | ContractError::Json { path, .. }
            | ContractError::Yaml { path, .. }
            | ContractError::Invalid { path, .. }
            | ContractError::Compile { path, .. }
            | ContractError::Mismatch { path, .. }
            | ContractError::Example { path, .. } => Some(path),
            ContractError::Unknown { .. } => None,
        }
    }

    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        ContractError::Invalid {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// Reads and parses a JSON file.
pub(crate) fn read_json(path: &Path) -> Result<Value, ContractError> {
    let text = std::fs::read_to_string(path).map_err(|source| ContractError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_json(path, &text)
}

/// Parses JSON text read from `path`.
pub(crate) fn parse_json(path: &Path, text: &str) -> Result<Value, ContractError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at line {line} column {column}"))
            .map_or_else(|| full.clone(), str::to_owned);
        ContractError::Json {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    })
}

/// The entries of the parsed index file `index`.
pub fn entries(index: &Path, value: &Value) -> Result<Vec<IndexEntry>, ContractError> {
    let list = value
        .get("contracts")
        .and_then(Value::as_array)
        .ok_or_else(|| ContractError::invalid(index, "no \"contracts\" array"))?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry.clone())
                .map_err(|e| ContractError::invalid(index, format!("contracts[{i}]: {e}")))
        })
        .collect()
}

/// Loads what the parsed index file `index` lists, entry by entry in index order:
/// `check(i, entry)`, then the duplicate check, then the file (relative to the index,
/// read with `read`) parsed as JSON and handed to `build`. Stops at the first error.
pub(crate) fn load<T>(
    index: &Path,
    value: &Value,
    read: impl Fn(&Path) -> io::Result<String>,
    mut check: impl FnMut(usize, &IndexEntry) -> Result<(), ContractError>,
    mut build: impl FnMut(IndexEntry, PathBuf, Value) -> Result<T, ContractError>,
) -> Result<Vec<T>, ContractError> {
    let base = index.parent().unwrap_or(Path::new(""));
    let mut seen = BTreeSet::new();
    let mut built = Vec::new();
    for (i, entry) in entries(index, value)?.into_iter().enumerate() {
        check(i, &entry)?;
        if !seen.insert((entry.name.clone(), entry.version)) {
            return Err(ContractError::invalid(
                index,
                format!(
                    "contracts[{i}]: {} v{} is listed twice",
                    entry.name, entry.version
                ),
            ));
        }
        let file = base.join(&entry.file);
        let text = read(&file).map_err(|source| ContractError::Listed {
            path: file.clone(),
            index: index.to_owned(),
            source,
        })?;
        let schema = parse_json(&file, &text)?;
        built.push(build(entry, file, schema)?);
    }
    Ok(built)
}
