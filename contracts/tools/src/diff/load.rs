//! Reading one side of a diff: a contracts directory, an `index.json` or one schema file.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Kind, SchemaDoc};
use crate::index::{self, ContractError, ID_PREFIX, INDEX_FILE, parse_id, read_json};

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

/// Reads one side of a diff:
/// - a contracts directory: its `index.json` and the schema files it lists;
/// - an `index.json` (any JSON file whose top level has a `contracts` array): the same;
/// - a single schema file: its name and version come from its `$id`
///   (`urn:qalens:contract:<Name>:v<N>`), its kind from `kind` or else from the entry of
///   a sibling `index.json` listing that file. `kind` is ignored in the other two cases.
///
/// In index mode a schema's `$id`, when present, must agree with its index entry.
pub fn load_side(path: &Path, kind: Option<Kind>) -> Result<Vec<OwnedDoc>, ContractError> {
    if path.is_dir() {
        let index = path.join(INDEX_FILE);
        let value = read_json(&index)?;
        return load_index(&index, &value);
    }
    let value = read_json(path)?;
    if value.get("contracts").is_some_and(Value::is_array) && value.get("$id").is_none() {
        return load_index(path, &value);
    }
    load_single(path, value, kind)
}

fn load_index(index: &Path, value: &Value) -> Result<Vec<OwnedDoc>, ContractError> {
    index::load(
        index,
        value,
        |file| std::fs::read_to_string(file),
        |_, _| Ok(()),
        |entry, file, schema| {
            check_is_schema(&file, &schema)?;
            if let Some(id) = schema.get("$id") {
                let id = id
                    .as_str()
                    .ok_or_else(|| ContractError::invalid(&file, "$id is not a string"))?;
                let (name, version) = parse_id(id).map_err(|m| ContractError::invalid(&file, m))?;
                if name != entry.name || version != entry.version {
                    return Err(ContractError::invalid(
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
            Ok(OwnedDoc {
                name: entry.name,
                version: entry.version,
                kind: entry.kind,
                schema,
                path: file,
            })
        },
    )
}

fn load_single(
    path: &Path,
    schema: Value,
    kind: Option<Kind>,
) -> Result<Vec<OwnedDoc>, ContractError> {
    check_is_schema(path, &schema)?;
    let id = schema.get("$id").and_then(Value::as_str).ok_or_else(|| {
        ContractError::invalid(
            path,
            format!(
                "no \"$id\": a single schema file needs \"$id\": \"{ID_PREFIX}<Name>:v<N>\" to give its name and version"
            ),
        )
    })?;
    let (name, version) = parse_id(id).map_err(|m| ContractError::invalid(path, m))?;
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

fn kind_from_sibling_index(path: &Path) -> Result<Kind, ContractError> {
    let index = path.parent().unwrap_or(Path::new("")).join(INDEX_FILE);
    let file_name = path.file_name().unwrap_or_default();
    if !index.is_file() {
        return Err(ContractError::invalid(
            path,
            format!(
                "kind unknown: there is no {} listing this file; give the kind (request, response, message or headers)",
                index.display()
            ),
        ));
    }
    let value = read_json(&index)?;
    index::entries(&index, &value)?
        .into_iter()
        .find(|e| Path::new(&e.file).file_name() == Some(file_name))
        .map(|e| e.kind)
        .ok_or_else(|| {
            ContractError::invalid(
                path,
                format!(
                    "kind unknown: {} does not list this file; give the kind (request, response, message or headers)",
                    index.display()
                ),
            )
        })
}

fn check_is_schema(path: &Path, schema: &Value) -> Result<(), ContractError> {
    match schema {
        Value::Object(_) | Value::Bool(_) => Ok(()),
        _ => Err(ContractError::invalid(
            path,
            "not a JSON Schema (expected an object at the top level)",
        )),
    }
}
