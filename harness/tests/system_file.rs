//! `--system FILE`: a file that cannot be used is exit 2 with the file, service and key
//! named, before anything starts.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use common::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn check_refuses_an_unsupported_key_with_exit_2_and_names_file_line_service_and_key() {
    let file = fixtures("systems/unsupported-key.yml");
    let out = qalens(&["check", "--system", file.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected = format!(
        "qalens: {}:6:5: service \"web\", key \"privileged\": unsupported key: unknown field \
         `privileged`, expected one of `image`,",
        file.display()
    );
    assert!(
        err.starts_with(&expected),
        "expected {expected:?}\n got {err:?}"
    );
}

#[test]
fn run_with_a_missing_image_exits_2_and_starts_nothing() {
    let file = fixtures("systems/missing-image.yml");
    let child = qalens(&[
        "run",
        "--system",
        file.to_str().unwrap(),
        fixtures("slow").to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}:8:5: service \"web\", key \"image\": image qalens-no-such-image:never is not on \
             this Docker engine and cannot be pulled (services \"web\", \"worker\" use it)",
            file.display()
        )),
        "{err}"
    );
    assert!(owned_by(pid).is_empty(), "something was started:\n{err}");
}

/// `build:` builds the image before anything starts, once: a second check finds the image
/// its context's digest names. A failed build names the system file's line and the
/// Dockerfile's.
#[test]
fn check_builds_an_image_once_and_a_failed_build_names_both_files_lines() {
    let dir = std::env::temp_dir().join(format!("qalens-build-{}", std::process::id()));
    let features = dir.join("features");
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::create_dir_all(&features).unwrap();
    let file = dir.join("shop.yml");
    std::fs::write(
        &file,
        "services:\n  web:\n    command: [cat, /stamp]\n    build:\n      context: web\n      \
         args: { BASE: \"${QALENS_RUNTIME_IMAGE:-debian:bookworm-slim}\" }\n",
    )
    .unwrap();
    // Content no earlier run built: the first check must build it.
    let stamp = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    std::fs::write(dir.join("web/stamp"), &stamp).unwrap();
    std::fs::write(
        dir.join("web/Dockerfile"),
        "ARG BASE\nFROM ${BASE}\nCOPY stamp /stamp\n",
    )
    .unwrap();
    let check = || {
        qalens(&[
            "check",
            "--system",
            file.to_str().unwrap(),
            features.to_str().unwrap(),
        ])
        .output()
        .unwrap()
    };
    let first = check();
    let second = check();
    let image = String::from_utf8_lossy(&first.stderr)
        .split_whitespace()
        .find(|w| w.starts_with("qalens-build/web:"))
        .map(str::to_string);
    std::fs::write(
        dir.join("web/Dockerfile"),
        "ARG BASE\nFROM ${BASE}\n\n# the step that fails\nRUN echo cannot build >&2; false\n",
    )
    .unwrap();
    let failed = check();
    let dockerfile = dir.join("web").canonicalize().unwrap().join("Dockerfile");
    if let Some(image) = &image {
        let _ = std::process::Command::new("docker")
            .args(["rmi", image])
            .output();
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(0), "{err}");
    assert!(
        err.contains("qalens: building image qalens-build/web:"),
        "{err}"
    );
    assert!(image.is_some(), "{err}");
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        !stderr(&second).contains("building image"),
        "the second check built again: {}",
        stderr(&second)
    );
    let err = stderr(&failed);
    assert_eq!(failed.status.code(), Some(2), "{err}");
    let expected = format!(
        "{}:4:5: service \"web\", key \"build\": building image qalens-build/web:",
        file.display()
    );
    assert!(err.contains(&expected), "expected {expected:?} in {err}");
    for part in [
        format!(
            "{}:5: RUN echo cannot build >&2; false: ",
            dockerfile.display()
        ),
        "returned a non-zero code: 1".to_string(),
        "(last output: cannot build)".to_string(),
    ] {
        assert!(err.contains(&part), "expected {part:?} in {err}");
    }
}

