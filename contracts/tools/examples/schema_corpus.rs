//! Measures the breaking-change diff against a schema registry's compatibility corpus:
//! files of cases `{description, original_schema, update_schema, changes, compatible}`
//! (Confluent Schema Registry's `json-schema-provider/src/test/resources/diff-*.json`),
//! whose `compatible` is the registry's BACKWARD verdict: a reader on the new schema
//! accepts everything the old one accepted, which is the diff's `request` kind.
//!
//! Run it through `ci/schema-corpus [--lenient] DIR` (or `cargo run -p contract-tools
//! --example schema_corpus -- [--lenient] FILE_OR_DIR...`). It prints every disagreement
//! (file, case, expected, ours, why), the agreement per file and in total, and the
//! documented policies, and exits 0; 2 when a file cannot be read. With `--lenient` the
//! diff reads leniently ([`Options::lenient`]) and is measured against the registry's
//! lenient verdict, `compatible_lenient`, where a case has one (`compatible` elsewhere).
//! The corpus is not part of this repository: it is the registry's data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use contract_tools::diff::{Change, Compat, Kind, Options, diff_schemas_with};
use serde_json::Value;

struct Tally {
    file: String,
    agree: usize,
    total: usize,
    false_alarms: usize,
    misses: usize,
    /// Disagreements no documented policy explains.
    unexplained: usize,
}

/// The two readings of an optional property added to or removed from an object that
/// allows unknown properties, and the registry's verdict each is measured against.
const READINGS: [&str; 2] = [
    "exact (default): an optional property added to or removed from an object that allows \
     unknown properties is compared with the `true` schema that governed (governs) its name: \
     adding a typed one narrows, removing one widens; the registry's default (strict) mode, \
     measured against `compatible`",
    "lenient (--lenient): such a property is neutral; the registry's lenient mode, measured \
     against `compatible_lenient` where a case has one, else `compatible`",
];

/// Where the diff deliberately differs from the registry (see `policy`).
const POLICIES: [&str; 3] = [
    "a name made required that no property describes: the new schema rejects objects \
     the old one accepted (those without it); the registry only compares `required` \
     names that `properties` describes",
    "additionalItems without an array `items` does nothing (draft-07 9.3.1.2; \
     2020-12 dropped the keyword), as the JSON Schema validator qalens uses reads it; \
     the registry's validator applies it to every item",
    "under --lenient only properties added to or removed from an open object are relaxed: \
     additionalProperties made false or narrower still narrows (senders' unknown properties \
     are rejected), which the registry's lenient mode accepts (ADDITIONAL_PROPERTIES_REMOVED, \
     ADDITIONAL_PROPERTIES_NARROWED)",
];

fn main() -> ExitCode {
    let (flags, args): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let lenient = match flags.as_slice() {
        [] => false,
        [flag] if flag == "--lenient" => true,
        _ => {
            eprintln!(
                "usage: schema_corpus [--lenient] FILE_OR_DIR... (unknown option in {flags:?})"
            );
            return ExitCode::from(2);
        }
    };
    let args: Vec<PathBuf> = args.into_iter().map(PathBuf::from).collect();
    if args.is_empty() {
        eprintln!(
            "usage: schema_corpus [--lenient] FILE_OR_DIR... (the registry's diff-*.json case files)"
        );
        return ExitCode::from(2);
    }
    println!("reading: {}", READINGS[usize::from(lenient)]);
    let mut files = Vec::new();
    for arg in &args {
        match corpus_files(arg) {
            Ok(mut found) => files.append(&mut found),
            Err(e) => {
                eprintln!("schema_corpus: {}: {e}", arg.display());
                return ExitCode::from(2);
            }
        }
    }
    if files.is_empty() {
        eprintln!("schema_corpus: no .json file in {args:?}");
        return ExitCode::from(2);
    }
    let mut tallies = Vec::new();
    for file in &files {
        match run_file(file, lenient) {
            Ok(t) => tallies.push(t),
            Err(e) => {
                eprintln!("schema_corpus: {e}");
                return ExitCode::from(2);
            }
        }
    }
    println!();
    let (mut agree, mut total, mut alarms, mut misses, mut unexplained) = (0, 0, 0, 0, 0);
    for t in &tallies {
        println!(
            "{:<46} {:>3} of {:>3} agree ({:6.2}%): {} false alarms, {} misses, {} without a policy",
            t.file,
            t.agree,
            t.total,
            percent(t.agree, t.total),
            t.false_alarms,
            t.misses,
            t.unexplained
        );
        agree += t.agree;
        total += t.total;
        alarms += t.false_alarms;
        misses += t.misses;
        unexplained += t.unexplained;
    }
    println!(
        "{:<46} {agree:>3} of {total:>3} agree ({:6.2}%): {alarms} false alarms, {misses} misses, {unexplained} without a policy",
        "total",
        percent(agree, total)
    );
    println!(
        "\npolicies (the contract_tools::diff docs, \"Where it differs from a schema registry\"):"
    );
    for p in POLICIES {
        println!("- {p}");
    }
    println!("readings:");
    for r in READINGS {
        println!("- {r}");
    }
    ExitCode::SUCCESS
}

