//! The boundary between generic code and the domain packs, checked on the source: nothing
//! in `harness/src` outside `harness/src/packs/` names a reference service, the World
//! imports neither steps nor packs, only the registration points reach into a pack, and
//! no file borrows from a step module it is not part of (step modules share through
//! clients, checks, nemesis, system, tokens, world and a pack's `domain` module).

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

// ---------------------------------------------------------------------------------------
// Step modules borrow nothing from each other: what two step modules share lives in
// clients, checks, nemesis, system, tokens, world or the pack's own helper module.

/// The directories whose modules are step modules: `src/steps` and every pack.
fn step_roots() -> Vec<(PathBuf, Vec<String>)> {
    let root = src();
    let mut out = vec![(root.join("steps"), vec!["steps".to_string()])];
    for entry in std::fs::read_dir(root.join("packs")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            out.push((path, vec!["packs".into(), name]));
        }
    }
    out
}

/// Whether `text` defines a cucumber step.
fn defines_steps(text: &str) -> bool {
    ["#[given(", "#[when(", "#[then("]
        .iter()
        .any(|a| text.contains(a))
}

/// The step modules under `dir`: each `x.rs` or `x/` (not `mod.rs`) one of whose files
/// defines a step. Helper modules (a pack's `domain`, its catalog, its tests) are not.
fn step_modules(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let files = if path.is_dir() {
            rust_files(&path)
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "mod.rs")
        {
            vec![path.clone()]
        } else {
            continue;
        };
        if files
            .iter()
            .any(|f| defines_steps(&std::fs::read_to_string(f).unwrap()))
        {
            out.push(path.file_stem().unwrap().to_string_lossy().to_string());
        }
    }
    out.sort();
    out
}

/// The module path of `file` (`src/steps/security/paths.rs` is `steps::security::paths`).
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path `text` names that starts at `crate`, `super` or `self`, with its line, as
/// written (`super::super::http::Target`); a `use a::{b, c::d}` group gives `a::b` and
/// `a::c::d`. Comments are skipped.
fn paths_in(text: &str) -> Vec<(usize, Vec<String>)> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let chars: Vec<char> = code.chars().collect();
    let line_of = |i: usize| chars[..i].iter().filter(|c| **c == '\n').count() + 1;
    let ident_at =
        |i: usize| -> String { chars[i..].iter().take_while(|c| is_ident(**c)).collect() };
    // Reads `ident(::ident)*` from `i`; returns the idents and where it stopped.
    let read_path = |mut i: usize| -> (Vec<String>, usize) {
        let mut parts = vec![];
        loop {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let id = ident_at(i);
            if id.is_empty() {
                return (parts, i);
            }
            i += id.chars().count();
            parts.push(id);
            if chars[i..].starts_with(&[':', ':']) {
                i += 2;
            } else {
                return (parts, i);
            }
        }
    };
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let starts = (i == 0 || !is_ident(chars[i - 1]))
            && ["crate", "super", "self"].iter().any(|k| ident_at(i) == *k);
        if !starts {
            i += 1;
            continue;
        }
        let (prefix, end) = read_path(i);
        let mut j = end;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if chars.get(j) == Some(&'{') && chars[..end].ends_with(&[':', ':']) {
            // A group: each item at depth 1 is a path under the prefix.
            let mut k = j + 1;
            let mut depth = 1;
            let mut item_start = true;
            while k < chars.len() && depth > 0 {
                match chars[k] {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    c if item_start && depth == 1 && is_ident(c) => {
                        let (item, _) = read_path(k);
                        let mut full = prefix.clone();
                        full.extend(item);
                        out.push((line_of(k), full));
                        item_start = false;
                    }
                    _ => {}
                }
                k += 1;
            }
            i = k;
        } else {
            out.push((line_of(i), prefix));
            i = end.max(i + 1);
        }
    }
    out
}

/// Where `path`, written in `file`, points: an absolute module path from the crate root.
fn resolve(file: &Path, path: &[String]) -> Vec<String> {
    let here = module_path(file);
    // `mod.rs` is its directory's module; `super` from a plain file is its directory.
    let mut at = here.clone();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &path[1..];
        }
        Some("self") => rest = &path[1..],
        _ => {}
    }
    while rest.first().is_some_and(|p| p == "super") {
        at.pop();
        rest = &rest[1..];
    }
    at.extend(rest.iter().cloned());
    at
}

/// `file:line: text` for every place a file under `src` names a step module it is not
/// part of.
fn borrowed_step_modules() -> Vec<String> {
    let roots: Vec<(Vec<String>, Vec<String>)> = step_roots()
        .into_iter()
        .map(|(dir, path)| (path, step_modules(&dir)))
        .collect();
    let root = src();
    let mut hits = vec![];
    for file in rust_files(&root) {
        let own = module_path(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, path) in paths_in(&text) {
            let target = resolve(&file, &path);
            for (base, modules) in &roots {
                let Some(module) = target.strip_prefix(base.as_slice()).and_then(|t| t.first())
                else {
                    continue;
                };
                let inside =
                    own.len() > base.len() && own.starts_with(base) && own[base.len()] == *module;
                if modules.contains(module) && !inside {
                    let rel = file.strip_prefix(root.parent().unwrap()).unwrap();
                    hits.push(format!(
                        "{}:{line}: borrows step module {}::{module}: {}",
                        rel.display(),
                        base.join("::"),
                        text.lines().nth(line - 1).unwrap_or_default().trim()
                    ));
                }
            }
        }
    }
    hits
}

#[test]
fn no_file_borrows_from_a_step_module() {
    let hits = borrowed_step_modules();
    assert!(
        hits.is_empty(),
        "step modules borrow nothing from each other (and nothing else borrows from them): \
         move what they share to clients, checks, nemesis, system, tokens, world or the \
         pack's helper module (packs/<pack>/domain.rs):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_step_modules_are_found() {
    let steps = step_modules(&src().join("steps"));
    for m in ["http", "identity", "rate_limit", "routes", "security"] {
        assert!(steps.contains(&m.to_string()), "{m} missing from {steps:?}");
    }
    let pack = step_modules(&src().join("packs").join("reference"));
    assert!(pack.contains(&"orders".to_string()), "{pack:?}");
    assert!(!pack.contains(&"domain".to_string()), "{pack:?}");
}

#[test]
fn paths_are_read_and_resolved_like_rustc() {
    let text = "use super::super::http::Target; // super::x::y\n\
                use super::{\n    domain::{a, b},\n    raw,\n};\n\
                let c = crate::steps::routes::fetch();\n";
    let paths: Vec<(usize, String)> = paths_in(text)
        .into_iter()
        .map(|(l, p)| (l, p.join("::")))
        .collect();
    assert_eq!(
        paths,
        [
            (1, "super::super::http::Target".to_string()),
            (3, "super::domain".to_string()),
            (4, "super::raw".to_string()),
            (6, "crate::steps::routes::fetch".to_string()),
        ]
    );
    let paths_rs = src().join("steps/security/paths.rs");
    let up = |p: &str| {
        resolve(
            &paths_rs,
            &p.split("::").map(String::from).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        up("super::super::http::Target"),
        ["steps", "http", "Target"]
    );
    assert_eq!(up("super::raw"), ["steps", "security", "raw"]);
    assert_eq!(up("crate::steps::routes"), ["steps", "routes"]);
    let mod_rs = src().join("steps/security/mod.rs");
    assert_eq!(
        resolve(&mod_rs, &["super".into(), "http".into()]),
        ["steps", "http"]
    );
}