#[test]
fn up_waits_on_a_healthcheck_and_the_service_that_needs_it_healthy() {
    let file = fixtures("systems/healthcheck.yml");
    let dir = std::env::temp_dir().join(format!("qalens-system-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join("env.json");
    let out = qalens(&[
        "up",
        "--detach",
        "--system",
        file.to_str().unwrap(),
        "--env-file",
        env_file.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let err = stderr(&out);
    let endpoints: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&env_file).unwrap_or_default())
            .unwrap_or_default();
    let run_id = endpoints["run_id"].as_str().unwrap_or_default().to_string();
    // When each container started, as the engine records it (seconds since the epoch).
    let started_at = |service: &str| -> Option<f64> {
        let name = format!("{run_id}-{service}");
        let at = std::process::Command::new("docker")
            .args(["inspect", "-f", "{{.State.StartedAt}}", &name])
            .output()
            .ok()?;
        let at = String::from_utf8_lossy(&at.stdout).trim().to_string();
        let secs = std::process::Command::new("date")
            .args(["-d", &at, "+%s.%N"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&secs.stdout).trim().parse().ok()
    };
    let (web, client) = (started_at("web"), started_at("client"));
    let down = qalens(&["down", &run_id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(down.status.success(), "{}", stderr(&down));
    let containers: Vec<&String> = endpoints["containers"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(containers, ["client", "web"], "{endpoints}");
    // web is healthy 2 s after it starts (`sleep 2; touch /tmp/ready`): client, which
    // needs it healthy, must not have started before then.
    let (Some(web), Some(client)) = (web, client) else {
        panic!("no start times for web ({web:?}) and client ({client:?})\n{err}");
    };
    assert!(
        client - web >= 1.9,
        "client started {:.2} s after web, before web could be healthy\n{err}",
        client - web
    );
}

#[test]
fn up_fails_on_an_unhealthy_service_with_exit_2_and_leaves_nothing() {
    let file = fixtures("systems/unhealthy.yml");
    let child = qalens(&["up", "--system", file.to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("web is unhealthy: its healthcheck [\"test\", \"-f\", \"/never\"] failed 3 time(s) in a row"),
        "{err}"
    );
    assert!(owned_by(pid).is_empty(), "something was left:\n{err}");
}

fn openapi_fixture(relative: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/tools/tests/fixtures/openapi")
        .join(relative)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn contracts_diff_on_two_openapi_documents_catches_a_breaking_change_and_passes_a_compatible_one() {
    let pair = |case: &str| {
        let out = qalens(&[
            "contracts",
            "diff",
            &openapi_fixture(&format!("pairs/{case}/old.yaml")),
            &openapi_fixture(&format!("pairs/{case}/new.yaml")),
        ])
        .output()
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            stderr(&out),
        )
    };
    let (code, out, err) = pair("request-required-property-added");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("BREAKING createPet (POST /pets) request body application/json /components/schemas/NewPet"),
        "{out}"
    );
    assert!(
        out.ends_with("2 breaking changes: createPet (POST /pets)\n"),
        "{out}"
    );
    let (code, out, err) = pair("request-optional-property-added");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.ends_with("no breaking change\n"), "{out}");
    // An OpenAPI document against a contracts directory is refused, naming the side.
    let out = qalens(&[
        "contracts",
        "diff",
        &openapi_fixture("shop/v1.yaml"),
        &openapi_fixture("shop/schemas"),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shop/schemas: not an OpenAPI document"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_validates_the_openapi_document_x_qalens_contracts_names() {
    let dir = std::env::temp_dir().join(format!("qalens-openapi-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let system = dir.join("qalens.yml");
    std::fs::write(
        &system,
        "services:\n  web:\n    image: nginx:1.27\n    expose: [80]\nx-qalens:\n  entry: web:80\n  contracts: api.yaml\n",
    )
    .unwrap();
    let dangling = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: { $ref: '#/components/schemas/Gone' }\n";
    std::fs::write(dir.join("api.yaml"), dangling).unwrap();
    let out = qalens(&["check", "--system", system.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("x-qalens.contracts"), "{err}");
    assert!(err.contains("api.yaml: the schema does not compile: /paths/~1a/get/responses/200/content/application~1json"), "{err}");
    std::fs::write(
        dir.join("api.yaml"),
        dangling.replace("{ $ref: '#/components/schemas/Gone' }", "{ type: object }"),
    )
    .unwrap();
    let out = qalens(&["check", "--system", system.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !stderr(&out).contains("x-qalens.contracts"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `qalens check` with no Docker engine: the system file alone decides.
fn check_offline(file: &std::path::Path) -> std::process::Output {
    let empty = std::env::temp_dir().join(format!("qalens-no-features-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    qalens(&[
        "check",
        "--system",
        file.to_str().unwrap(),
        empty.to_str().unwrap(),
    ])
    .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    .output()
    .unwrap()
}

/// Asserts exit 2 and one line `qalens: FILE:AT: ...SAYS...` on stderr.
fn assert_refused(file: &std::path::Path, at: &str, says: &str) -> Result<(), String> {
    let started = std::time::Instant::now();
    let out = check_offline(file);
    let took = started.elapsed();
    let err = stderr(&out);
    let prefix = format!("qalens: {}:{at}: ", file.display());
    let shown = err.chars().take(400).collect::<String>();
    if out.status.code() != Some(2) {
        return Err(format!(
            "{}: exit {:?}: {shown}",
            file.display(),
            out.status.code()
        ));
    }
    if !err.starts_with(&prefix) || !err.contains(says) || err.lines().count() != 1 {
        return Err(format!(
            "{}: expected {prefix}...{says}..., got {shown}",
            file.display()
        ));
    }
    if err.len() > 2_000 || took > std::time::Duration::from_secs(5) {
        return Err(format!(
            "{}: {} bytes in {took:?}",
            file.display(),
            err.len()
        ));
    }
    Ok(())
}

/// The hostile files of issue 26 and those the fuzz target found
/// (`fixtures/systems/hostile/expected.tsv`): each is exit 2 with its position, once.
#[test]
fn hostile_system_files_are_refused_with_exit_2_and_file_line_column() {
    let dir = fixtures("systems/hostile");
    let index = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut wrong = vec![];
    let mut n = 0;
    for line in index.lines().filter(|l| !l.starts_with('#')) {
        let [file, at, says] = line.splitn(3, '\t').collect::<Vec<_>>()[..] else {
            panic!("bad line in expected.tsv: {line:?}");
        };
        n += 1;
        if let Err(e) = assert_refused(&dir.join(file), at, says) {
            wrong.push(e);
        }
    }
    assert!(n >= 30, "only {n} cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The big and the special ones, made at run time: a 100,000-deep flow list, defaults
/// nested 5,000 deep, a 1 MB image name, a FIFO as the system file and as a key file.
#[test]
fn huge_deep_and_special_files_are_refused_fast_without_reading_a_fifo() {
    let dir = std::env::temp_dir().join(format!("qalens-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let minimal = "services:\n  web:\n    image: web:1\n    expose: [8080]\n";
    let deep = write(
        "deep.yml",
        &format!("services: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let defaults = write(
        "defaults.yml",
        &format!(
            "services:\n  web:\n    image: \"{}x{}\"\n",
            "${U:-".repeat(5_000),
            "}".repeat(5_000)
        ),
    );
    let image = write(
        "image.yml",
        &format!("services:\n  web:\n    image: {}\n", "x".repeat(1_000_000)),
    );
    let fifo = dir.join("pipe.pem");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let key = write(
        "fifo-key.yml",
        &format!(
            "{minimal}x-qalens:\n  identity: {{ jwt: {{ alg: RS256, private_key: pipe.pem }} }}\n"
        ),
    );
    let system_fifo = dir.join("system-fifo.yml");
    let _ = std::fs::remove_file(&system_fifo);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&system_fifo)
            .status()
            .unwrap()
            .success()
    );
    let cases = [
        (&deep, "1:74", "deeper than 64"),
        (&defaults, "3:5", "nest more than 16 deep"),
        (&image, "3:5", "more bytes)"),
        (&key, "6:34", "not a regular file"),
    ];
    let mut wrong: Vec<String> = cases
        .iter()
        .filter_map(|(f, at, says)| assert_refused(f, at, says).err())
        .collect();
    let out = check_offline(&system_fifo);
    let err = stderr(&out);
    if out.status.code() != Some(2) || !err.contains("is a FIFO (named pipe), not a regular file") {
        wrong.push(format!("FIFO system file: {:?} {err}", out.status.code()));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
