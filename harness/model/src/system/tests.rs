//! One test per class of error, on small inline files, and the reference file itself.

use std::path::Path;

use super::*;

fn vars(name: &str) -> Option<String> {
    match name {
        "IMAGE" => Some("qalens-base:test".into()),
        _ => None,
    }
}

/// Parses `text` as if it were `/tmp/sys/test.yml` (relative paths resolve to the
/// harness directory, where `Cargo.toml` exists).
fn parse(text: &str) -> Result<System, SystemError> {
    System::parse(
        Path::new("test.yml"),
        Path::new(env!("CARGO_MANIFEST_DIR")),
        text,
        &vars,
    )
}

fn error(text: &str) -> SystemError {
    parse(text).expect_err("the file should be refused")
}

const MINIMAL: &str = "services:\n  web:\n    image: ${IMAGE}\n    expose: [8080]\n";

#[test]
fn a_minimal_file_loads_with_interpolation() {
    let s = parse(MINIMAL).unwrap();
    let web = &s.services["web"];
    assert_eq!(web.image.to_string(), "qalens-base:test");
    assert_eq!(web.ports, vec![8080]);
    assert_eq!(web.replicas, 1);
    assert_eq!(s.qalens, Qalens::default());
}

#[test]
fn the_supported_subset_loads() {
    let s = parse(
        r#"
name: shop
x-common: &common { image: "web:1" }
services:
  web:
    <<: *common
    command: nginx -g "daemon off;"
    entrypoint: ["/docker-entrypoint.sh"]
    environment: ["A=1", "B=x=y", "C"]
    ports: ["18080:80", { target: 81, published: 18081 }, "127.0.0.1:9000:82/tcp"]
    expose: ["83"]
    depends_on: { db: { condition: service_healthy }, cache: {} }
    deploy: { replicas: "${REPLICAS:-2}" }
    volumes:
      - ./Cargo.toml:/etc/app.toml:ro
      - { type: bind, source: ./src, target: /src, read_only: true }
    networks: { default: { aliases: [front] } }
  db:
    image: db
    environment: { N: 3, T: true, E: }
    healthcheck:
      test: ["CMD", "pg_isready", "-q"]
      interval: 1s
      timeout: 500ms
      retries: 30
      start_period: 1m30s
  cache: { image: cache, scale: 1, healthcheck: { test: "redis-cli ping" } }
"#,
    )
    .unwrap();
    let web = &s.services["web"];
    assert_eq!(web.image.to_string(), "web:1");
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["nginx", "-g", "daemon off;"]
    );
    assert_eq!(web.environment["B"], "x=y");
    assert_eq!(web.environment["C"], "");
    assert_eq!(web.ports, vec![80, 81, 82, 83]);
    assert_eq!(
        web.depends_on,
        vec![
            ("cache".into(), Condition::Started),
            ("db".into(), Condition::Healthy)
        ]
    );
    assert_eq!(web.replicas, 2);
    assert_eq!(web.mounts.len(), 2);
    assert!(web.mounts[0].source.is_absolute() && web.mounts[0].source.ends_with("Cargo.toml"));
    assert_eq!(web.aliases, vec!["front".to_string()]);
    let db = &s.services["db"];
    assert_eq!(db.environment["N"], "3");
    assert_eq!(db.environment["T"], "true");
    let h = db.healthcheck.as_ref().unwrap();
    assert_eq!(h.test, ["pg_isready", "-q"]);
    assert_eq!(h.timeout, std::time::Duration::from_millis(500));
    assert_eq!(h.start_period, std::time::Duration::from_secs(90));
    assert_eq!(h.retries, 30);
    let cache = s.services["cache"].healthcheck.as_ref().unwrap();
    assert_eq!(cache.test, ["/bin/sh", "-c", "redis-cli ping"]);
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let e = error("services:\n  web:\n    image: [unclosed\n");
    assert!(matches!(*e.kind, ErrorKind::Malformed(_)), "{e}");
    assert!(e.line.is_some(), "{e}");
    assert!(e.to_string().starts_with("test.yml:"), "{e}");
    assert!(matches!(*error("- a list\n").kind, ErrorKind::WrongType(_)));
}

