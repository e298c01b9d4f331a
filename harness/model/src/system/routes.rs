//! The routes a system file documents (`x-qalens.routes`): a list, or an OpenAPI 3
//! document whose operations with `security: []` are public. The route sweep reads them
//! when the gateway has no route endpoint of its own.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::qalens::Routes;
use crate::input::InputError;

/// Why the routes of an OpenAPI document cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// The document cannot be read (not a regular file, too large, not UTF-8, I/O).
    #[error("{0}")]
    Read(InputError),
    /// The document is no OpenAPI 3 document with operations.
    #[error("{}:{problem}", file.display())]
    Document {
        file: PathBuf,
        problem: DocumentError,
    },
}

/// What makes a text no OpenAPI 3 document to read routes from. The message follows
/// the file's name and a colon: it starts with `LINE:COL: ` where the position is
/// known, else with a space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// A character YAML does not allow, or nesting deeper than qalens reads.
    #[error("{line}:{column}: {message}")]
    Unreadable {
        line: usize,
        column: usize,
        message: String,
    },
    /// Not YAML (nor JSON); `at` is the line and column where the parser knows them.
    #[error("{}not an OpenAPI document: {message}", at_or_space(*at))]
    NotYaml {
        at: Option<(usize, usize)>,
        message: String,
    },
    #[error(" is not an OpenAPI 3 document: it has no `openapi: 3.x` at the top")]
    NotOpenApi3,
    #[error(" is not an OpenAPI document: it has no `paths`")]
    NoPaths,
    #[error(" is not an OpenAPI document: a key of `paths` is not a string")]
    PathNotAString,
    #[error(" has no operations: an OpenAPI document lists at least one")]
    NoOperations,
}

/// `LINE:COL: `, or a space where the position is unknown.
fn at_or_space(at: Option<(usize, usize)>) -> String {
    match at {
        Some((line, column)) => format!("{line}:{column}: "),
        None => " ".to_string(),
    }
}

/// One documented operation the route sweep calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentedRoute {
    pub method: String,
    pub path: String,
    /// Open to anybody by design (`public: true`, or `security: []` in OpenAPI).
    pub public: bool,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The routes `routes` documents; an OpenAPI path is relative to `dir`.
pub fn documented(routes: &Routes, dir: &Path) -> Result<Vec<DocumentedRoute>, RoutesError> {
    match routes {
        Routes::List(list) => Ok(list
            .iter()
            .map(|r| DocumentedRoute {
                method: r.method.to_ascii_uppercase(),
                path: r.path.clone(),
                public: r.public,
            })
            .collect()),
        Routes::OpenApi(o) => {
            let file = dir.join(&o.openapi);
            // Regular files only, at most 16 MiB: the error names the file once.
            let text = crate::input::read_text(&file, crate::input::MAX_DOCUMENT_BYTES)
                .map_err(RoutesError::Read)?;
            from_openapi(&text).map_err(|problem| RoutesError::Document { file, problem })
        }
    }
}

/// The operations of an OpenAPI 3 document (YAML or JSON). An operation is public when
/// its own `security` is an empty list, or it has none and the document's is empty.
pub(crate) fn from_openapi(text: &str) -> Result<Vec<DocumentedRoute>, DocumentError> {
    super::yaml::prescan(text).map_err(|e| DocumentError::Unreadable {
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let (at, message) = super::yaml::split_error(&e);
        DocumentError::NotYaml { at, message }
    })?;
    let version = doc.get("openapi").and_then(|v| v.as_str()).unwrap_or("");
    if !version.starts_with("3.") {
        return Err(DocumentError::NotOpenApi3);
    }
    let empty =
        |v: Option<&serde_yaml_ng::Value>| v.and_then(|s| s.as_sequence()).map(Vec::is_empty);
    let global_public = empty(doc.get("security")).unwrap_or(false);
    let paths = doc
        .get("paths")
        .and_then(|p| p.as_mapping())
        .ok_or(DocumentError::NoPaths)?;
    let mut routes = vec![];
    for (path, item) in paths {
        let path = path.as_str().ok_or(DocumentError::PathNotAString)?;
        let Some(item) = item.as_mapping() else {
            continue;
        };
        for (method, op) in item {
            let Some(method) = method.as_str().filter(|m| METHODS.contains(m)) else {
                continue;
            };
            routes.push(DocumentedRoute {
                method: method.to_ascii_uppercase(),
                path: path.to_string(),
                public: empty(op.get("security")).unwrap_or(global_public),
            });
        }
    }
    if routes.is_empty() {
        return Err(DocumentError::NoOperations);
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_with_an_empty_security_list_are_public() {
        let doc = r#"
openapi: 3.0.3
security: [{ bearer: [] }]
paths:
  /health:
    get: { security: [] }
  /carts:
    parameters: []
    get: {}
    post: { security: [{ bearer: [write] }] }
"#;
        let routes = from_openapi(doc).unwrap();
        let seen: Vec<(String, String, bool)> = routes
            .into_iter()
            .map(|r| (r.method, r.path, r.public))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("GET".into(), "/health".into(), true),
                ("GET".into(), "/carts".into(), false),
                ("POST".into(), "/carts".into(), false),
            ]
        );
        let open = "openapi: 3.0.3\nsecurity: []\npaths:\n  /a:\n    get: {}\n";
        assert!(from_openapi(open).unwrap()[0].public);
        assert_eq!(
            from_openapi("openapi: 3.0.3\npaths: {}\n"),
            Err(DocumentError::NoOperations)
        );
        let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n";
        let e = from_openapi(passwd).unwrap_err();
        assert_eq!(
            e.to_string(),
            " is not an OpenAPI 3 document: it has no `openapi: 3.x` at the top"
        );
        let e = from_openapi("services:\n  web: { image: a }\n").unwrap_err();
        assert_eq!(e, DocumentError::NotOpenApi3);
        let e = from_openapi("openapi: 3.0.3\npaths: [a\n").unwrap_err();
        assert!(
            e.to_string().starts_with("3:1: not an OpenAPI document: "),
            "{e}"
        );
    }
}
