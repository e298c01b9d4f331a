//! Fuzzing the system-file loader with proptest: generators that write Compose structure
//! (services with the supported keys and an `x-qalens` section, filled with ordinary and
//! hostile values) and mutations of the two shipped system files. Each input must load or
//! be refused within a bounded time, without a panic, with an error that names
//! `FILE:LINE:COL`. A fixed case count keeps it to seconds in `ci/test`; the inputs it
//! found are committed under `fixtures/systems/hostile/` and checked by
//! `system_file.rs` against the real binary.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use qalens_model::system::System;

/// The longest a debug build may take on one input (a release build takes a tenth).
const DEADLINE: Duration = Duration::from_secs(2);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vars(name: &str) -> Option<String> {
    match name {
        "QALENS_REFSYS_BIN" => Some(root().join("Cargo.toml").display().to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// Loads `text` as `dir/fuzz.yml` and checks the outcome.
fn check(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let file = dir.join("fuzz.yml");
    let started = Instant::now();
    let result = System::parse(&file, dir, text, &vars);
    let took = started.elapsed();
    prop_assert!(took < DEADLINE, "took {took:?}");
    if let Err(e) = result {
        let message = e.to_string();
        let prefix = format!(
            "{}:{}:{}: ",
            file.display(),
            e.line.unwrap_or(0),
            e.column.unwrap_or(0)
        );
        prop_assert!(
            e.line.is_some() && e.column.is_some() && message.starts_with(&prefix),
            "no FILE:LINE:COL: {message}"
        );
        prop_assert!(message.len() < 2_000, "{} bytes: {message}", message.len());
        prop_assert_eq!(message.lines().count(), 1, "{}", message);
    }
    Ok(())
}

/// Values, ordinary and hostile, as they would be written in YAML.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}",
        "[0-9]{1,6}",
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        any::<String>().prop_map(|s| format!("{s:?}")),
        Just("''".to_string()),
        Just("~".to_string()),
        Just("{}".to_string()),
        Just("[]".to_string()),
        Just("\"a b\"".to_string()),
        Just("a/b".to_string()),
        Just("..".to_string()),
        Just("0s".to_string()),
        Just("1m30s".to_string()),
        Just("18446744073709551615s18446744073709551615s".to_string()),
        Just("99999999999999999999".to_string()),
        Just("\"${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-${U:-x}}}}}}}}}}}}}}}}}\"".to_string()),
        Just("${EMPTY:?gone}".to_string()),
        Just("!foo x".to_string()),
        Just("!reset []".to_string()),
        Just("&a x".to_string()),
        Just("*a".to_string()),
        Just("\"t\\r\\nX: y\"".to_string()),
        Just("/etc/passwd".to_string()),
        Just("/dev/zero".to_string()),
        Just(".".to_string()),
        Just("./Cargo.toml".to_string()),
        Just("\"\\0\"".to_string()),
        (1usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        (1usize..2000).prop_map(|n| "x".repeat(n)),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("web".to_string()),
        Just("api".to_string()),
        Just("db".to_string()),
        Just("web-1".to_string()),
        Just("''".to_string()),
        Just("\"a b\"".to_string()),
        Just("a/b".to_string()),
        Just("..".to_string()),
        "[a-z][a-z0-9_.-]{0,70}",
    ]
}

/// One key of a service, with a value of the right shape or not.
fn service_key() -> impl Strategy<Value = String> {
    let v = value;
    prop_oneof![
        v().prop_map(|x| format!("    image: {x}\n")),
        v().prop_map(|x| format!("    command: {x}\n")),
        v().prop_map(|x| format!("    command: [{x}, {x}]\n")),
        (v(), v()).prop_map(|(k, x)| format!("    environment: {{ {k}: {x} }}\n")),
        v().prop_map(|x| format!("    environment: [{x}]\n")),
        v().prop_map(|x| format!("    ports: [{x}]\n")),
        v().prop_map(|x| format!("    expose: [{x}, 8080]\n")),
        name().prop_map(|x| format!("    depends_on: [{x}]\n")),
        (name(), v()).prop_map(|(n, x)| format!("    depends_on: {{ {n}: {{ condition: {x} }} }}\n")),
        (v(), v(), v(), v()).prop_map(|(t, i, r, s)| format!(
            "    healthcheck:\n      test: {t}\n      interval: {i}\n      retries: {r}\n      start_period: {s}\n"
        )),
        (v(), v()).prop_map(|(s, t)| format!("    volumes: [\"{}:{}:ro\"]\n", s.trim_matches('"'), t.trim_matches('"'))),
        (v(), v()).prop_map(|(s, t)| format!("    volumes: [{{ type: bind, source: {s}, target: {t}, read_only: true }}]\n")),
        name().prop_map(|x| format!("    networks: {{ default: {{ aliases: [{x}] }} }}\n")),
        v().prop_map(|x| format!("    deploy: {{ replicas: {x} }}\n")),
        v().prop_map(|x| format!("    scale: {x}\n")),
        v().prop_map(|x| format!("    {x}: 1\n")),
    ]
}

/// One part of `x-qalens`.
fn qalens_key() -> impl Strategy<Value = String> {
    let v = value;
    prop_oneof![
        (name(), v()).prop_map(|(s, p)| format!("  entry: {s}:{p}\n")),
        (name(), v()).prop_map(|(s, p)| format!("  gateway: {{ service: {s}, port: {p} }}\n")),
        v().prop_map(|t| format!("  identity: {{ token: {t} }}\n")),
        v().prop_map(|c| format!("  identity: {{ command: [{c}] }}\n")),
        (v(), v()).prop_map(|(k, x)| format!("  identity: {{ jwt: {{ alg: HS256, secret: s, claims: {{ {k}: {x} }} }} }}\n")),
        v().prop_map(|k| format!("  identity: {{ jwt: {{ alg: RS256, private_key: {k} }} }}\n")),
        v().prop_map(|f| format!("  routes: {{ openapi: {f} }}\n")),
        (v(), v()).prop_map(|(m, p)| format!("  routes: [{{ method: {m}, path: {p} }}]\n")),
        (name(), v(), v()).prop_map(|(s, q, d)| format!(
            "  broker: {{ service: {s}, port: 5672, queues: [{{ name: {q}, dead_letter: {d} }}] }}\n"
        )),
        (name(), name(), v()).prop_map(|(f, t, r)| format!("  links: [{{ from: {f}, to: {t}:8080, rewire: {r} }}]\n")),
        (v(), v(), v()).prop_map(|(r, l, w)| format!(
            "  rate_limits: [{{ route: {r}, limit: {l}, window: {w}, per: client }}]\n"
        )),
        (name(), v()).prop_map(|(s, l)| format!("  ready: {{ {s}: {{ log: {l} }} }}\n")),
        v().prop_map(|c| format!("  contracts: {c}\n")),
        v().prop_map(|x| format!("  {x}: 1\n")),
    ]
}

/// A whole file: services with some keys each, and maybe an `x-qalens` section.
fn system_file() -> impl Strategy<Value = String> {
    let service = (name(), prop::collection::vec(service_key(), 0..6));
    (
        prop::collection::vec(service, 0..5),
        prop::option::of(prop::collection::vec(qalens_key(), 0..5)),
    )
        .prop_map(|(services, qalens)| {
            let mut text = String::from("services:\n");
            for (name, keys) in services {
                text.push_str(&format!("  {name}:\n"));
                if keys.is_empty() {
                    text.push_str("    image: web:1\n");
                }
                text.extend(keys);
            }
            if let Some(keys) = qalens {
                text.push_str("x-qalens:\n");
                text.extend(keys);
            }
            text
        })
}

/// An edit of a seed file, line by line or character by character.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Insert(usize, String),
    Replace(usize, String),
    Indent(usize, usize),
    Char(usize, char),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), service_key()).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), qalens_key()).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (any::<usize>(), 0usize..12).prop_map(|(i, n)| Mutation::Indent(i, n)),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Mutation::Char(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(seed: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = seed.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::Delete(i) => {
                lines.remove(i % n);
            }
            Mutation::Duplicate(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::Insert(i, s) => lines.insert(i % (n + 1), s.trim_end().to_string()),
            Mutation::Replace(i, v) => {
                let l = &mut lines[i % n];
                if let Some(at) = l.find(": ") {
                    l.truncate(at + 2);
                    l.push_str(v);
                }
            }
            Mutation::Indent(i, k) => {
                let l = &mut lines[i % n];
                *l = format!("{}{}", " ".repeat(*k), l.trim_start());
            }
            Mutation::Char(i, c) => {
                let l = &mut lines[i % n];
                let at = l
                    .char_indices()
                    .nth(i % (l.chars().count() + 1))
                    .map_or(l.len(), |(b, _)| b);
                l.insert(at, *c);
            }
            Mutation::Truncate(i) => lines.truncate(i % n + 1),
        }
    }
    lines.join("\n") + "\n"
}

