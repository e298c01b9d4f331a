//! An OpenAPI document read into its operations: for each, the parameters, the request
//! body and the responses, every schema converted to JSON Schema draft 2020-12 (with
//! `$schema` saying so) and made self-contained (the document's `components` and bundled
//! files ride along at its root, so `#/components/schemas/...` resolves in it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::convert::schema_30;
use super::load::{self, FILES_KEY, Version};
use crate::index::ContractError;

/// The HTTP methods an OpenAPI path item may hold, as written there.
pub(super) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How many `$ref`s may be chained before the reader gives up.
const MAX_REF_CHAIN: usize = 32;

/// One OpenAPI 3.0 or 3.1 document, read and checked: every `$ref` resolves and every
/// schema compiles.
#[derive(Debug, Clone)]
pub struct OpenApi {
    /// The file it was read from.
    pub path: PathBuf,
    pub version: Version,
    /// The path of the first `servers` URL (`/api` of `https://shop.example/api`),
    /// without a trailing `/`; operation paths are relative to it.
    pub base_path: String,
    pub operations: Vec<Operation>,
}

/// One operation: a method on a path template.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Upper case, e.g. `GET`.
    pub method: String,
    /// The path template as written, e.g. `/pets/{petId}`.
    pub path: String,
    pub operation_id: Option<String>,
    /// By location (`path`, `query`, `header`, `cookie`) and name (header names lower
    /// case); path-level parameters included unless the operation overrides them.
    pub parameters: BTreeMap<(String, String), Parameter>,
    pub request_body: Option<RequestBody>,
    /// By status as written (`200`, `2XX`, `default`).
    pub responses: BTreeMap<String, Response>,
}

impl Operation {
    /// `operationId (METHOD /path)`, or `METHOD /path` without an operationId.
    pub fn label(&self) -> String {
        match &self.operation_id {
            Some(id) => format!("{id} ({} {})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// What identifies the operation across versions: the method and the path with its
    /// parameter names left out (`GET /pets/{}`).
    pub fn key(&self) -> String {
        format!("{} {}", self.method, template_shape(&self.path))
    }
}

/// `/pets/{petId}` -> `/pets/{}`.
fn template_shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub required: bool,
    /// Self-contained JSON Schema (draft 2020-12).
    pub schema: Value,
}

#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    /// Self-contained JSON Schema by media type.
    pub content: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Response {
    /// Self-contained JSON Schema by media type; empty when the response has no body.
    pub content: BTreeMap<String, Value>,
    /// The compiled schemas of `content`, by media type.
    pub(super) validators: BTreeMap<String, Arc<jsonschema::Validator>>,
}

impl OpenApi {
    /// Reads the document at `path` (YAML or JSON) and the files its `$ref`s name.
    pub fn load(path: &Path) -> Result<OpenApi, ContractError> {
        let (root, version) = load::load(path)?;
        Reader {
            path,
            root: &root,
            version,
            embed: embedded(&root, version),
        }
        .read()
    }
}

/// What every self-contained schema carries at its root: the document's components
/// and bundled files, converted.
fn embedded(root: &Value, version: Version) -> Map<String, Value> {
    let mut embed = Map::new();
    if let Some(components) = root.get("components") {
        let mut components = components.clone();
        if version == Version::V30
            && let Some(Value::Object(schemas)) = components.get_mut("schemas")
        {
            for schema in schemas.values_mut() {
                *schema = schema_30(schema);
            }
        }
        embed.insert("components".to_owned(), components);
    }
    if let Some(Value::Object(files)) = root.get(FILES_KEY) {
        let files = files
            .iter()
            .map(|(k, v)| {
                let v = match version {
                    Version::V31 => v.clone(),
                    Version::V30 => file_30(v),
                };
                (k.clone(), v)
            })
            .collect();
        embed.insert(FILES_KEY.to_owned(), Value::Object(files));
    }
    embed
}

/// A bundled file of a 3.0 document converted: a schema, a document with
/// `components.schemas`, or a map of schemas.
fn file_30(file: &Value) -> Value {
    const SCHEMA_KEYS: &[&str] = &[
        "type",
        "properties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "$ref",
        "enum",
    ];
    let Value::Object(map) = file else {
        return file.clone();
    };
    if SCHEMA_KEYS.iter().any(|k| map.contains_key(*k)) {
        return schema_30(file);
    }
    let mut out = map.clone();
    if let Some(Value::Object(schemas)) =
        out.get_mut("components").and_then(|c| c.get_mut("schemas"))
    {
        for schema in schemas.values_mut() {
            *schema = schema_30(schema);
        }
        return Value::Object(out);
    }
    if map.contains_key("openapi") {
        return Value::Object(out);
    }
    Value::Object(map.iter().map(|(k, v)| (k.clone(), schema_30(v))).collect())
}

struct Reader<'a> {
    path: &'a Path,
    root: &'a Value,
    version: Version,
    embed: Map<String, Value>,
}

impl Reader<'_> {
    fn invalid(&self, at: &str, message: impl std::fmt::Display) -> ContractError {
        ContractError::invalid(self.path, format!("{at}: {message}"))
    }

