//! Breaking changes between two versions of an OpenAPI document.
//!
//! Operations are matched by method and path template (parameter names aside). Each part
//! of an operation is a contract of the kind the JSON Schema diff knows
//! ([`crate::diff::diff_schemas_documented`], which reads an optional property added to an
//! open object as neutral and one removed exactly, as OpenAPI checkers do): parameters
//! and request bodies are `request`s (what the
//! server accepts: narrowing breaks clients), responses are `response`s (what the server
//! guarantees: widening breaks clients). What the schemas cannot say is decided here:
//!
//! | change | verdict |
//! |---|---|
//! | operation removed | breaking |
//! | operation added | compatible |
//! | required parameter or required request body added | breaking |
//! | optional parameter or request body added; parameter or body removed | compatible (a server ignores what it no longer reads) |
//! | parameter or body made required | breaking; made optional: compatible |
//! | request media type removed | breaking; added: compatible |
//! | success (`2XX`) response status removed | breaking; other statuses removed, any status added: compatible |
//! | response media type removed, or a response lost its body | breaking; added: compatible |

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::document::{OpenApi, Operation, Parameter};
use crate::diff::{Change, Compat, DiffReport, Kind, diff_schemas_documented};

/// Every change from `old` to `new`; a change's `contract` names the operation and the
/// part (`listPets (GET /pets) response 200 application/json`), its `pointer` the JSON
/// path in that part's schema. Versions are not compared: every breaking change counts.
pub fn diff(old: &OpenApi, new: &OpenApi) -> DiffReport {
    let mut changes = Vec::new();
    let keys: BTreeSet<String> = old
        .operations
        .iter()
        .chain(&new.operations)
        .map(Operation::key)
        .collect();
    for key in keys {
        let o = old.operations.iter().find(|op| op.key() == key);
        let n = new.operations.iter().find(|op| op.key() == key);
        match (o, n) {
            (Some(o), None) => changes.push(change(
                &o.label(),
                "",
                "operation removed",
                Compat::Breaking,
            )),
            (None, Some(n)) => changes.push(change(
                &n.label(),
                "",
                "operation added",
                Compat::Compatible,
            )),
            (Some(o), Some(n)) => operation(o, n, &mut changes),
            (None, None) => {}
        }
    }
    DiffReport { changes }
}

fn change(contract: &str, pointer: &str, what: &str, compat: Compat) -> Change {
    Change {
        contract: contract.to_owned(),
        old_version: None,
        new_version: None,
        pointer: pointer.to_owned(),
        what: what.to_owned(),
        compat,
    }
}

fn schemas(part: &str, kind: Kind, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    changes.extend(diff_schemas_documented(part, kind, old, new));
}

fn breaking_if(yes: bool) -> Compat {
    if yes {
        Compat::Breaking
    } else {
        Compat::Compatible
    }
}

/// An operation's parameters keyed by location and name, except path parameters, which
/// are keyed by their position in the template (`/pets/{id}` and `/pets/{petId}` take
/// the same parameter); each with its name.
fn parameters(op: &Operation) -> BTreeMap<(String, String), (&str, &Parameter)> {
    let template: Vec<&str> = op
        .path
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect();
    op.parameters
        .iter()
        .map(|((location, name), p)| {
            let key = match template.iter().position(|t| t == name) {
                Some(i) if location == "path" => format!("{{{i}}}"),
                _ => name.clone(),
            };
            ((location.clone(), key), (name.as_str(), p))
        })
        .collect()
}