#[test]
fn an_unsupported_compose_key_names_service_key_and_line() {
    let e = error("services:\n  web:\n    image: web\n    privileged: true\n");
    assert!(matches!(*e.kind, ErrorKind::UnsupportedKey(_)), "{e}");
    assert_eq!(e.service.as_deref(), Some("web"));
    assert_eq!(e.line, Some(4), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("test.yml:4:") && text.contains("privileged"),
        "{text}"
    );
    let e = error("services: {}\nvolumes: {data: {}}\n");
    assert!(matches!(*e.kind, ErrorKind::UnsupportedKey(_)), "{e}");
    assert!(e.to_string().contains("volumes"), "{e}");
}

#[test]
fn an_unknown_key_inside_x_qalens_is_refused() {
    let e = error(&format!(
        "{MINIMAL}x-qalens:\n  entry: web:8080\n  chaos: yes\n"
    ));
    assert!(matches!(*e.kind, ErrorKind::UnsupportedKey(_)), "{e}");
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.to_string().contains("chaos"), "{e}");
    let e = error(&format!(
        "{MINIMAL}x-qalens:\n  broker: {{ service: web, port: 8080, queues: [{{ name: q, dlq: q.dlq }}] }}\n"
    ));
    assert!(matches!(*e.kind, ErrorKind::UnsupportedKey(_)), "{e}");
    assert!(e.to_string().contains("dlq"), "{e}");
}

#[test]
fn a_wrong_type_names_the_key() {
    let e = error("services:\n  web:\n    image: web\n    depends_on: 3\n");
    assert!(matches!(*e.kind, ErrorKind::WrongType(_)), "{e}");
    assert_eq!(e.service.as_deref(), Some("web"));
    assert_eq!(e.key.as_deref(), Some("depends_on"), "{e}");
    let e = error("services:\n  web:\n    image: web\n    deploy: { replicas: many }\n");
    assert!(matches!(*e.kind, ErrorKind::WrongType(_)), "{e}");
    assert_eq!(e.key.as_deref(), Some("deploy.replicas"), "{e}");
    let e = error(&format!("{MINIMAL}x-qalens: {{ entry: web }}\n"));
    assert_eq!(e.key.as_deref(), Some("x-qalens.entry"), "{e}");
}

#[test]
fn unknown_services_are_named_wherever_they_are_referenced() {
    let e = error("services:\n  web:\n    image: web\n    depends_on: [db]\n");
    assert!(
        matches!(&*e.kind, ErrorKind::UnknownService { name, .. } if name == "db"),
        "{e}"
    );
    assert_eq!(
        (e.service.as_deref(), e.key.as_deref()),
        (Some("web"), Some("depends_on.db"))
    );
    let cases = [
        ("entry: api:8080", "x-qalens.entry"),
        (
            "links: [{ from: web, to: \"db:5432\", rewire: DB_URL }]",
            "x-qalens.links[0].to",
        ),
        (
            "links: [{ from: cron, to: \"web:8080\", rewire: URL }]",
            "x-qalens.links[0].from",
        ),
        ("gateway: { service: api, port: 8080 }", "x-qalens.gateway"),
        ("broker: { service: mq }", "x-qalens.broker.port"),
        ("ready: { db: { log: up } }", "x-qalens.ready.db"),
    ];
    for (section, key) in cases {
        let e = error(&format!("{MINIMAL}x-qalens:\n  {section}\n"));
        assert!(
            matches!(*e.kind, ErrorKind::UnknownService { .. }),
            "{section}: {e}"
        );
        assert_eq!(e.key.as_deref(), Some(key), "{section}: {e}");
        assert!(e.to_string().contains("the file's services are web"), "{e}");
    }
}

#[test]
fn a_link_must_name_a_variable_holding_the_callee() {
    let file = "services:\n  web:\n    image: web\n    environment: { DB_URL: \"postgres://db:5432/x\" }\n  db: { image: db, expose: [5432] }\n";
    let ok =
        format!("{file}x-qalens:\n  links: [{{ from: web, to: \"db:5432\", rewire: DB_URL }}]\n");
    assert_eq!(parse(&ok).unwrap().qalens.links[0].name(), "web-db");
    let e = error(&format!(
        "{file}x-qalens:\n  links: [{{ from: web, to: \"db:5432\", rewire: PG }}]\n"
    ));
    assert!(e.to_string().contains("no environment variable PG"), "{e}");
    let e = error(&format!(
        "{file}x-qalens:\n  links: [{{ from: web, to: \"db:6543\", rewire: DB_URL }}]\n"
    ));
    assert!(e.to_string().contains("does not declare port 6543"), "{e}");
}

