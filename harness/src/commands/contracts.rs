//! `qalens contracts list|diff`.

use crate::cli::ContractsAction;
use crate::exit::Exit;

pub(super) fn contracts(action: ContractsAction) -> Exit {
    use contract_tools::diff;
    match action {
        ContractsAction::List => {
            for c in contracts::bundled::registry().contracts() {
                let used: Vec<String> = if let Some(key) = &c.routing_key {
                    vec![format!(
                        "{} {key}",
                        c.exchange.as_deref().unwrap_or("(exchange?)")
                    )]
                } else {
                    c.endpoints
                        .iter()
                        .map(|e| {
                            let statuses: Vec<String> =
                                e.statuses.iter().map(u16::to_string).collect();
                            if statuses.is_empty() {
                                format!("{} {}", e.method, e.path)
                            } else {
                                format!("{} {} [{}]", e.method, e.path, statuses.join(","))
                            }
                        })
                        .collect()
                };
                println!(
                    "{:<24} {:<9} {} -> {}\n    schema contracts/schemas/{}; {}",
                    c.id(),
                    c.kind.as_str(),
                    c.producers.join(","),
                    c.consumers.join(","),
                    c.file,
                    if used.is_empty() {
                        "on every routed request".to_string()
                    } else {
                        used.join("; ")
                    }
                );
            }
            Exit::Passed
        }
        ContractsAction::Diff {
            old,
            new,
            kind,
            mode,
            lenient,
        } => {
            use contract_tools::openapi;
            if openapi::is_openapi(&old) || openapi::is_openapi(&new) {
                let refused = [
                    (kind.is_some(), "--kind"),
                    (mode.is_some(), "--mode"),
                    (lenient, "--lenient"),
                ];
                return openapi_diff(
                    &old,
                    &new,
                    refused.iter().find(|(given, _)| *given).map(|(_, f)| *f),
                );
            }
            let kind = kind.map(diff::Kind::from);
            let load = |p: &std::path::Path| diff::load_side(p, kind);
            let (old_docs, new_docs) = match (load(&old), load(&new)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("qalens contracts diff: {e}");
                    return Exit::NotRun;
                }
            };
            let options = diff::Options {
                mode: mode.map(diff::Mode::from),
                lenient,
            };
            let report = diff::diff_owned_with(&old_docs, &new_docs, options);
            if let Some(mode) = options.mode {
                println!("{}", report.render_in_mode(mode).trim_end());
                return Exit::passed_if(report.breaking().is_empty());
            }
            let text = report.render();
            println!("{}", text.trim_end());
            Exit::passed_if(report.unbumped_breaking().is_empty())
        }
    }
}

/// `qalens contracts diff` on two OpenAPI documents: exit 1 on any breaking change.
/// `refused` is a JSON Schema option that was given, which does not apply here.
fn openapi_diff(old: &std::path::Path, new: &std::path::Path, refused: Option<&str>) -> Exit {
    use contract_tools::openapi::{self, OpenApi};
    if let Some(flag) = refused {
        eprintln!(
            "qalens contracts diff: {flag} does not apply to OpenAPI documents (each part of an operation has its own kind, and is read exactly)"
        );
        return Exit::NotRun;
    }
    for side in [old, new] {
        if !openapi::is_openapi(side) {
            eprintln!(
                "qalens contracts diff: {}: not an OpenAPI document (no top-level `openapi` key), but the other side is one: compare two OpenAPI documents",
                side.display()
            );
            return Exit::NotRun;
        }
    }
    let (old, new) = match (OpenApi::load(old), OpenApi::load(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("qalens contracts diff: {e}");
            return Exit::NotRun;
        }
    };
    let report = openapi::diff(&old, &new);
    println!("{}", openapi::render(&report));
    Exit::passed_if(report.breaking().is_empty())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::contracts;
    use crate::cli::{ContractsAction, KindArg, ModeArg};
    use crate::exit::Exit;

    /// Two single-schema files: an optional typed property added to an open object.
    fn sides() -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "qalens-contracts-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let old = dir.join("old.json");
        let new = dir.join("new.json");
        let id = r#""$id": "urn:qalens:contract:T:v1", "type": "object""#;
        std::fs::write(&old, format!(r#"{{{id}, "properties": {{"id": {{}}}}}}"#)).unwrap();
        std::fs::write(
            &new,
            format!(r#"{{{id}, "properties": {{"id": {{}}, "bar": {{"type": "number"}}}}}}"#),
        )
        .unwrap();
        (old, new)
    }

    fn diff(kind: KindArg, mode: Option<ModeArg>, lenient: bool) -> Exit {
        let (old, new) = sides();
        let exit = contracts(ContractsAction::Diff {
            old: old.clone(),
            new,
            kind: Some(kind),
            mode,
            lenient,
        });
        std::fs::remove_dir_all(old.parent().unwrap()).unwrap();
        exit
    }

    #[test]
    fn contracts_diff_reads_open_objects_exactly_unless_lenient() {
        // `{"bar": "x"}` was accepted: a request receiver narrows.
        assert_eq!(diff(KindArg::Request, None, false), Exit::Failed);
        assert_eq!(diff(KindArg::Response, None, false), Exit::Passed);
        assert_eq!(
            diff(KindArg::Request, Some(ModeArg::Backward), false),
            Exit::Failed
        );
        assert_eq!(diff(KindArg::Request, None, true), Exit::Passed);
        assert_eq!(
            diff(KindArg::Request, Some(ModeArg::Backward), true),
            Exit::Passed
        );
    }
}