fn percent(n: usize, of: usize) -> f64 {
    if of == 0 {
        100.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

fn corpus_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

fn run_file(path: &Path, lenient: bool) -> Result<Tally, String> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read it: {e}"))?;
    // The registry's files have trailing commas (its JSON reader is lenient); removing
    // them keeps every line number.
    let cases: Value = serde_json::from_str(&strip_trailing_commas(&text)).map_err(|e| {
        format!(
            "{shown}:{}:{}: not JSON ({e}); pass the registry's diff-*.json case files",
            e.line(),
            e.column()
        )
    })?;
    let cases = cases.as_array().ok_or_else(|| {
        format!("{shown}:1:1: the top level is not an array of cases; pass the registry's diff-*.json case files")
    })?;
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let mut tally = Tally {
        file: file.clone(),
        agree: 0,
        total: 0,
        false_alarms: 0,
        misses: 0,
        unexplained: 0,
    };
    for (i, case) in cases.iter().enumerate() {
        let description = case["description"].as_str().unwrap_or("(no description)");
        let (Some(old), Some(new), Some(strict)) = (
            case.get("original_schema"),
            case.get("update_schema"),
            case["compatible"].as_bool(),
        ) else {
            return Err(format!(
                "{shown}: case {i} ({description}) lacks a schema or `compatible`"
            ));
        };
        let expected = if lenient {
            case["compatible_lenient"].as_bool().unwrap_or(strict)
        } else {
            strict
        };
        let options = Options {
            mode: None,
            lenient,
        };
        if std::env::var_os("SCHEMA_CORPUS_TRACE").is_some() {
            eprintln!("case {i}: {description}");
        }
        let changes = diff_schemas_with("case", Kind::Request, options, old, new);
        let breaking: Vec<_> = changes
            .iter()
            .filter(|c| c.compat == Compat::Breaking)
            .collect();
        let ours = breaking.is_empty();
        tally.total += 1;
        if ours == expected {
            tally.agree += 1;
            continue;
        }
        if expected {
            tally.false_alarms += 1;
        } else {
            tally.misses += 1;
        }
        let verdict = |c: bool| if c { "compatible" } else { "incompatible" };
        let their: Vec<&str> = case["changes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "DISAGREE {file} #{i} {description:?}: expected {}, ours {}",
            verdict(expected),
            verdict(ours)
        );
        println!("  registry's change types: {}", show_list(&their));
        if expected {
            for c in &breaking {
                println!("  ours: {} {}", c.pointer, c.what);
            }
        } else if changes.is_empty() {
            println!("  ours: no change found");
        } else {
            for c in &changes {
                println!("  ours (compatible): {} {}", c.pointer, c.what);
            }
        }
        match policy(&their, expected, lenient, &breaking, [old, new]) {
            Some(policy) => println!("  policy: {policy}"),
            None => {
                tally.unexplained += 1;
                println!("  policy: none (a disagreement to investigate)");
            }
        }
    }
    Ok(tally)
}

/// The documented reason for a disagreement that is a deliberate policy of the diff (see
/// the `contract_tools::diff` docs, "Where it differs from a schema registry"), from the
/// registry's change types and our breaking changes; `None` for one nobody explained.
fn policy(
    their: &[&str],
    expected: bool,
    lenient: bool,
    ours: &[&Change],
    schemas: [&Value; 2],
) -> Option<&'static str> {
    let has = |t: &str| their.iter().any(|x| x.starts_with(t));
    if expected && !ours.is_empty() && ours.iter().all(|c| c.pointer.ends_with("/required")) {
        return Some(POLICIES[0]);
    }
    if lenient
        && expected
        && (has("ADDITIONAL_PROPERTIES_REMOVED") || has("ADDITIONAL_PROPERTIES_NARROWED"))
        && ours
            .iter()
            .all(|c| c.pointer.contains("/additionalProperties"))
    {
        return Some(POLICIES[2]);
    }
    let tuple = schemas
        .iter()
        .any(|s| s.get("items").is_some_and(Value::is_array));
    let about_additional_items =
        has("ADDITIONAL_ITEMS") || their.iter().any(|t| t.ends_with("#/additionalItems"));
    if !expected && about_additional_items && !tuple {
        return Some(POLICIES[1]);
    }
    None
}

fn show_list(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

/// Removes commas that precede a closing `}` or `]` outside strings.
fn strip_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}' | ']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}