#[test]
fn writable_binds_named_volumes_and_missing_sources_are_refused() {
    for (volume, says) in [
        ("./Cargo.toml:/x", "writable"),
        ("data:/var/lib/data:ro", "named volume"),
        ("./no-such-file:/x:ro", "cannot be used"),
        (
            "{ type: volume, source: data, target: /x }",
            "only bind mounts",
        ),
    ] {
        let e = error(&format!(
            "services:\n  web:\n    image: web\n    volumes: [{volume}]\n"
        ));
        assert_eq!(
            e.key.as_deref(),
            Some("volumes[0]")
                .filter(|_| !volume.starts_with('{'))
                .or(Some("volumes[0].type")),
            "{e}"
        );
        assert!(e.to_string().contains(says), "{volume}: {e}");
    }
}

#[test]
fn a_service_without_an_image_and_bad_variables_are_errors() {
    let e = error("services:\n  web: { command: [run] }\n");
    assert_eq!(
        (e.service.as_deref(), e.key.as_deref()),
        (Some("web"), Some("image"))
    );
    let e = error("services:\n  web: { image: \"${NOPE:?set NOPE}\" }\n");
    assert!(matches!(*e.kind, ErrorKind::Interpolation(_)), "{e}");
    assert_eq!(
        (e.service.as_deref(), e.key.as_deref()),
        (Some("web"), Some("image"))
    );
    assert!(e.to_string().contains("NOPE is required: set NOPE"), "{e}");
}

#[test]
fn a_dependency_cycle_is_refused() {
    let e = error(
        "services:\n  a: { image: a, depends_on: [b] }\n  b: { image: b, depends_on: [c] }\n  c: { image: c, depends_on: [a] }\n",
    );
    assert!(
        e.to_string()
            .contains("depends_on has a cycle: a -> b -> c -> a"),
        "{e}"
    );
    assert_eq!(
        (e.service.as_deref(), e.key.as_deref()),
        (Some("a"), Some("depends_on.b"))
    );
}

#[test]
fn healthy_dependencies_need_a_ready_check() {
    let file = "services:\n  web: { image: web, depends_on: { db: { condition: service_healthy } } }\n  db: { image: db }\n";
    let e = error(file);
    assert!(
        e.to_string()
            .contains("service_healthy needs a ready check"),
        "{e}"
    );
    let with_log = format!("{file}x-qalens: {{ ready: {{ db: {{ log: ready }} }} }}\n");
    parse(&with_log).unwrap();
    let e = error(
        "services:\n  web: { image: web, depends_on: { db: { condition: service_completed_successfully } } }\n  db: { image: db }\n",
    );
    assert!(e.to_string().contains("not supported"), "{e}");
}

#[test]
fn identity_needs_exactly_one_consistent_source() {
    let bad = [
        "identity: {}",
        "identity: { token: t, command: [x] }",
        "identity: { jwt: { alg: HS256 } }",
        "identity: { jwt: { alg: RS256, secret: s } }",
        "identity: { jwt: { alg: ES256, private_key: missing.pem } }",
        "identity: { jwt: { alg: RS256, private_key: Cargo.toml } }",
        "identity: { jwt: { alg: ES256, private_key: ../tests/fixtures/keys/test-only-rs256-private.pem } }",
    ];
    for section in bad {
        let e = error(&format!("{MINIMAL}x-qalens:\n  {section}\n"));
        assert!(
            e.key
                .as_deref()
                .unwrap_or_default()
                .starts_with("x-qalens.identity"),
            "{section}: {e}"
        );
    }
    let e = error(&format!(
        "{MINIMAL}x-qalens:\n  identity: {{ jwt: {{ alg: none }} }}\n"
    ));
    assert!(matches!(*e.kind, ErrorKind::WrongType(_)), "{e}");
    parse(&format!(
        "{MINIMAL}x-qalens:\n  identity: {{ jwt: {{ alg: RS256, private_key: ../tests/fixtures/keys/test-only-rs256-private.pem }} }}\n"
    ))
    .unwrap();
}

#[test]
fn the_test_route_table_caps_timeouts_and_keeps_everything_else() {
    let read = |p: &str| -> serde_json::Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../reference-system")
            .join(p);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (original, test) = (read("routes.json"), read("qalens/routes.test.json"));
    const CAP: u64 = 1500;
    assert_eq!(original["public"], test["public"]);
    assert_eq!(original["policies"], test["policies"]);
    let (o, t) = (
        original["routes"].as_array().unwrap(),
        test["routes"].as_array().unwrap(),
    );
    assert_eq!(o.len(), t.len());
    assert!(o.iter().any(|r| r["timeout_ms"].as_u64() > Some(CAP)));
    for (o, t) in o.iter().zip(t) {
        let mut capped = o.clone();
        capped["timeout_ms"] = o["timeout_ms"].as_u64().unwrap().min(CAP).into();
        assert_eq!(&capped, t);
    }
}

