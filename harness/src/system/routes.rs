//! The routes a system file documents (`x-qalens.routes`): a list, or an OpenAPI 3
//! document whose operations with `security: []` are public. The route sweep reads them
//! when the gateway has no route endpoint of its own.

use std::path::Path;

use serde::Serialize;

use super::qalens::Routes;

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
pub fn documented(routes: &Routes, dir: &Path) -> Result<Vec<DocumentedRoute>, String> {
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
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            from_openapi(&text).map_err(|e| format!("{}: {e}", file.display()))
        }
    }
}

/// The operations of an OpenAPI 3 document (YAML or JSON). An operation is public when
/// its own `security` is an empty list, or it has none and the document's is empty.
pub fn from_openapi(text: &str) -> Result<Vec<DocumentedRoute>, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let empty =
        |v: Option<&serde_yaml_ng::Value>| v.and_then(|s| s.as_sequence()).map(Vec::is_empty);
    let global_public = empty(doc.get("security")).unwrap_or(false);
    let paths = doc
        .get("paths")
        .and_then(|p| p.as_mapping())
        .ok_or("an OpenAPI document needs `paths`")?;
    let mut routes = vec![];
    for (path, item) in paths {
        let path = path.as_str().ok_or("a key of `paths` is not a string")?;
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
        return Err("the OpenAPI document has no operations".into());
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
        assert!(from_openapi("openapi: 3.0.3\npaths: {}\n").is_err());
    }
}
