//! The boundary between generic code and the domain packs, checked on the source: nothing
//! in `harness/src` outside `harness/src/packs/` names a reference service, the World
//! imports neither steps nor packs, and only the registration points reach into a pack.

use std::path::{Path, PathBuf};

/// The reference system's services: only the reference pack may name them.
const SERVICES: &[&str] = &["orders", "payments", "inventory", "email", "analytics"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

/// `file:line: text` for every line of a generic file (outside `src/packs/`) on which
/// `hit` finds something.
fn generic_hits(hit: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let root = src();
    let packs = root.join("packs");
    let mut hits = vec![];
    for file in rust_files(&root) {
        if file.starts_with(&packs) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(what) = hit(line) {
                let rel = file.strip_prefix(root.parent().unwrap()).unwrap();
                hits.push(format!(
                    "{}:{}: {what}: {}",
                    rel.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    hits
}

/// The `inventory` crate cucumber registers steps with: not the service.
const CRATE_PATHS: &[&str] = &["codegen::inventory", "worldinventory"];

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
    let hits = generic_hits(service_named);
    assert!(
        hits.is_empty(),
        "generic code names reference services (move it to harness/src/packs/reference/, \
         or use a neutral name):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_world_imports_neither_steps_nor_packs() {
    let world = std::fs::read_to_string(src().join("world.rs")).unwrap();
    let bad: Vec<&str> = world
        .lines()
        .filter(|l| l.contains("steps::") || l.contains("packs::"))
        .collect();
    assert!(
        bad.is_empty(),
        "world.rs reaches into steps or packs: {bad:#?}"
    );
}

#[test]
fn only_packs_mod_rs_reaches_into_a_pack() {
    let hits = generic_hits(|line| {
        let code = line.split("//").next().unwrap_or_default();
        code.contains("packs::reference")
            .then(|| "reaches into a pack".to_string())
    });
    assert!(
        hits.is_empty(),
        "generic code must go through crate::packs, not a pack module:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_service_check_finds_names_in_any_case() {
    assert_eq!(
        service_named("let x = EMAIL_QUEUE;").as_deref(),
        Some("names email")
    );
    assert_eq!(
        service_named("/// the Orders service").as_deref(),
        Some("names orders")
    );
    assert_eq!(service_named("let order = current();"), None);
    assert_eq!(
        service_named("use cucumber::codegen::WorldInventory;"),
        None
    );
    assert_eq!(
        service_named("cucumber::codegen::inventory::iter::<X>"),
        None
    );
}