#[test]
fn the_reference_section_validates_against_the_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/system-file.schema.json"
    )))
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    // The reference file, and the example built from stock software (a static token, a
    // route list, a queue without a dead-letter queue).
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/nginx-shop/qalens.yml"
    );
    for path in [REFERENCE_FILE, example] {
        let text = std::fs::read_to_string(path).unwrap();
        let file: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
        let section = &file["x-qalens"];
        assert!(section.is_object(), "{path} has no x-qalens section");
        let errors: Vec<String> = validator
            .iter_errors(section)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:#?}");
    }
    // The schema is not vacuous: it refuses what the loader refuses.
    for bad in [
        serde_json::json!({ "chaos": true }),
        serde_json::json!({ "entry": "frontdoor" }),
        serde_json::json!({ "links": [{ "from": "a", "to": "b:1" }] }),
        serde_json::json!({ "identity": { "jwt": { "alg": "none" } } }),
        serde_json::json!({ "identity": { "jwt": { "alg": "HS256", "private_key": "k.pem" } } }),
        serde_json::json!({ "identity": { "jwt": { "alg": "RS256", "secret": "s" } } }),
        serde_json::json!({ "identity": { "token": "t", "command": ["x"] } }),
        serde_json::json!({ "identity": { "scopes": ["a"] } }),
        serde_json::json!({ "identity": { "token": "t", "scopes": ["a b"] } }),
        serde_json::json!({ "rate_limits": [{ "route": "GET /x", "limit": 5, "window": "60s", "per": "tenant" }] }),
        serde_json::json!({ "packs": ["other"] }),
        serde_json::json!({ "routes": [{ "method": "GET", "path": "/h", "public": true, "scope": "ops" }] }),
        serde_json::json!({ "routes": [{ "method": "GET", "path": "/a", "scope": "a \"b\"" }] }),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
    // Each identity mode the loader takes.
    for good in [
        serde_json::json!({ "identity": { "jwt": { "alg": "HS256", "secret": "s" } } }),
        serde_json::json!({ "identity": { "jwt": { "alg": "ES256", "private_key": "k.pem", "claims": { "aud": "shop" } } } }),
        serde_json::json!({ "identity": { "token": "t" } }),
        serde_json::json!({ "identity": { "jwt": { "alg": "HS256", "secret": "s" }, "scopes": ["catalog:read", "carts:read"] } }),
        serde_json::json!({ "identity": { "command": ["./token.sh", "{client}", "{tier}", "{scope}"] } }),
        serde_json::json!({ "rate_limits": [{ "route": "GET /x/", "limit": 5, "window": "60s", "per": "path" }] }),
        serde_json::json!({ "routes": [{ "method": "GET", "path": "/admin", "scope": "admin ops:write" }, { "method": "GET", "path": "/h", "public": true }] }),
        serde_json::json!({ "routes": { "openapi": "api.yaml" } }),
    ] {
        let errors: Vec<String> = validator
            .iter_errors(&good)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{good}: {errors:#?}");
    }
}

/// Each hostile file is refused with `test.yml:LINE:COL: ` and a message naming the
/// problem: every value `check` accepts must be one Docker and the steps accept.
#[test]
fn values_docker_or_the_steps_would_refuse_are_refused_at_their_line_and_column() {
    let long_name = "a".repeat(1_000);
    let cases: Vec<(String, &str, &str)> = vec![
        // (file, "LINE:COL", what the message says)
        ("services:\n  '':\n    image: a\n".into(), "2:3", "cannot be empty"),
        ("services:\n  a b:\n    image: a\n".into(), "2:3", "not a name Docker accepts"),
        ("services:\n  a/b:\n    image: a\n".into(), "2:3", "not a name Docker accepts"),
        ("services:\n  ..:\n    image: a\n".into(), "2:3", "not a name Docker accepts"),
        (format!("services:\n  {long_name}:\n    image: a\n"), "2:3", "at most 63"),
        (
            "services:\n  web:\n    image: a\n    scale: 2\n  web-1:\n    image: a\n".into(),
            "5:3",
            "\"web-1\" is its name and also replica 1 of service \"web\"",
        ),
        (
            "services:\n  web:\n    image: a\n    volumes: ['./Cargo.toml:etc/x:ro']\n".into(),
            "4:15",
            "not an absolute path",
        ),
        (
            "services:\n  api:\n    image: a\n  web:\n    image: a\n    networks:\n      default:\n        aliases: [api]\n".into(),
            "6:5",
            "\"api\" is its alias \"api\" and also name of service \"api\"",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  ready:\n    web: {{ log: '' }}\n"),
            "7:12",
            "the ready line is empty",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  broker:\n    service: web\n    port: 8080\n    queues: [{{ name: '' }}]\n"),
            "9:16",
            "a queue needs a name",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  identity:\n    jwt:\n      alg: HS256\n      secret: s\n      claims: {{ exp: 1 }}\n"),
            "10:17",
            "the claim exp cannot be set here",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  identity: {{ token: '' }}\n"),
            "6:15",
            "static token must be printable ASCII",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  identity: {{ token: \"t\\r\\nX-Evil: 1\" }}\n"),
            "6:15",
            "static token must be printable ASCII",
        ),
        (
            "services:\n  web:\n    image: a\n    environment: { '': x }\n".into(),
            "4:20",
            "\"\" is not a variable name",
        ),
        (
            "services:\n  web:\n    image: a\n    environment: ['A=B=c', '=x']\n".into(),
            "4:28",
            "\"\" is not a variable name",
        ),
        (
            "services:\n  web:\n    image: a\n    environment: { 'A=B': x }\n".into(),
            "4:20",
            "\"A=B\" is not a variable name",
        ),
        (
            "services:\n  web:\n    image: a\n    healthcheck: { test: '' }\n".into(),
            "4:20",
            "the test is empty",
        ),
        (
            "services:\n  web:\n    image: a\n    healthcheck: { test: ['CMD-SHELL', ' '] }\n".into(),
            "4:20",
            "command that is not empty",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  rate_limits:\n    - {{ route: GET /a, limit: 5, window: 0s, per: client }}\n"),
            "7:34",
            "window is at least 1s",
        ),
        ("services:\n".into(), "1:1", "declares no services"),
        ("services: {}\n".into(), "1:1", "declares no services"),
        (
            "services:\n  web:\n    image: !foo a\n".into(),
            "3:12",
            "the YAML tag !foo is not supported",
        ),
        (
            "services:\n  web:\n    image: a\n    scale: 0\n".into(),
            "4:5",
            "replicas must be 1 to 9",
        ),
        (
            "services:\n  web:\n    image: a\n    healthcheck: { test: x, timeout: 0s }\n".into(),
            "4:29",
            "timeout is at least 1ms",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  gateway: {{ service: web, port: 8080, replica_env: \"A=B\" }}\n"),
            "6:40",
            "\"A=B\" is not a variable name",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  identity: {{ token: t, scopes: [a, 'b c'] }}\n"),
            "6:37",
            "\"b c\" holds a space: list each scope as an item of its own",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  identity: {{ command: [\"\"] }}\n"),
            "6:15",
            "the command is empty",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  routes: [{{ method: GET, path: \"/a b\" }}]\n"),
            "6:12",
            "holds a space",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  routes:\n    - {{ method: GET, path: /h, public: true, scope: ops }}\n"),
            "7:46",
            "a public route needs no scope",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  routes:\n    - {{ method: GET, path: /a, scope: ' ' }}\n"),
            "7:32",
            "the scope is empty",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  routes:\n    - {{ method: GET, path: /a, scope: 'a \"b\"' }}\n"),
            "7:32",
            "\"\\\"b\\\"\" is not a scope",
        ),
        (
            format!("{MINIMAL}x-qalens:\n  broker: {{ service: web, port: 8080, queues: [{{ name: {} }}] }}\n", "q".repeat(300)),
            "6:50",
            "at most 255 bytes",
        ),
    ];
    let mut wrong = vec![];
    for (text, at, says) in &cases {
        let e = error(text).to_string();
        let shown = crate::input::shorten(text, 200).to_string();
        if !e.starts_with(&format!("test.yml:{at}: ")) || !e.contains(says) || e.len() > 1200 {
            wrong.push(format!(
                "{shown:?}\n  expected test.yml:{at}: ...{says}...\n  got {e}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // `scale: 0` names `scale`, not `deploy.replicas`.
    let e = error("services:\n  web:\n    image: a\n    scale: 0\n");
    assert_eq!(e.key.as_deref(), Some("scale"), "{e}");
    // libyaml itself refuses a key over 1024 characters, at the key's line.
    let e = error(&format!(
        "services:\n  {}:\n    image: a\n",
        "a".repeat(100_000)
    ));
    assert!(e.to_string().starts_with("test.yml:2:"), "{e}");
}

#[test]
fn durations_that_overflow_are_an_error_not_a_panic() {
    let huge = "10000000000000000000s10000000000000000000s";
    for key in ["interval", "start_period", "timeout"] {
        let e = error(&format!(
            "services:\n  web:\n    image: a\n    healthcheck: {{ test: x, {key}: {huge} }}\n"
        ));
        assert!(e.to_string().contains("longer than a year"), "{key}: {e}");
    }
    let e = error(&format!(
        "{MINIMAL}x-qalens:\n  rate_limits:\n    - {{ route: GET /a, limit: 5, window: 5000000000000h5000000000000h, per: client }}\n"
    ));
    assert!(e.to_string().contains("longer than a year"), "{e}");
    assert_eq!(parse_duration("8760h"), Ok(super::compose::MAX_DURATION));
    assert!(parse_duration("8760h1s").is_err());
}

#[test]
fn nested_defaults_and_deep_yaml_are_refused_quickly() {
    let n = 5_000;
    let deep = format!("{}x{}", "${U:-".repeat(n), "}".repeat(n));
    let e = error(&format!("services:\n  web:\n    image: '{deep}'\n"));
    assert!(e.to_string().starts_with("test.yml:3:5: "), "{e}");
    assert!(e.to_string().contains("nest more than 16 deep"), "{e}");
    let text = format!("services: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let started = std::time::Instant::now();
    let e = error(&text);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(e.to_string().contains("deeper than 64"), "{e}");
}

#[test]
fn long_values_are_cut_short_and_duplicates_and_nul_are_named_where_they_are() {
    let image = "x".repeat(1_000_000);
    let e = error(&format!("services:\n  web:\n    image: {image}\n"));
    let text = e.to_string();
    assert!(text.len() < 600, "{} bytes: {}", text.len(), &text[..200]);
    assert!(text.starts_with("test.yml:3:5: "), "{}", &text[..200]);
    assert!(text.contains("more bytes)"), "{text}");
    let mut file = String::from("services:\n  web:\n    image: a\n");
    for i in 0..100 {
        file.push_str(&format!("    # {i}\n"));
    }
    file.push_str("    image: b\n");
    let e = error(&file);
    assert!(e.to_string().starts_with("test.yml:104:5: "), "{e}");
    assert!(e.to_string().contains("duplicate key \"image\""), "{e}");
    let e = error("services:\n  web:\n    image: a\n    command: \"x\u{0}y\"\n");
    assert!(e.to_string().starts_with("test.yml:4:16: "), "{e}");
}

#[test]
fn named_files_must_be_regular_and_an_openapi_document() {
    let openapi = |path: &str| {
        error(&format!(
            "{MINIMAL}x-qalens:\n  routes: {{ openapi: {path} }}\n"
        ))
        .to_string()
    };
    let e = openapi("/etc/passwd");
    assert!(e.contains("not an OpenAPI"), "{e}");
    assert!(e.starts_with("test.yml:6:13: "), "{e}");
    assert!(openapi("src").contains("is a directory"), "{e}");
    assert!(openapi("Cargo.toml").contains("OpenAPI"), "{e}");
    assert!(openapi("/dev/zero").contains("not a regular file"), "{e}");
    let e = error(&format!(
        "{MINIMAL}x-qalens:\n  identity: {{ jwt: {{ alg: RS256, private_key: /dev/zero }} }}\n"
    ));
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

/// A missing image named only the first service using it; the user fixed that one and
/// met the same error on the next. It names every service using it now.
#[test]
fn a_missing_image_names_every_service_that_uses_it() {
    let error = |services: &[&str]| {
        SystemError::new(
            "shop.yml",
            ErrorKind::MissingImage {
                image: "shop/web:2.3".into(),
                services: services.iter().map(|s| s.to_string()).collect(),
                why: "no such image".into(),
            },
        )
        .service(services[0])
        .key("image")
        .to_string()
    };
    assert_eq!(
        error(&["web", "worker"]),
        "shop.yml: service \"web\", key \"image\": image shop/web:2.3 is not on this Docker \
         engine and cannot be pulled (services \"web\", \"worker\" use it): no such image"
    );
    assert_eq!(
        error(&["web"]),
        "shop.yml: service \"web\", key \"image\": image shop/web:2.3 is not on this Docker \
         engine and cannot be pulled: no such image"
    );
}