    /// Follows `$ref`s of a non-schema object (parameter, request body, response, path
    /// item) to its target.
    fn resolve<'v>(&'v self, value: &'v Value, at: &str) -> Result<&'v Value, ContractError> {
        let mut current = value;
        for _ in 0..MAX_REF_CHAIN {
            let Some(reference) = current.get("$ref") else {
                return Ok(current);
            };
            let reference = reference
                .as_str()
                .ok_or_else(|| self.invalid(at, "$ref is not a string"))?;
            let fragment = reference
                .strip_prefix('#')
                .ok_or_else(|| self.invalid(at, format!("$ref {reference:?} is not resolved")))?;
            current = self
                .root
                .pointer(fragment)
                .ok_or_else(|| self.invalid(at, format!("$ref {reference:?} points to nothing")))?;
        }
        Err(self.invalid(at, format!("more than {MAX_REF_CHAIN} chained $refs")))
    }

    /// A schema converted and made self-contained; it must compile.
    fn schema(&self, schema: Option<&Value>, at: &str) -> Result<Value, ContractError> {
        self.compiled(schema, at).map(|(schema, _)| schema)
    }

    /// [`Reader::schema`] and its validator.
    fn compiled(
        &self,
        schema: Option<&Value>,
        at: &str,
    ) -> Result<(Value, jsonschema::Validator), ContractError> {
        let schema = schema.cloned().unwrap_or(Value::Bool(true));
        let schema = match self.version {
            Version::V30 => schema_30(&schema),
            Version::V31 => schema,
        };
        let standalone = match schema {
            Value::Object(mut map) => {
                // Said, not assumed: a reader with another default draft reads it right.
                map.entry("$schema")
                    .or_insert_with(|| Value::from(crate::schema::DRAFT_2020_12));
                for (k, v) in &self.embed {
                    map.entry(k.clone()).or_insert_with(|| v.clone());
                }
                Value::Object(map)
            }
            other => other,
        };
        let validator = jsonschema::draft202012::options()
            .build(&standalone)
            .map_err(|e| ContractError::Compile {
                path: self.path.to_owned(),
                message: format!("{at}: {e}"),
            })?;
        Ok((standalone, validator))
    }

    fn content(&self, value: &Value, at: &str) -> Result<BTreeMap<String, Value>, ContractError> {
        Ok(self
            .compiled_content(value, at)?
            .into_iter()
            .map(|(media, (schema, _))| (media, schema))
            .collect())
    }

    /// Each media type of `value`'s `content` with its schema and validator.
    fn compiled_content(
        &self,
        value: &Value,
        at: &str,
    ) -> Result<BTreeMap<String, (Value, jsonschema::Validator)>, ContractError> {
        let mut content = BTreeMap::new();
        if let Some(Value::Object(media)) = value.get("content") {
            for (media_type, object) in media {
                let at = format!("{at}/content/{}", load::escape(media_type));
                content.insert(
                    media_type.to_ascii_lowercase(),
                    self.compiled(object.get("schema"), &at)?,
                );
            }
        }
        Ok(content)
    }

