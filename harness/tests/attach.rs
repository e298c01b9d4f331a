//! The fast loop and CI scale-out against real Docker, through an engine reached over TCP
//! at 127.0.0.2 (a forwarder to this machine's engine socket stands in for a remote
//! engine, as in CI set-ups with `DOCKER_HOST=tcp://docker:2375`):
//! - `qalens up --detach` starts a topology whose endpoints use the engine's host;
//! - `qalens run --attach` runs features against it, starting and removing nothing;
//! - a defect switched on by an attached run is switched off again afterwards;
//! - `--shard K/N` runs disjoint shares whose union is exactly the suite.
//!
//! One test, so the topology is started once; a guard removes it on every exit path.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::qalens;

/// Forwards TCP connections on 127.0.0.2 to the local engine's Unix socket; returns the
/// `DOCKER_HOST` that reaches it. The forwarder lives as long as the runtime.
fn remote_engine(runtime: &tokio::runtime::Runtime) -> String {
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => h.trim_start_matches("unix://").to_string(),
        Ok(h) if !h.is_empty() => return h,
        _ => "/var/run/docker.sock".to_string(),
    };
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.2:0"))
        .expect("binding 127.0.0.2 (any 127/8 address is loopback on Linux)");
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let socket = socket.clone();
            tokio::spawn(async move {
                if let Ok(mut unix) = tokio::net::UnixStream::connect(&socket).await {
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
                }
            });
        }
    });
    format!("tcp://127.0.0.2:{port}")
}

/// Removes the kept topology when the test ends, pass or fail.
struct Down {
    run_id: String,
    docker_host: String,
}

impl Drop for Down {
    fn drop(&mut self) {
        let _ = qalens(&["down", &self.run_id])
            .env("DOCKER_HOST", &self.docker_host)
            .output();
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn features(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../features")
        .join(rel)
        .display()
        .to_string()
}

/// The scenario names (with their location) in a JUnit report.
fn junit_cases(path: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(path).unwrap();
    xml.split("<testcase")
        .skip(1)
        .filter_map(|c| {
            let start = c.find(" name=\"")? + 7;
            let end = start + c[start..].find('"')?;
            Some(c[start..end].to_string())
        })
        .collect()
}

fn containers_of(run_id: &str) -> usize {
    common::runtime().block_on(async {
        let docker = qalens_engine::cleanup::docker().await.expect("docker");
        qalens_engine::cleanup::components_of(&docker, run_id)
            .await
            .expect("list")
            .len()
    })
}

#[test]
fn attached_runs_shards_and_defects_on_a_topology_behind_a_tcp_engine() {
    let runtime = common::runtime();
    let docker_host = remote_engine(&runtime);
    let dir = tempdir();
    let env_file = dir.join("env.json");

    let up = qalens(&["up", "--detach", "--env-file", env_file.to_str().unwrap()])
        .env("DOCKER_HOST", &docker_host)
        .output()
        .unwrap();
    assert!(up.status.success(), "qalens up failed:\n{}", text(&up));
    let endpoints: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&env_file).unwrap()).unwrap();
    let run_id = endpoints["run_id"].as_str().unwrap().to_string();
    let _down = Down {
        run_id: run_id.clone(),
        docker_host: docker_host.clone(),
    };

    // Every endpoint is on the engine's host, none on a hard-coded loopback address.
    let expected_host = docker_host
        .trim_start_matches("tcp://")
        .rsplit_once(':')
        .unwrap()
        .0
        .to_string();
    // Endpoints are keyed by service and port: the entry, the broker, an inspection
    // endpoint and a plain published port.
    let urls: Vec<&str> = [
        &endpoints["gateway"],
        &endpoints["amqp"],
        &endpoints["inspection"]["orders"],
        &endpoints["containers"]["redis"]["6379"],
    ]
    .iter()
    .map(|v| v.as_str().unwrap_or_else(|| panic!("{v} in {endpoints}")))
    .collect();
    for url in &urls {
        assert!(
            url.contains(&format!("{expected_host}:")),
            "{url} is not on the engine's host {expected_host}"
        );
    }
    let started = containers_of(&run_id);
    assert!(started >= 10, "the topology has {started} containers");

    let attached = |args: &[&str]| {
        let mut all = vec!["run", "--attach"];
        all.extend_from_slice(args);
        qalens(&all)
            .env("DOCKER_HOST", &docker_host)
            .output()
            .unwrap()
    };

    // The env file records the system file the topology started from; attaching with
    // another `--system` is refused before anything runs.
    let recorded = endpoints["system_file"].as_str().unwrap_or_default();
    assert!(
        Path::new(recorded).is_absolute() && recorded.ends_with("reference-system/qalens.yml"),
        "{endpoints}"
    );
    let other = common::fixtures("systems/healthcheck.yml");
    let refused = attached(&[
        env_file.to_str().unwrap(),
        "--system",
        other.to_str().unwrap(),
        &features("orders"),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("is a topology started from"),
        "{}",
        text(&refused)
    );

    // A feature end to end through the TCP engine, attached by env file.
    let suite_paths = [features("orders"), features("rate_limit/limits.feature")];
    let full_junit = dir.join("full.xml");
    let run = attached(&[
        env_file.to_str().unwrap(),
        &suite_paths[0],
        &suite_paths[1],
        "--junit",
        full_junit.to_str().unwrap(),
    ]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(out.contains("topology start 0.0s"), "{out}");
    let suite: BTreeSet<String> = junit_cases(&full_junit).into_iter().collect();
    assert!(suite.len() >= 10, "{suite:?}");

    // Shards: disjoint, and together exactly the suite.
    let mut union = BTreeSet::new();
    for k in 1..=3 {
        let junit = dir.join(format!("shard-{k}.xml"));
        let shard = format!("{k}/3");
        let run = attached(&[
            &run_id,
            &suite_paths[0],
            &suite_paths[1],
            "--shard",
            &shard,
            "--junit",
            junit.to_str().unwrap(),
        ]);
        let out = text(&run);
        assert_eq!(run.status.code(), Some(0), "shard {shard}:\n{out}");
        let cases = junit_cases(&junit);
        assert!(!cases.is_empty(), "shard {shard} ran nothing:\n{out}");
        for c in cases {
            assert!(union.insert(c.clone()), "{c} ran in two shards");
        }
    }
    assert_eq!(union, suite, "the shards' union is not the suite");

    // A defect switched on by an attached run fails it, and is off again afterwards.
    let run = attached(&[&run_id, &suite_paths[1], "--defect", "limiter-off-by-one"]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let controls = endpoints["controls"].as_object().unwrap();
    assert!(!controls.is_empty());
    for (component, url) in controls {
        let active = runtime.block_on(async {
            reqwest::get(format!("{}/internal/defects", url.as_str().unwrap()))
                .await
                .unwrap()
                .json::<Vec<String>>()
                .await
                .unwrap()
        });
        assert!(active.is_empty(), "{component} still has {active:?}");
    }
    let run = attached(&[&run_id, &suite_paths[1]]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));

    // Attached runs started and removed nothing.
    assert_eq!(containers_of(&run_id), started);

    // An unknown run id is a clear error, exit 2.
    let run = attached(&["qalens-00000000", &suite_paths[0]]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(
        text(&run).contains("no topology qalens-00000000 runs"),
        "{}",
        text(&run)
    );
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qalens-attach-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