fn operation(old: &Operation, new: &Operation, changes: &mut Vec<Change>) {
    let label = new.label();
    let (old_parameters, new_parameters) = (parameters(old), parameters(new));
    let keys: BTreeSet<&(String, String)> =
        old_parameters.keys().chain(new_parameters.keys()).collect();
    for key @ (location, _) in keys {
        let o = old_parameters.get(key);
        let n = new_parameters.get(key);
        let name = n.or(o).map_or("", |(name, _)| *name);
        let part = format!("{label} {location} parameter `{name}`");
        match (o.map(|(_, p)| *p), n.map(|(_, p)| *p)) {
            (Some(_), None) => changes.push(change(
                &part,
                "",
                "parameter removed (clients that still send it are ignored)",
                Compat::Compatible,
            )),
            (None, Some(p)) => changes.push(change(
                &part,
                "",
                if p.required {
                    "required parameter added (clients that do not send it are refused)"
                } else {
                    "optional parameter added"
                },
                breaking_if(p.required),
            )),
            (Some(o), Some(n)) => {
                if o.required != n.required {
                    changes.push(change(
                        &part,
                        "",
                        if n.required {
                            "the parameter became required"
                        } else {
                            "the parameter became optional"
                        },
                        breaking_if(n.required),
                    ));
                }
                schemas(&part, Kind::Request, &o.schema, &n.schema, changes);
            }
            (None, None) => {}
        }
    }
    match (&old.request_body, &new.request_body) {
        (Some(_), None) => changes.push(change(
            &format!("{label} request body"),
            "",
            "request body removed (clients that still send one are ignored)",
            Compat::Compatible,
        )),
        (None, Some(b)) => changes.push(change(
            &format!("{label} request body"),
            "",
            if b.required {
                "required request body added"
            } else {
                "optional request body added"
            },
            breaking_if(b.required),
        )),
        (Some(o), Some(n)) => {
            if o.required != n.required {
                changes.push(change(
                    &format!("{label} request body"),
                    "",
                    if n.required {
                        "the request body became required"
                    } else {
                        "the request body became optional"
                    },
                    breaking_if(n.required),
                ));
            }
            let media: BTreeSet<&String> = o.content.keys().chain(n.content.keys()).collect();
            for m in media {
                let part = format!("{label} request body {m}");
                match (o.content.get(m), n.content.get(m)) {
                    (Some(_), None) => changes.push(change(
                        &part,
                        "",
                        "media type removed (clients that send it are refused)",
                        Compat::Breaking,
                    )),
                    (None, Some(_)) => {
                        changes.push(change(&part, "", "media type added", Compat::Compatible))
                    }
                    (Some(o), Some(n)) => schemas(&part, Kind::Request, o, n, changes),
                    (None, None) => {}
                }
            }
        }
        (None, None) => {}
    }
    let statuses: BTreeSet<&String> = old.responses.keys().chain(new.responses.keys()).collect();
    for status in statuses {
        let part = format!("{label} response {status}");
        match (old.responses.get(status), new.responses.get(status)) {
            (Some(_), None) => {
                let success = status.starts_with('2');
                changes.push(change(
                    &part,
                    "",
                    if success {
                        "success response removed (clients that wait for it get another)"
                    } else {
                        "response removed"
                    },
                    breaking_if(success),
                ));
            }
            (None, Some(_)) => {
                changes.push(change(&part, "", "response added", Compat::Compatible))
            }
            (Some(o), Some(n)) => {
                if !o.content.is_empty() && n.content.is_empty() {
                    changes.push(change(
                        &part,
                        "",
                        "the response lost its body (clients that read it get nothing)",
                        Compat::Breaking,
                    ));
                    continue;
                }
                let media: BTreeSet<&String> = o.content.keys().chain(n.content.keys()).collect();
                for m in media {
                    let part = format!("{part} {m}");
                    match (o.content.get(m), n.content.get(m)) {
                        (Some(_), None) => changes.push(change(
                            &part,
                            "",
                            "media type removed (clients that accept only it get another)",
                            Compat::Breaking,
                        )),
                        (None, Some(_)) => {
                            changes.push(change(&part, "", "media type added", Compat::Compatible))
                        }
                        (Some(o), Some(n)) => schemas(&part, Kind::Response, o, n, changes),
                        (None, None) => {}
                    }
                }
            }
            (None, None) => {}
        }
    }
}

/// The report as text: one line per change (`BREAKING <operation> <part> <pointer>:
/// <what>`), a count and the verdict last (`2 breaking changes: listPets (GET /pets)`).
pub fn render(report: &DiffReport) -> String {
    let mut out = String::new();
    for c in &report.changes {
        out.push_str(&format!("{} {}", c.compat, c.contract));
        if !c.pointer.is_empty() {
            out.push_str(&format!(" {}", c.pointer));
        }
        out.push_str(&format!(": {}\n", c.what));
    }
    let breaking = report.breaking();
    let n = report.changes.len();
    if n == 0 {
        out.push_str("no changes\n");
    } else {
        out.push_str(&format!(
            "{n} change{}: {} compatible, {} breaking\n",
            if n == 1 { "" } else { "s" },
            n - breaking.len(),
            breaking.len()
        ));
    }
    if breaking.is_empty() {
        out.push_str("no breaking change");
    } else {
        let mut operations: Vec<&str> = Vec::new();
        for c in &breaking {
            let op = operation_of(&c.contract);
            if !operations.contains(&op) {
                operations.push(op);
            }
        }
        out.push_str(&format!(
            "{} breaking change{}: {}",
            breaking.len(),
            if breaking.len() == 1 { "" } else { "s" },
            operations.join(", ")
        ));
    }
    out
}

/// The operation part of a change's contract label: up to the closing `)` of
/// `operationId (METHOD /path)`, else `METHOD /path`.
fn operation_of(contract: &str) -> &str {
    if let Some(end) = contract
        .find(") ")
        .or_else(|| contract.ends_with(')').then(|| contract.len() - 1))
        && contract[..end].contains(" (")
    {
        return &contract[..=end];
    }
    let mut parts = contract.splitn(3, ' ');
    match (parts.next(), parts.next()) {
        (Some(m), Some(p)) => &contract[..m.len() + 1 + p.len()],
        _ => contract,
    }
}
