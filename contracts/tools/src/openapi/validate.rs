//! Checking an HTTP exchange against the document: the operation it hit (method and path
//! template), its response (status, then `NXX`, then `default`) and media type (exact,
//! then `type/*`, then `*/*`), and a JSON body against that response's schema.

use std::fmt;

use serde_json::Value;

use super::document::{OpenApi, Operation, Response};
use crate::schema::{Violations, template_literals};

/// Why an exchange does not conform to the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// No operation has the exchange's method and a path template matching its path.
    NoOperation {
        method: String,
        path: String,
        /// The operations of the document on that path, any method (`GET /pets`), or
        /// every operation when none is on that path.
        known: Vec<String>,
    },
    /// The operation does not document the response's status or media type.
    Undocumented { operation: String, what: String },
    /// The body breaks the response's schema.
    Violates {
        operation: String,
        /// `response 200 application/json`.
        part: String,
        violations: Violations,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::NoOperation {
                method,
                path,
                known,
            } => write!(
                f,
                "{method} {path} matches no operation of the document (it has: {})",
                known.join(", ")
            ),
            Mismatch::Undocumented { operation, what } => write!(f, "{operation}: {what}"),
            Mismatch::Violates {
                operation,
                part,
                violations,
            } => {
                write!(f, "{operation} {part} does not match its schema:")?;
                for v in &violations.0 {
                    write!(f, "\n  {v}")?;
                }
                Ok(())
            }
        }
    }
}

/// The path of `url` (no scheme, authority, query or fragment).
fn path_of(url: &str) -> &str {
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("/", |j| &url[i + 3 + j..]),
        None => url,
    };
    path.split(['?', '#']).next().unwrap_or_default()
}

/// `application/json; charset=utf-8` -> `application/json`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether bodies of `media` are JSON (`application/json`, `application/problem+json`).
fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json") || media == "*/*"
}

impl OpenApi {
    /// The operation `method` on the concrete `url` hits: the template with the most
    /// literal segments wins. Operation paths are relative to [`OpenApi::base_path`].
    pub fn operation_for(&self, method: &str, url: &str) -> Option<&Operation> {
        let path = path_of(url);
        let path = path
            .strip_prefix(self.base_path.as_str())
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path);
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter_map(|op| template_literals(&op.path, path).map(|n| (n, op)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, op)| op)
    }

    /// Checks one exchange's response; on success, what it was checked against
    /// (`getPet (GET /pets/{id}) response 200 application/json`).
    pub fn check_response(
        &self,
        method: &str,
        url: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<String, Mismatch> {
        let op = self.operation_for(method, url).ok_or_else(|| {
            let path = path_of(url).to_owned();
            let mut known: Vec<String> = self
                .operations
                .iter()
                .filter(|op| {
                    self.operation_for(&op.method, &path)
                        .is_some_and(|o| o.path == op.path)
                })
                .map(|op| format!("{} {}", op.method, op.path))
                .collect();
            if known.is_empty() {
                known = self
                    .operations
                    .iter()
                    .map(|op| format!("{} {}", op.method, op.path))
                    .collect();
            }
            Mismatch::NoOperation {
                method: method.to_ascii_uppercase(),
                path,
                known,
            }
        })?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let (key, response): (&str, &Response) = [exact.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|k| op.responses.get(k).map(|r| (k, r)))
            .ok_or_else(|| Mismatch::Undocumented {
                operation: op.label(),
                what: format!(
                    "the document lists no response {status} (it lists {})",
                    op.responses.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })?;
        if response.content.is_empty() {
            return Ok(format!("{} response {key}", op.label()));
        }
        let media = match content_type.map(essence) {
            Some(media) => {
                let wildcard = format!("{}/*", media.split('/').next().unwrap_or_default());
                [media.as_str(), wildcard.as_str(), "*/*"]
                    .into_iter()
                    .find(|m| response.content.contains_key(*m))
                    .map(str::to_owned)
                    .ok_or_else(|| Mismatch::Undocumented {
                        operation: op.label(),
                        what: format!(
                            "response {key} is documented as {}, not {media}",
                            response
                                .content
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?
            }
            None if response.content.len() == 1 => {
                response.content.keys().next().cloned().unwrap_or_default()
            }
            None => {
                return Err(Mismatch::Undocumented {
                    operation: op.label(),
                    what: format!("response {key} has no Content-Type"),
                });
            }
        };
        let part = format!("response {key} {media}");
        if !is_json(&media) {
            return Ok(format!("{} {part}", op.label()));
        }
        let violates = |violations: Vec<String>| Mismatch::Violates {
            operation: op.label(),
            part: part.clone(),
            violations: Violations(violations),
        };
        let instance: Value = serde_json::from_str(body)
            .map_err(|e| violates(vec![format!("(root): the body is not JSON: {e}")]))?;
        if let Some(validator) = response.validators.get(&media) {
            let violations: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| {
                    let at = e.instance_path().as_str();
                    format!("{}: {e}", if at.is_empty() { "(root)" } else { at })
                })
                .collect();
            if !violations.is_empty() {
                return Err(violates(violations));
            }
        }
        Ok(format!("{} {part}", op.label()))
    }
}
