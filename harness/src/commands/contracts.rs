//! `qalens contracts list|diff`.

use crate::cli::ContractsAction;

pub fn contracts(action: ContractsAction) -> u8 {
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
            0
        }
        ContractsAction::Diff {
            old,
            new,
            kind,
            mode,
        } => {
            let kind = kind.map(diff::Kind::from);
            let load = |p: &std::path::Path| diff::load_side(p, kind);
            let (old_docs, new_docs) = match (load(&old), load(&new)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("qalens contracts diff: {e}");
                    return 2;
                }
            };
            if let Some(mode) = mode.map(diff::Mode::from) {
                let report = diff::diff_owned_in_mode(&old_docs, &new_docs, mode);
                println!("{}", report.render_in_mode(mode).trim_end());
                return if report.breaking().is_empty() { 0 } else { 1 };
            }
            let report = diff::diff_owned(&old_docs, &new_docs);
            let text = report.render();
            println!("{}", text.trim_end());
            if report.unbumped_breaking().is_empty() {
                0
            } else {
                1
            }
        }
    }
}