/// `cases`, times `QALENS_FUZZ_SCALE` when set (a longer campaign by hand).
fn runner(cases: u32) -> TestRunner {
    let scale: u32 = std::env::var("QALENS_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // A fixed seed, so CI runs the same cases every time (a new find is a regression case
    // to commit, not a flake); QALENS_FUZZ_SEED (a number) explores others.
    let seed: u8 = std::env::var("QALENS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(26);
    TestRunner::new_with_rng(
        Config {
            cases: cases.saturating_mul(scale),
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

#[test]
fn generated_compose_structure_loads_or_is_refused_with_a_position() {
    let dir = root().join("harness");
    runner(400)
        .run(&system_file(), |text| check(&dir, &text))
        .unwrap();
}

#[test]
fn mutated_shipped_system_files_load_or_are_refused_with_a_position() {
    let seeds = [
        root().join("reference-system/qalens.yml"),
        root().join("examples/nginx-shop/qalens.yml"),
        root().join("examples/apache-shop/qalens.yml"),
    ];
    for seed in seeds {
        let text = std::fs::read_to_string(&seed).unwrap();
        let dir = seed.parent().unwrap().to_path_buf();
        check(&dir, &text).unwrap();
        runner(200)
            .run(&prop::collection::vec(mutation(), 1..6), |m| {
                check(&dir, &apply(&text, &m))
            })
            .unwrap();
    }
}
