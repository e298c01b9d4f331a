//! qalens on software it did not write: `examples/nginx-shop` (stock nginx, RabbitMQ,
//! amqp-tools and pika) and `examples/apache-shop` (stock Apache httpd with
//! mod_auth_openidc) are each run once, shuffled, by a `qalens` that finds no `refsys`
//! binary (neither system needs one), and each report must hold exactly the verdicts its
//! README documents: which scenarios fail, with which messages, and which pass. Shuffled,
//! so no verdict leans on what ran before it: the queue lenses pass on nginx-shop's
//! careful worker and fail on the naive one whichever ran first.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;

/// A scenario's verdict: `Ok(())` passes; `Err(substrings)` fails with a message holding
/// every substring.
type Verdict = Result<(), &'static [&'static str]>;

/// Every scenario of the example, by its file's last name and line, with its verdict.
const EXPECTED: &[(&str, u32, Verdict)] = &[
    ("api_contract.feature", 7, Ok(())),
    ("api_contract.feature", 13, Ok(())),
    ("rate_limit.feature", 6, Ok(())),
    (
        "rate_limit.feature",
        11,
        Err(&[
            "request 6 should have got 429 once GET /limited/'s declared limit",
            "(5 per 60 s, per path) was used up, got 503",
        ]),
    ),
    ("rate_limit.feature", 17, Err(&["no Retry-After header"])),
    (
        "shared_counter.feature",
        5,
        Err(&[
            "request 6 of 12 should have got 429, got 200",
            "12×200 overall); status 200: 4/4/4 per replica (of 4/4/4 sent); no replica let \
             more than 5 through on its own, together they let 12: each replica keeps a count \
             of its own (a per-instance counter)",
        ]),
    ),
    (
        "shared_counter.feature",
        11,
        Err(&[
            "expected exactly 5 of 30 responses with status 200, saw 15",
            "5/5/5 per replica (of 10/10/10 sent); no replica let more than 5 through on its \
             own, together they let 15: each replica keeps a count of its own",
            "\nresponse 6 with status 200:\n",
        ]),
    ),
    ("shared_counter.feature", 16, Ok(())),
    ("shared_counter.feature", 21, Ok(())),
    (
        "unprotected_route.feature",
        14,
        Err(&["1 of 4 routes did not answer 401", "/api/export", "-> 200"]),
    ),
    (
        "unprotected_route.feature",
        15,
        Err(&["1 of 4 routes did not answer 401", "/api/export", "-> 200"]),
    ),
    ("unprotected_route.feature", 17, Ok(())),
    ("unprotected_route.feature", 22, Ok(())),
    (
        "path_confusion.feature",
        9,
        Err(&[
            "1 of 4 routes answered 2xx on their own path, not rewritten: they do not ask for \
             a token at all (an unprotected route). That is not path confusion;",
            "- GET http://",
            "/api/export (the route's own path) without a token:",
        ]),
    ),
    (
        "poison_message.feature",
        22,
        Err(&[
            "was never dead-lettered",
            "the queue \"jobs\" has no dead-letter queue",
            // Where it is instead: held by the worker, which never acknowledges it.
            "the queue \"jobs\" has 0 message(s) ready and 1 delivered to its 1 consumer(s) and not acknowledged",
            "this scenario's \"this is not a job\"",
            "taken by a consumer, which may still hold it",
        ]),
    ),
    ("poison_message.feature", 23, Ok(())),
    (
        "duplicate_delivery.feature",
        20,
        Err(&[
            "to be \"1\" within 5 s, last saw GET /ledger/jobs/message-",
            "answered /count = 2",
        ]),
    ),
    ("duplicate_delivery.feature", 21, Ok(())),
    (
        "backlog.feature",
        8,
        Err(&[
            "for each of the burst's 100 messages within 30 s: 100 of 100 not yet",
            // Behind what: the message the worker holds, ahead of the whole backlog.
            "the queue \"jobs\" has 100 message(s) ready and 1 delivered to its 1 consumer(s) and not acknowledged",
            "at its head: \"job message-",
            "this scenario's \"this is not a job\"",
            "taken by a consumer, which may still hold it",
        ]),
    ),
    ("backlog.feature", 19, Ok(())),
];