    fn parameters(
        &self,
        list: Option<&Value>,
        at: &str,
        into: &mut BTreeMap<(String, String), Parameter>,
    ) -> Result<(), ContractError> {
        let Some(list) = list else { return Ok(()) };
        let list = list
            .as_array()
            .ok_or_else(|| self.invalid(at, "parameters is not a list"))?;
        for (i, p) in list.iter().enumerate() {
            let at = format!("{at}/{i}");
            let p = self.resolve(p, &at)?;
            let field = |k: &str| p.get(k).and_then(Value::as_str);
            let (Some(name), Some(location)) = (field("name"), field("in")) else {
                return Err(self.invalid(&at, "a parameter needs `name` and `in`"));
            };
            let name = if location == "header" {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            };
            let schema = match p.get("schema") {
                Some(schema) => self.schema(Some(schema), &format!("{at}/schema"))?,
                // `content` instead of `schema`: its one media type's schema.
                None => self
                    .content(p, &at)?
                    .into_values()
                    .next()
                    .unwrap_or(Value::Bool(true)),
            };
            let required = location == "path" || p.get("required") == Some(&Value::Bool(true));
            into.insert((location.to_owned(), name), Parameter { required, schema });
        }
        Ok(())
    }

    fn read(&self) -> Result<OpenApi, ContractError> {
        let paths = match self.root.get("paths") {
            Some(Value::Object(paths)) => paths.clone(),
            None if self.root.get("webhooks").is_some() => Map::new(),
            _ => return Err(self.invalid("/paths", "an OpenAPI document needs `paths`")),
        };
        let mut operations = Vec::new();
        for (path, item) in &paths {
            let at = format!("/paths/{}", load::escape(path));
            if !path.starts_with('/') {
                return Err(self.invalid(&at, "a path must start with '/'"));
            }
            let item = self.resolve(item, &at)?;
            let mut shared = BTreeMap::new();
            self.parameters(
                item.get("parameters"),
                &format!("{at}/parameters"),
                &mut shared,
            )?;
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let at = format!("{at}/{method}");
                let mut parameters = shared.clone();
                self.parameters(
                    op.get("parameters"),
                    &format!("{at}/parameters"),
                    &mut parameters,
                )?;
                let request_body = match op.get("requestBody") {
                    Some(body) => {
                        let at = format!("{at}/requestBody");
                        let body = self.resolve(body, &at)?;
                        Some(RequestBody {
                            required: body.get("required") == Some(&Value::Bool(true)),
                            content: self.content(body, &at)?,
                        })
                    }
                    None => None,
                };
                let mut responses = BTreeMap::new();
                if let Some(Value::Object(list)) = op.get("responses") {
                    for (status, response) in list {
                        if status.starts_with("x-") {
                            continue;
                        }
                        let at = format!("{at}/responses/{status}");
                        let response = self.resolve(response, &at)?;
                        let mut content = BTreeMap::new();
                        let mut validators = BTreeMap::new();
                        for (media, (schema, validator)) in self.compiled_content(response, &at)? {
                            validators.insert(media.clone(), Arc::new(validator));
                            content.insert(media, schema);
                        }
                        responses.insert(
                            status.to_ascii_uppercase().replace("DEFAULT", "default"),
                            Response {
                                content,
                                validators,
                            },
                        );
                    }
                }
                operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    operation_id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    parameters,
                    request_body,
                    responses,
                });
            }
        }
        Ok(OpenApi {
            path: self.path.to_owned(),
            version: self.version,
            base_path: base_path(self.root),
            operations,
        })
    }
}

/// The path of the first server URL, without a trailing `/` (empty for none or `/`).
fn base_path(root: &Value) -> String {
    let url = root
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .unwrap_or("");
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("", |j| &url[i + 3 + j..]),
        None => url,
    };
    if path.starts_with('/') && !path.contains('{') {
        path.trim_end_matches('/').to_owned()
    } else {
        String::new()
    }
}
