//! The boundary between generic code and the domain packs, checked on the source: nothing
//! in `harness/src` outside `harness/src/packs/` names a reference service, the World
//! imports neither steps nor packs, only the registration points reach into a pack, and
//! no file borrows from a step module it is not part of (step modules share through
//! clients, checks, nemesis, system, tokens, world and a pack's `domain` module). Imports
//! are read as rustc reads them, not as text: each file is parsed with `syn` and every
//! path is resolved through its `use` trees ([`resolved_paths`]), so a grouped import or
//! an alias cannot slip past and a comment mentioning a pack does not count.

use std::collections::BTreeMap;
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
    let file = src().join("world.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    let bad: Vec<String> = resolved_paths(&file, &text)
        .into_iter()
        .filter(|(_, path)| path.first().is_some_and(|m| m == "steps" || m == "packs"))
        .map(|(line, path)| format!("world.rs:{line}: {}", path.join("::")))
        .collect();
    assert!(
        bad.is_empty(),
        "world.rs reaches into steps or packs: {bad:#?}"
    );
}

/// The pack modules under `src/packs/` (`reference`): only `packs/mod.rs` may name them.
fn pack_modules() -> Vec<String> {
    std::fs::read_dir(src().join("packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.file_name().is_some_and(|n| n != "mod.rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect()
}

/// `file:line: path` for every place a generic file (outside `src/packs/`) names
/// something in a pack module, however it is imported.
fn reaches_into_a_pack() -> Vec<String> {
    let packs = pack_modules();
    let root = src();
    let mut hits = vec![];
    for file in rust_files(&root) {
        if file.starts_with(root.join("packs")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, path) in resolved_paths(&file, &text) {
            if path.first().is_some_and(|m| m == "packs")
                && path.get(1).is_some_and(|p| packs.contains(p))
            {
                let rel = file.strip_prefix(root.parent().unwrap()).unwrap();
                hits.push(format!(
                    "{}:{line}: crate::{}",
                    rel.display(),
                    path.join("::")
                ));
            }
        }
    }
    hits.sort();
    hits.dedup();
    hits
}

#[test]
fn only_packs_mod_rs_reaches_into_a_pack() {
    let hits = reaches_into_a_pack();
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

/// Where `path`, written in `file`, points: an absolute module path from the crate root.
fn resolve(file: &Path, path: &[String]) -> Vec<String> {
    resolve_in(&module_path(file), path)
}

/// Where `path`, written in module `here`, points.
fn resolve_in(here: &[String], path: &[String]) -> Vec<String> {
    // `mod.rs` is its directory's module; `super` from a plain file is its directory.
    let mut at = here.to_vec();
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
        for (line, target) in resolved_paths(&file, &text) {
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
                fn f() { let c = crate::steps::routes::fetch(); }\n\
                #[cfg(test)]\nmod tests {\n    use super::*;\n    fn g() { x::y(); }\n}\n";
    let file = src().join("steps/security/paths.rs");
    let paths: std::collections::BTreeSet<(usize, String)> = resolved_paths(&file, text)
        .into_iter()
        .map(|(l, p)| (l, p.join("::")))
        .collect();
    for (line, path) in [
        (1, "steps::http::Target"),
        (3, "steps::security::domain::a"),
        (3, "steps::security::domain::b"),
        (4, "steps::security::raw"),
        (6, "steps::routes::fetch"),
        // In the inline module, `super` is the file's module.
        (10, "steps::security::paths::x::y"),
    ] {
        assert!(
            paths.contains(&(line, path.to_string())),
            "{line}: {path} not in {paths:#?}"
        );
    }
    assert!(
        !paths.iter().any(|(l, p)| *l == 1 && p.ends_with("x::y")),
        "the comment on line 1 is not read: {paths:#?}"
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

// ---------------------------------------------------------------------------------------
// Reading paths as rustc does: the source is parsed as Rust (comments and string literals
// are not paths), every `use` tree is walked (groups, nested groups, `self`, aliases,
// globs), and every path in the code, macro bodies included, is resolved through the
// names those `use`s bind.

/// One leaf of a `use` tree: the path it imports, as written, and the name it binds
/// (`None` for a glob or `as _`).
struct UseLeaf {
    line: usize,
    path: Vec<String>,
    name: Option<String>,
}

fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
    let leaf = |ident: &proc_macro2::Ident, path: Vec<String>, name: Option<String>| UseLeaf {
        line: ident.span().start().line,
        path,
        name,
    };
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => {
            out.push(leaf(&n.ident, prefix.clone(), prefix.last().cloned()));
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push(leaf(&n.ident, path, Some(n.ident.to_string())));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            let name = (r.rename != "_").then(|| r.rename.to_string());
            out.push(leaf(&r.ident, path, name));
        }
        syn::UseTree::Glob(g) => out.push(UseLeaf {
            line: g.star_token.spans[0].start().line,
            path: prefix.clone(),
            name: None,
        }),
        syn::UseTree::Group(g) => {
            for item in &g.items {
                use_leaves(item, prefix, out);
            }
        }
    }
}

/// Every `use` of a module, at any depth (in functions too), but not those of its inline
/// modules.
#[derive(Default)]
struct Uses(Vec<UseLeaf>);

impl<'ast> syn::visit::Visit<'ast> for Uses {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        use_leaves(&item.tree, &mut vec![], &mut self.0);
    }

    /// An inline module has its own `use`s: it is read on its own.
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
}

/// Every path of two or more segments (`a::b`) in `tokens`, with its line: in code, in
/// attributes and in macro bodies alike.
fn token_paths(tokens: proc_macro2::TokenStream, out: &mut Vec<(usize, Vec<String>)>) {
    use proc_macro2::{Spacing, TokenTree};
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let colons = |j: usize| {
        matches!(
            (tokens.get(j), tokens.get(j + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
        )
    };
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => {
                token_paths(g.stream(), out);
                i += 1;
            }
            TokenTree::Ident(first) => {
                let mut path = vec![first.to_string()];
                let mut j = i + 1;
                while colons(j) {
                    let Some(TokenTree::Ident(next)) = tokens.get(j + 2) else {
                        break;
                    };
                    path.push(next.to_string());
                    j += 3;
                }
                if path.len() > 1 {
                    out.push((first.span().start().line, path));
                }
                i = j;
            }
            _ => i += 1,
        }
    }
}

/// Where `path`, written in module `here`, may point, from the crate root: through
/// `crate`, `super`, `self` or the crate's name; through a name a `use` bound; else
/// relative to the module or under a glob-imported module. Several answers when it cannot
/// be told which (an unbound name under a glob): a check fails if any of them is wrong.
fn candidates(
    here: &[String],
    path: &[String],
    bound: &BTreeMap<String, Vec<String>>,
    globs: &[Vec<String>],
) -> Vec<Vec<String>> {
    let Some(first) = path.first() else {
        return vec![];
    };
    match first.as_str() {
        "crate" | "super" | "self" => vec![resolve_in(here, path)],
        "qalens" => vec![path[1..].to_vec()],
        _ => {
            if let Some(target) = bound.get(first) {
                let mut full = target.clone();
                full.extend(path[1..].iter().cloned());
                return vec![full];
            }
            let mut out = vec![[here, path].concat()];
            for glob in globs {
                out.push([glob.as_slice(), path].concat());
            }
            out
        }
    }
}

/// Every path `text` (the source of `file`) names, resolved from the crate root, with its
/// line: each `use` leaf and each path in the code.
fn resolved_paths(file: &Path, text: &str) -> Vec<(usize, Vec<String>)> {
    let ast = syn::parse_file(text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut out = vec![];
    module_paths(&ast.items, &module_path(file), &mut out);
    out
}

/// [`resolved_paths`] for the items of module `here`, and of its inline modules.
fn module_paths(items: &[syn::Item], here: &[String], out: &mut Vec<(usize, Vec<String>)>) {
    let mut uses = Uses::default();
    for item in items {
        syn::visit::Visit::visit_item(&mut uses, item);
    }
    // Bindings may build on each other (`use crate::packs; use packs::reference;`), in any
    // order: resolve them until nothing changes.
    let mut bound = BTreeMap::new();
    let mut globs: Vec<Vec<String>> = vec![];
    let mut leaves = vec![];
    for _ in 0..4 {
        leaves.clear();
        globs.clear();
        let mut next = BTreeMap::new();
        for leaf in &uses.0 {
            for target in candidates(here, &leaf.path, &bound, &[]) {
                match &leaf.name {
                    Some(name) => {
                        next.entry(name.clone()).or_insert_with(|| target.clone());
                    }
                    None => globs.push(target.clone()),
                }
                leaves.push((leaf.line, target));
            }
        }
        if next == bound {
            break;
        }
        bound = next;
    }
    out.extend(leaves);
    for item in items {
        match item {
            syn::Item::Mod(m) if m.content.is_some() => {
                let inner = [here, &[m.ident.to_string()]].concat();
                module_paths(&m.content.as_ref().unwrap().1, &inner, out);
            }
            _ => {
                let mut written = vec![];
                token_paths(quote::ToTokens::to_token_stream(item), &mut written);
                for (line, path) in written {
                    out.extend(
                        candidates(here, &path, &bound, &globs)
                            .into_iter()
                            .map(|t| (line, t)),
                    );
                }
            }
        }
    }
}

#[test]
fn pack_paths_are_found_however_they_are_imported() {
    let file = src().join("steps/security/paths.rs");
    let into_pack = |text: &str| -> Vec<usize> {
        resolved_paths(&file, text)
            .into_iter()
            .filter(|(_, p)| p.starts_with(&["packs".to_string(), "reference".to_string()]))
            .map(|(line, _)| line)
            .collect()
    };
    for (text, why) in [
        ("use crate::packs::reference::domain;", "plain"),
        ("use crate::{packs::reference, steps};", "grouped"),
        (
            "use crate::{steps, packs::{reference::domain, enabled}};",
            "nested groups",
        ),
        (
            "use crate::packs::{self as p};\nfn f() { p::reference::go() }",
            "self alias",
        ),
        (
            "use crate::packs as p;\nfn f() { p::reference::go() }",
            "alias",
        ),
        (
            "use crate::packs;\nfn f() { packs::reference::go() }",
            "module import",
        ),
        ("use crate::packs::*;\nfn f() { reference::go() }", "glob"),
        (
            "fn f() { super::super::super::packs::reference::go() }",
            "super",
        ),
        (
            "fn f() { let x = vec![crate::packs::reference::X]; }",
            "macro body",
        ),
        (
            "fn f() { use crate::packs::reference as r; r::go() }",
            "use in a function",
        ),
    ] {
        assert!(!into_pack(text).is_empty(), "{why}: {text}");
    }
    for text in [
        "// use crate::packs::reference;\n/// crate::packs::reference::go\nfn f() {}",
        "/* crate::packs::reference */ fn f() { let s = \"crate::packs::reference\"; }",
        "use crate::packs;\nfn f() { packs::enabled(); packs::docs() }",
        "use crate::steps::reference;\nfn f() { reference::go() }",
        "use crate::packs::*;\nmod tests { fn f() { reference::go() } }",
    ] {
        assert_eq!(into_pack(text), Vec::<usize>::new(), "{text}");
    }
    assert_eq!(
        into_pack("use crate::{\n    steps,\n    packs::reference,\n};"),
        [3],
        "the line of the leaf"
    );
}
