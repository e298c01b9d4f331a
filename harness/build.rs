//! Records the parameter types of every step definition (`#[given]`, `#[when]`,
//! `#[then]` in the step crates: `steps/src/` and `reference-pack/src/`), keyed by the file and line cucumber records for it, so that
//! `qalens check` can refuse a number a step's type cannot hold (`99999` for a `u16`)
//! before anything runs. A plain text scan: the attribute's line, then the next
//! `fn NAME(...)` and its parameters' types, the world and the step (`#[step]`, or a `&Step` parameter) left out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // Read at run time: the build script's binary may be shared by checkouts that share a
    // target directory, and each must read its own sources.
    let harness = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let harness = harness.as_path();
    let mut files = vec![];
    for dir in ["steps/src", "reference-pack/src"] {
        println!("cargo:rerun-if-changed={dir}");
        collect(&harness.join(dir), &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// `(path under harness/, line of the step attribute, parameter types)`.\n\
         pub(super) static STEP_PARAMS: &[(&str, u32, &[&str])] = &[\n",
    );
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let rel = file
            .strip_prefix(harness)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        for (line, types) in steps(&text) {
            let types: Vec<String> = types.iter().map(|t| format!("{t:?}")).collect();
            let _ = writeln!(out, "    ({rel:?}, {line}, &[{}]),", types.join(", "));
        }
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("step_params.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("writing {}: {e}", dest.display());
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(line, parameter types)` of each step definition in `text`.
fn steps(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = vec![];
    let mut offset = 0;
    for (i, line) in text.lines().enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let t = line.trim_start();
        if !["#[given(", "#[when(", "#[then("]
            .iter()
            .any(|a| t.starts_with(a))
        {
            continue;
        }
        let rest = &text[start.min(text.len())..];
        let Some(fn_at) = rest.find("fn ") else {
            continue;
        };
        let Some(open) = rest[fn_at..].find('(').map(|o| fn_at + o + 1) else {
            continue;
        };
        let mut depth = 1;
        let mut params = vec![];
        let mut current = String::new();
        for c in rest[open..].chars() {
            match c {
                '(' | '<' | '[' => depth += 1,
                ')' | '>' | ']' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                break;
            }
            if c == ',' && depth == 1 {
                params.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        params.push(current);
        let types = params
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .skip(1) // the world
            .filter(|p| !p.starts_with("#[step]"))
            .filter_map(|p| p.split_once(':').map(|(_, ty)| ty.trim().to_string()))
            // The step itself, taken by its type (`step: &Step`) instead of `#[step]`.
            .filter(|ty| {
                ty.strip_prefix('&')
                    .is_none_or(|t| t.rsplit("::").next().map(str::trim) != Some("Step"))
            })
            .collect();
        found.push((i + 1, types));
    }
    found
}
