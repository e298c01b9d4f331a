//! Reading an OpenAPI document: YAML or JSON, its `openapi` version, and the files its
//! `$ref`s name, bundled into the one document so that every reference is local.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::index::ContractError;

/// The root key under which the files that `$ref`s name are bundled, by their path
/// relative to the document (`#/x-qalens-files/schemas~1pet.yaml/...`).
pub(super) const FILES_KEY: &str = "x-qalens-files";

/// The OpenAPI versions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// 3.0.x: schema objects are an extended subset of JSON Schema draft 05 (`nullable`,
    /// boolean `exclusiveMinimum`), converted before use.
    V30,
    /// 3.1.x: schema objects are JSON Schema draft 2020-12.
    V31,
}

/// Whether `path` holds an OpenAPI document: a YAML or JSON file whose top level has an
/// `openapi` key. A directory, or a file that does not parse, is not one.
pub fn is_openapi(path: &Path) -> bool {
    path.is_file()
        && parse_file(path)
            .ok()
            .is_some_and(|v| v.get("openapi").is_some())
}

/// Reads a YAML or JSON file (JSON is YAML) into JSON values; mapping keys that are not
/// strings (`200:` as a status code) become strings.
pub(super) fn parse_file(path: &Path) -> Result<Value, ContractError> {
    let text = std::fs::read_to_string(path).map_err(|source| ContractError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_text(path, &text)
}

pub(super) fn parse_text(path: &Path, text: &str) -> Result<Value, ContractError> {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        ContractError::Yaml {
            path: path.to_owned(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    Ok(to_json(yaml))
}

fn to_json(yaml: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Number(n) => n.to_string(),
                        Y::Bool(b) => b.to_string(),
                        other => serde_yaml_ng::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => to_json(tagged.value),
    }
}

/// The document at `path`, its version, and every file its `$ref`s reach bundled under
/// [`FILES_KEY`] with the references rewritten to local ones.
pub(super) fn load(path: &Path) -> Result<(Value, Version), ContractError> {
    let mut root = parse_file(path)?;
    let version = version(path, &root)?;
    let dir = path.parent().unwrap_or(Path::new("")).to_owned();
    let mut files: BTreeMap<String, Value> = BTreeMap::new();
    let mut queue: VecDeque<(String, PathBuf)> = VecDeque::new();
    rewrite_refs(&mut root, path, &dir, None, &mut files, &mut queue)?;
    while let Some((key, file)) = queue.pop_front() {
        let mut value = parse_file(&file)?;
        files.insert(key.clone(), Value::Null);
        rewrite_refs(&mut value, &file, &dir, Some(&key), &mut files, &mut queue)?;
        files.insert(key, value);
    }
    if !files.is_empty()
        && let Some(map) = root.as_object_mut()
    {
        map.insert(
            FILES_KEY.to_owned(),
            Value::Object(files.into_iter().collect::<Map<_, _>>()),
        );
    }
    Ok((root, version))
}

fn version(path: &Path, root: &Value) -> Result<Version, ContractError> {
    let given = root.get("openapi").ok_or_else(|| {
        ContractError::invalid(path, "not an OpenAPI document: no top-level `openapi` key")
    })?;
    let text = match given {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.starts_with("3.0") {
        Ok(Version::V30)
    } else if text.starts_with("3.1") {
        Ok(Version::V31)
    } else {
        Err(ContractError::invalid(
            path,
            format!("openapi: {text:?}: only OpenAPI 3.0 and 3.1 documents are read"),
        ))
    }
}

/// Escapes a JSON pointer token (`~` and `/`).
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Rewrites every `$ref` in `value` (read from `file`) to a local one: `#/...` in a
/// bundled file gets the file's prefix, `other.yaml#/...` points into the bundled copy
/// of `other.yaml` (queued to be read once).
fn rewrite_refs(
    value: &mut Value,
    file: &Path,
    root_dir: &Path,
    bundled_as: Option<&str>,
    files: &mut BTreeMap<String, Value>,
    queue: &mut VecDeque<(String, PathBuf)>,
) -> Result<(), ContractError> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                let (target, fragment) = reference
                    .split_once('#')
                    .map_or((reference.as_str(), ""), |(t, f)| (t, f));
                let rewritten = if target.is_empty() {
                    bundled_as.map(|key| format!("#/{FILES_KEY}/{}{fragment}", escape(key)))
                } else {
                    if target.contains("://") {
                        return Err(ContractError::invalid(
                            file,
                            format!(
                                "$ref {reference:?}: only local (#/...) and relative file references are resolved"
                            ),
                        ));
                    }
                    let base = file.parent().unwrap_or(Path::new(""));
                    let full = normalize(&base.join(target));
                    let key = full
                        .strip_prefix(normalize(root_dir))
                        .unwrap_or(&full)
                        .to_string_lossy()
                        .into_owned();
                    if !full.is_file() {
                        return Err(ContractError::invalid(
                            file,
                            format!("$ref {reference:?}: no such file {}", full.display()),
                        ));
                    }
                    if !files.contains_key(&key) && !queue.iter().any(|(k, _)| *k == key) {
                        queue.push_back((key.clone(), full));
                    }
                    Some(format!("#/{FILES_KEY}/{}{fragment}", escape(&key)))
                };
                if let Some(rewritten) = rewritten {
                    *reference = rewritten;
                }
            }
            for (_, v) in map.iter_mut() {
                rewrite_refs(v, file, root_dir, bundled_as, files, queue)?;
            }
        }
        Value::Array(items) => {
            for v in items {
                rewrite_refs(v, file, root_dir, bundled_as, files, queue)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
