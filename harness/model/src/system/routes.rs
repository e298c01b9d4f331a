//! The routes a system file documents (`x-qalens.routes`): a list, or an OpenAPI 3
//! document whose operations with `security: []` are public and whose security
//! requirements name the scopes an operation needs. The route sweep reads them instead
//! of the gateway's own `/admin/routes`.

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
    /// The scopes that open it, sorted (`scope: "a b"`, or every scope its OpenAPI
    /// security requirements list); empty when the file names none. A token holding none
    /// of them must be refused.
    pub scopes: Vec<String>,
}

impl DocumentedRoute {
    /// `GET /carts`.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The first protected route of `routes` that names no scope: the scoped sweeps cannot
/// make a token lacking its scope.
pub fn unscoped(routes: &[DocumentedRoute]) -> Option<&DocumentedRoute> {
    routes.iter().find(|r| !r.public && r.scopes.is_empty())
}

/// `scope` split into its words, sorted, each once.
pub(crate) fn scope_words(scope: &str) -> Vec<String> {
    let words: std::collections::BTreeSet<&str> = scope.split_whitespace().collect();
    words.into_iter().map(str::to_string).collect()
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
                scopes: r.scope.as_deref().map(scope_words).unwrap_or_default(),
            })
            .collect()),
        Routes::OpenApi(o) => {
            let file = dir.join(&o.openapi);
            // Regular files only, at most 16 MiB: the error names the file once.
            let text = crate::input::read_text(&file, crate::input::MAX_DOCUMENT_BYTES)
                .map_err(|e| e.to_string())?;
            from_openapi(&text).map_err(|e| format!("{}:{e}", file.display()))
        }
    }
}

/// The operations of an OpenAPI 3 document (YAML or JSON). An operation is public when
/// its own `security` is an empty list, or it has none and the document's is empty. Its
/// scopes are every scope its security requirements (its own, else the document's) list,
/// whatever the scheme: `[{bearer: [carts:read]}]` needs `carts:read`.
/// The error starts with `LINE:COL: ` where the position is known, else with a space.
pub(crate) fn from_openapi(text: &str) -> Result<Vec<DocumentedRoute>, String> {
    super::yaml::prescan(text).map_err(|e| format!("{}:{}: {}", e.line, e.column, e.message))?;
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| match super::yaml::split_error(&e) {
            (Some((line, column)), m) => format!("{line}:{column}: not an OpenAPI document: {m}"),
            (None, m) => format!(" not an OpenAPI document: {m}"),
        })?;
    let version = doc.get("openapi").and_then(|v| v.as_str()).unwrap_or("");
    if !version.starts_with("3.") {
        return Err(" is not an OpenAPI 3 document: it has no `openapi: 3.x` at the top".into());
    }
    let empty =
        |v: Option<&serde_yaml_ng::Value>| v.and_then(|s| s.as_sequence()).map(Vec::is_empty);
    let global_public = empty(doc.get("security")).unwrap_or(false);
    // Every scope the requirement objects of a `security` list name, sorted and once.
    let scopes = |v: Option<&serde_yaml_ng::Value>| -> Option<Vec<String>> {
        let list = v?.as_sequence()?;
        let words: std::collections::BTreeSet<String> = list
            .iter()
            .filter_map(|requirement| requirement.as_mapping())
            .flat_map(|schemes| schemes.values())
            .filter_map(|s| s.as_sequence())
            .flatten()
            .filter_map(|s| s.as_str())
            .flat_map(|s| s.split_whitespace().map(str::to_string))
            .collect();
        Some(words.into_iter().collect())
    };
    let global_scopes = scopes(doc.get("security")).unwrap_or_default();
    let paths = doc
        .get("paths")
        .and_then(|p| p.as_mapping())
        .ok_or(" is not an OpenAPI document: it has no `paths`")?;
    let mut routes = vec![];
    for (path, item) in paths {
        let path = path
            .as_str()
            .ok_or(" is not an OpenAPI document: a key of `paths` is not a string")?;
        let Some(item) = item.as_mapping() else {
            continue;
        };
        for (method, op) in item {
            let Some(method) = method.as_str().filter(|m| METHODS.contains(m)) else {
                continue;
            };
            let public = empty(op.get("security")).unwrap_or(global_public);
            routes.push(DocumentedRoute {
                method: method.to_ascii_uppercase(),
                path: path.to_string(),
                public,
                scopes: match public {
                    true => vec![],
                    false => scopes(op.get("security")).unwrap_or_else(|| global_scopes.clone()),
                },
            });
        }
    }
    if routes.is_empty() {
        return Err(" has no operations: an OpenAPI document lists at least one".into());
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
        let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n";
        let e = from_openapi(passwd).unwrap_err();
        assert!(e.contains("not an OpenAPI"), "{e}");
        let e = from_openapi("services:\n  web: { image: a }\n").unwrap_err();
        assert!(e.contains("no `openapi: 3.x`"), "{e}");
    }

    #[test]
    fn the_scopes_of_security_requirements_are_the_scopes_an_operation_needs() {
        let doc = r#"
openapi: 3.0.3
security: [{ oauth: [catalog:read] }]
paths:
  /health:
    get: { security: [] }
  /catalog:
    get: {}
  /admin:
    get: { security: [{ oauth: [admin] }, { apiKey: [] }] }
    delete: { security: [{ oauth: [admin, admin:write] }] }
  /carts:
    post: { security: [{ bearer: [] }] }
"#;
        let scopes: Vec<(String, Vec<String>)> = from_openapi(doc)
            .unwrap()
            .into_iter()
            .map(|r| (r.name(), r.scopes))
            .collect();
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            scopes,
            vec![
                ("GET /health".into(), words(&[])),
                ("GET /catalog".into(), words(&["catalog:read"])),
                ("GET /admin".into(), words(&["admin"])),
                ("DELETE /admin".into(), words(&["admin", "admin:write"])),
                ("POST /carts".into(), words(&[])),
            ]
        );
        let routes = from_openapi(doc).unwrap();
        assert_eq!(
            unscoped(&routes).map(DocumentedRoute::name).as_deref(),
            Some("POST /carts")
        );
    }

    #[test]
    fn a_listed_route_s_scope_is_split_into_its_words() {
        let routes = Routes::List(vec![
            super::super::Route {
                method: "get".into(),
                path: "/admin".into(),
                public: false,
                scope: Some("admin  ops".into()),
            },
            super::super::Route {
                method: "GET".into(),
                path: "/health".into(),
                public: true,
                scope: None,
            },
        ]);
        let routes = documented(&routes, Path::new(".")).unwrap();
        assert_eq!(routes[0].name(), "GET /admin");
        assert_eq!(routes[0].scopes, ["admin", "ops"]);
        assert!(unscoped(&routes).is_none(), "a public route needs no scope");
    }
}
