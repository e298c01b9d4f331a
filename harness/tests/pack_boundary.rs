//! The boundary between generic code and the domain packs. Cargo enforces the imports:
//! the reference pack is its own crate (`harness/reference-pack`) and only the CLI
//! depends on it, so no generic crate can reach into it. What Cargo cannot see is a name:
//! this test checks that no generic source (the model, the engine, the steps, the CLI)
//! names a reference service, so the reference domain lives in the pack alone.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

use std::path::{Path, PathBuf};

/// The reference system's services: only the reference pack may name them.
const SERVICES: &[&str] = &["orders", "payments", "inventory", "email", "analytics"];

/// The `inventory` crate (cucumber's step registry and the pack registry): not the service.
const CRATE_PATHS: &[&str] = &["codegen::inventory", "worldinventory", "inventory::"];

/// The generic crates' sources, and the one CLI file that tests the pack through the CLI.
const GENERIC: &[&str] = &["src", "model/src", "engine/src", "steps/src"];
const PACK_TESTS: &str = "reference_pack_tests.rs";

fn harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The first reference service `line` names, ignoring case (`Orders`, `EMAIL_QUEUE`).
fn service_named(line: &str) -> Option<String> {
    let mut lower = line.to_lowercase();
    for path in CRATE_PATHS {
        lower = lower.replace(path, "");
    }
    SERVICES
        .iter()
        .find(|s| lower.contains(*s))
        .map(|s| format!("names {s}"))
}

#[test]
fn no_generic_file_names_a_reference_service() {
    let root = harness();
    let mut hits = vec![];
    for dir in GENERIC {
        for file in rust_files(&root.join(dir)) {
            if file.ends_with(PACK_TESTS) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if let Some(what) = service_named(line) {
                    let rel = file.strip_prefix(&root).unwrap();
                    hits.push(format!(
                        "{}:{}: {what}: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "generic code names reference services (move it to harness/reference-pack/, or use \
         a neutral name):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_service_check_finds_names_in_any_case_and_skips_the_registry_crate() {
    assert_eq!(
        service_named("let q = EMAIL_QUEUE;").as_deref(),
        Some("names email")
    );
    assert_eq!(
        service_named("// Orders are placed").as_deref(),
        Some("names orders")
    );
    assert_eq!(service_named("inventory::submit! { x }"), None);
    assert_eq!(service_named("cucumber::codegen::inventory::iter"), None);
}