/// Every scenario of `examples/apache-shop`, as [`EXPECTED`] for nginx-shop.
const APACHE_EXPECTED: &[(&str, u32, Verdict)] = &[
    ("unprotected_route.feature", 14, Ok(())),
    ("unprotected_route.feature", 15, Ok(())),
    ("unprotected_route.feature", 16, Ok(())),
    ("unprotected_route.feature", 17, Ok(())),
    ("unprotected_route.feature", 18, Ok(())),
    ("unprotected_route.feature", 19, Ok(())),
    ("unprotected_route.feature", 21, Ok(())),
    (
        "hostile_tokens.feature",
        15,
        Err(&[
            "3 of 3 routes did not answer 401 with a Bearer challenge",
            "\"nbf\":",
            "/api/account\n",
            "-> 200",
        ]),
    ),
    (
        "hostile_tokens.feature",
        16,
        Err(&["3 of 3 routes did not answer 401", "\"iat\":"]),
    ),
    (
        "hostile_tokens.feature",
        20,
        Err(&["3 of 3 routes did not answer 401", "claims {\"scope\""]),
    ),
    (
        "hostile_tokens.feature",
        24,
        Err(&[
            "3 of 3 routes did not answer 401",
            "\"crit\":[\"x-qalens-unknown-extension\"]",
        ]),
    ),
    (
        "hostile_tokens.feature",
        25,
        Err(&["3 of 3 routes did not answer 401", "\"nbf\":\"garbage\""]),
    ),
    (
        "hostile_tokens.feature",
        26,
        Err(&["3 of 3 routes did not answer 401", "\"exp\":\"garbage\""]),
    ),
    ("scopes.feature", 7, Ok(())),
    ("scopes.feature", 13, Err(&["expected status 403, saw 401"])),
    ("scopes.feature", 19, Err(&["expected status 200, saw 401"])),
    ("link_faults.feature", 8, Ok(())),
    (
        "link_faults.feature",
        14,
        Err(&[
            "expected exactly 9 of 9 responses with status 200, saw 6",
            "3× no response",
            "/api/account\n",
            "-> no response after",
        ]),
    ),
    (
        "link_faults.feature",
        20,
        Err(&[
            "expected every response within 2000 ms; the slowest took",
            "/api/account\n",
        ]),
    ),
];

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/nginx-shop")
}

/// A `qalens` that finds no `refsys`: the test binary hard-linked into a directory of its
/// own (nothing beside it, nor one folder up), run without `QALENS_REFSYS_BIN`. A system of
/// the user's own must run without the reference system's binary.
struct WithoutRefsys {
    dir: PathBuf,
    bin: PathBuf,
}

impl WithoutRefsys {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("qalens-{name}-{}", std::process::id()));
        let bin = dir.join("bin/qalens");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let _ = std::fs::remove_file(&bin);
        if std::fs::hard_link(env!("CARGO_BIN_EXE_qalens"), &bin).is_err() {
            std::fs::copy(env!("CARGO_BIN_EXE_qalens"), &bin).unwrap();
        }
        for beside in [dir.join("bin/refsys"), dir.join("refsys")] {
            assert!(!beside.exists(), "{} would be found", beside.display());
        }
        Self { dir, bin }
    }

    fn qalens(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.bin);
        cmd.args(args)
            .env_remove("QALENS_REFSYS_BIN")
            .env_remove("QALENS_BIN")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }
}

