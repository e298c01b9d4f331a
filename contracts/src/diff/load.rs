//! Reading one side of a diff: a contracts directory, an `index.json` or one schema file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{Kind, SchemaDoc};

/// One contract version as read by [`load_side`].
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedDoc {
    pub name: String,
    pub version: u32,
    pub kind: Kind,
    pub schema: Value,
    /// The schema file it was read from.
    pub path: PathBuf,
}

impl OwnedDoc {
    pub fn as_doc(&self) -> SchemaDoc<'_> {
        SchemaDoc {
            name: &self.name,
            version: self.version,
            kind: self.kind,
            schema: &self.schema,
        }
    }
}

/// Why a side of the diff could not be read. Every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: listed in {} but cannot be read: {source}", path.display(), index.display())]
    Listed {
        path: PathBuf,
        index: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON at line {line} column {column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl DiffError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            DiffError::Io { path, .. }
            | DiffError::Listed { path, .. }
            | DiffError::Json { path, .. }
            | DiffError::Invalid { path, .. } => path,
        }
    }

    fn invalid(path: &Path, message: impl Into<String>) -> Self {
        DiffError::Invalid {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// An `index.json` entry; the other fields (producers, endpoints, ...) do not matter here.
#[derive(Deserialize)]
struct IndexEntry {
    name: String,
    version: u32,
    kind: Kind,
    file: String,
}

const ID_PREFIX: &str = "urn:qalens:contract:";

/// Reads one side of a diff:
/// - a contracts directory: its `index.json` and the schema files it lists;
/// - an `index.json` (any JSON file whose top level has a `contracts` array): the same;
/// - a single schema file: its name and version come from its `$id`
///   (`urn:qalens:contract:<Name>:v<N>`), its kind from `kind` or else from the entry of
///   a sibling `index.json` listing that file. `kind` is ignored in the other two cases.
///
/// In index mode a schema's `$id`, when present, must agree with its index entry.
pub fn load_side(path: &Path, kind: Option<Kind>) -> Result<Vec<OwnedDoc>, DiffError> {
    if path.is_dir() {
        let index = path.join("index.json");
        let value = read_json(&index)?;
        return load_index(&index, &value);
    }
    let value = read_json(path)?;
    if value.get("contracts").is_some_and(Value::is_array) && value.get("$id").is_none() {
        return load_index(path, &value);
    }
    load_single(path, value, kind)
}

fn read_json(path: &Path) -> Result<Value, DiffError> {
    let text = std::fs::read_to_string(path).map_err(|source| DiffError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_json(path, &text)
}

fn parse_json(path: &Path, text: &str) -> Result<Value, DiffError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at line {line} column {column}"))
            .map_or_else(|| full.clone(), str::to_owned);
        DiffError::Json {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    })
}

fn index_entries(index: &Path, value: &Value) -> Result<Vec<IndexEntry>, DiffError> {
    let list = value
        .get("contracts")
        .and_then(Value::as_array)
        .ok_or_else(|| DiffError::invalid(index, "no \"contracts\" array"))?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry.clone())
                .map_err(|e| DiffError::invalid(index, format!("contracts[{i}]: {e}")))
        })
        .collect()
}

fn load_index(index: &Path, value: &Value) -> Result<Vec<OwnedDoc>, DiffError> {
    let base = index.parent().unwrap_or(Path::new(""));
    let mut seen = BTreeSet::new();
    let mut docs = Vec::new();
    for (i, entry) in index_entries(index, value)?.into_iter().enumerate() {
        if !seen.insert((entry.name.clone(), entry.version)) {
            return Err(DiffError::invalid(
                index,
                format!(
                    "contracts[{i}]: {} v{} is listed twice",
                    entry.name, entry.version
                ),
            ));
        }
        let file = base.join(&entry.file);
        let text = std::fs::read_to_string(&file).map_err(|source| DiffError::Listed {
            path: file.clone(),
            index: index.to_owned(),
            source,
        })?;
        let schema = parse_json(&file, &text)?;
        check_is_schema(&file, &schema)?;
        if let Some(id) = schema.get("$id") {
            let id = id
                .as_str()
                .ok_or_else(|| DiffError::invalid(&file, "$id is not a string"))?;
            let (name, version) = parse_id(id).map_err(|m| DiffError::invalid(&file, m))?;
            if name != entry.name || version != entry.version {
                return Err(DiffError::invalid(
                    &file,
                    format!(
                        "$id {id:?} names {name} v{version} but {} lists this file as {} v{}",
                        index.display(),
                        entry.name,
                        entry.version
                    ),
                ));
            }
        }
        docs.push(OwnedDoc {
            name: entry.name,
            version: entry.version,
            kind: entry.kind,
            schema,
            path: file,
        });
    }
    Ok(docs)
}

fn load_single(path: &Path, schema: Value, kind: Option<Kind>) -> Result<Vec<OwnedDoc>, DiffError> {
    check_is_schema(path, &schema)?;
    let id = schema.get("$id").and_then(Value::as_str).ok_or_else(|| {
        DiffError::invalid(
            path,
            "no \"$id\": a single schema file needs \"$id\": \"urn:qalens:contract:<Name>:v<N>\" to give its name and version",
        )
    })?;
    let (name, version) = parse_id(id).map_err(|m| DiffError::invalid(path, m))?;
    let kind = match kind {
        Some(kind) => kind,
        None => kind_from_sibling_index(path)?,
    };
    Ok(vec![OwnedDoc {
        name,
        version,
        kind,
        schema,
        path: path.to_owned(),
    }])
}

fn kind_from_sibling_index(path: &Path) -> Result<Kind, DiffError> {
    let index = path.parent().unwrap_or(Path::new("")).join("index.json");
    let file_name = path.file_name().unwrap_or_default();
    if !index.is_file() {
        return Err(DiffError::invalid(
            path,
            format!(
                "kind unknown: there is no {} listing this file; give the kind (request, response, message or headers)",
                index.display()
            ),
        ));
    }
    let value = read_json(&index)?;
    index_entries(&index, &value)?
        .into_iter()
        .find(|e| Path::new(&e.file).file_name() == Some(file_name))
        .map(|e| e.kind)
        .ok_or_else(|| {
            DiffError::invalid(
                path,
                format!(
                    "kind unknown: {} does not list this file; give the kind (request, response, message or headers)",
                    index.display()
                ),
            )
        })
}

fn check_is_schema(path: &Path, schema: &Value) -> Result<(), DiffError> {
    match schema {
        Value::Object(_) | Value::Bool(_) => Ok(()),
        _ => Err(DiffError::invalid(
            path,
            "not a JSON Schema (expected an object at the top level)",
        )),
    }
}

/// `urn:qalens:contract:<Name>:v<N>` -> (Name, N).
pub(super) fn parse_id(id: &str) -> Result<(String, u32), String> {
    let form = "\"urn:qalens:contract:<Name>:v<N>\"";
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