impl Drop for WithoutRefsys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs every feature of `examples/<name>` once, shuffled, by a `qalens` without `refsys`,
/// and checks each scenario's verdict against `expected`.
fn assert_verdicts(name: &str, expected: &[(&str, u32, Verdict)]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let system = dir.join("qalens.yml");
    let features = dir.join("features");
    let report = std::env::temp_dir().join(format!("qalens-{name}-{}.json", std::process::id()));
    let bare = WithoutRefsys::new(name);
    let child = bare
        .qalens(&[
            "run",
            "--shuffle",
            "--system",
            system.to_str().unwrap(),
            features.to_str().unwrap(),
            "--json",
            report.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let pid = child.id();
    let (status, output) = finish(child);
    assert_eq!(
        status.code(),
        Some(1),
        "some scenarios must fail, nothing else go wrong:\n{output}"
    );
    assert_nothing_left(pid, &output);
    let text = std::fs::read_to_string(&report).expect("the JSON report");
    let _ = std::fs::remove_file(&report);
    let seen = outcomes(&serde_json::from_str(&text).expect("JSON"));

    let expected: BTreeMap<(String, u64), Verdict> = expected
        .iter()
        .map(|(f, l, v)| ((f.to_string(), u64::from(*l)), *v))
        .collect();
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the scenarios run are not the scenarios documented\n{output}"
    );
    let mut wrong = vec![];
    for (at, verdict) in &expected {
        let errors = &seen[at];
        match verdict {
            Ok(()) if !errors.is_empty() => {
                wrong.push(format!("{at:?} should pass, failed: {errors:?}"))
            }
            Err(_) if errors.is_empty() => wrong.push(format!("{at:?} should fail, passed")),
            Err(parts) => {
                let message = errors.join("\n");
                for part in *parts {
                    if !message.contains(part) {
                        wrong.push(format!(
                            "{at:?} failed without {part:?} in its message: {message}"
                        ));
                    }
                }
            }
            Ok(()) => {}
        }
    }
    assert!(wrong.is_empty(), "{}\n\n{output}", wrong.join("\n"));
}

/// Each scenario's outcome from a Cucumber JSON report: the step errors, empty when it
/// passed.
fn outcomes(report: &serde_json::Value) -> BTreeMap<(String, u64), Vec<String>> {
    let mut out = BTreeMap::new();
    for feature in report
        .as_array()
        .expect("a JSON report is a list of features")
    {
        let uri = feature["uri"].as_str().expect("uri");
        let file = uri.rsplit('/').next().expect("file name").to_string();
        for scenario in feature["elements"].as_array().expect("elements") {
            let line = scenario["line"].as_u64().expect("line");
            let errors = scenario["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .filter(|s| s["result"]["status"] != "passed")
                .map(|s| {
                    format!(
                        "{} ({}): {}",
                        s["name"].as_str().unwrap_or_default(),
                        s["result"]["status"].as_str().unwrap_or_default(),
                        s["result"]["error_message"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            out.insert((file.clone(), line), errors);
        }
    }
    out
}

#[test]
fn qalens_finds_the_documented_faults_in_the_stock_nginx_shop() {
    assert_verdicts("nginx-shop", EXPECTED);
}

/// Apache httpd verifies the JWTs itself (mod_auth_openidc) and its front door reads the
/// replicas' addresses from a configuration file: the link fault reaches replica 2 through
/// a proxy that took over its name.
#[test]
fn qalens_finds_the_documented_faults_in_the_stock_apache_shop() {
    assert_verdicts("apache-shop", APACHE_EXPECTED);
}

/// `x-qalens.contracts` names the shop's OpenAPI document: both scenarios pass against
/// it and fail against a next version whose catalog schema the running shop's answers
/// break, naming the operation, the response and the JSON paths; the scenario-wide check
/// finds the one broken answer among the visit's three.
#[test]
fn the_shop_s_responses_are_checked_against_the_openapi_document_it_names() {
    let system = example().join("qalens.yml");
    let feature = example().join("features/api_contract.feature");
    let run = |document: &str| {
        let report = std::env::temp_dir().join(format!(
            "qalens-example-openapi-{}-{}.json",
            std::process::id(),
            document.replace('/', "_")
        ));
        let mut command = qalens(&[
            "run",
            "--system",
            system.to_str().unwrap(),
            feature.to_str().unwrap(),
            "--json",
            report.to_str().unwrap(),
        ]);
        command.env("SHOP_OPENAPI", document);
        let child = command.spawn().unwrap();
        let pid = child.id();
        let (status, output) = finish(child);
        assert_nothing_left(pid, &output);
        let text = std::fs::read_to_string(&report).expect("the JSON report");
        let _ = std::fs::remove_file(&report);
        let seen = outcomes(&serde_json::from_str(&text).expect("JSON"));
        let errors = |line: u64| {
            seen.get(&("api_contract.feature".to_string(), line))
                .unwrap_or_else(|| panic!("the scenario at line {line} did not run\n{output}"))
                .join("\n")
        };
        (status.code(), errors(7), errors(13), output)
    };
    let (code, one, visit, output) = run("openapi/shop.yaml");
    assert_eq!(code, Some(0), "{one}\n{visit}\n{output}");
    let (code, one, visit, output) = run("openapi/shop-v2.yaml");
    assert_eq!(code, Some(1), "{output}");
    for (errors, count) in [
        (&one, "1 of 1 response(s) break"),
        (&visit, "1 of 3 response(s) break"),
    ] {
        for part in [
            count,
            "shop-v2.yaml",
            "getCatalog (GET /api/catalog) response 200 application/json does not match its schema:",
            "(root): \"items\" is a required property",
            "/upstream: \"ok\" is not one of \"ready\"",
        ] {
            assert!(errors.contains(part), "no {part:?} in: {errors}");
        }
    }
}
