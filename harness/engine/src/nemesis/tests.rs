//! The nemesis without Docker: lookups, and a link's fault set and healed through a fault
//! proxy's control API (`PUT {url}/internal/fault` with `{"mode": ...}`), played by a
//! local mock server.

use serde_json::json;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::testing::context;

/// A run whose links `api-ledger` and `api-db` are controlled at `proxy`.
fn run_with_links(proxy: &str) -> std::sync::Arc<Run> {
    let mut ctx = context("http://127.0.0.1:1");
    for link in ["api-ledger", "api-db"] {
        ctx.endpoints
            .links
            .insert(link.to_string(), format!("{proxy}/{link}"));
    }
    Run::new(ctx)
}

/// The fault proxy on `link` answers `status` to `PUT .../internal/fault` with `fault`,
/// and expects it `times` times.
async fn expect_fault(proxy: &MockServer, link: &str, fault: serde_json::Value, status: u16) {
    Mock::given(method("PUT"))
        .and(path(format!("/{link}/internal/fault")))
        .and(body_json(fault))
        .respond_with(ResponseTemplate::new(status))
        .expect(1)
        .mount(proxy)
        .await;
}

#[test]
fn components_and_links_are_found_by_name_or_the_known_ones_listed() {
    let run = run_with_links("http://proxy");
    let ctx = run.context();
    assert_eq!(container(&ctx, "ledger").unwrap(), "0123ledger");
    let e = container(&ctx, "ledgr").unwrap_err();
    assert_eq!(
        e.to_string(),
        "there is no component \"ledgr\"; components: api, ledger"
    );
    assert_eq!(
        link_url(&ctx, "api", "ledger").unwrap(),
        (
            "api-ledger".to_string(),
            "http://proxy/api-ledger".to_string()
        )
    );
    let e = link_url(&ctx, "ledger", "api").unwrap_err();
    assert_eq!(
        e.to_string(),
        "there is no fault proxy on the link from ledger to api; links: api-db, api-ledger"
    );
}

#[tokio::test]
async fn a_link_fault_is_set_then_healed_and_the_fault_log_records_the_heal() {
    let proxy = MockServer::start().await;
    expect_fault(
        &proxy,
        "api-ledger",
        json!({"mode": "latency", "ms": 300}),
        200,
    )
    .await;
    expect_fault(&proxy, "api-ledger", json!({"mode": "none"}), 200).await;
    let run = run_with_links(&proxy.uri());

    let name = set_link(
        &run.context(),
        "api",
        "ledger",
        qalens_proxy::Fault::Latency { ms: 300 },
    )
    .await
    .unwrap();
    assert_eq!(name, "api-ledger");
    run.faults().applied(&name, "adds 300 ms of latency");
    let mut faults = vec![Applied::Link(name)];

    heal_all(&run, &mut faults).await;
    assert!(faults.is_empty(), "every fault was undone: {faults:?}");
    proxy.verify().await;
    let spans = run.faults().take();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].target, "api-ledger");
    assert!(
        spans[0].healed.is_some(),
        "the heal was recorded: {spans:?}"
    );
}

#[tokio::test]
async fn a_scoped_fault_is_set_for_its_scenario_and_healed_for_it_alone() {
    let proxy = MockServer::start().await;
    for (body, scenario) in [
        (json!({"mode": "abort", "status": 503}), "s1"),
        (json!({"mode": "none"}), "s1"),
    ] {
        Mock::given(method("PUT"))
            .and(path(format!(
                "/api-ledger/internal/fault/scoped/{scenario}"
            )))
            .and(body_json(&body))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&proxy)
            .await;
    }
    let run = run_with_links(&proxy.uri());
    let name = set_scoped(
        &run.context(),
        "api",
        "ledger",
        "s1",
        qalens_proxy::ScopedFault::Abort { status: 503 },
    )
    .await
    .unwrap();
    assert_eq!(name, "api-ledger");
    let applied = Applied::Scoped {
        link: name,
        scenario: "s1".into(),
    };
    assert_eq!(applied.target(), "api-ledger for s1");
    run.faults().applied(&applied.target(), "answers 503");
    // Another scenario's fault on the same link is its own span.
    run.faults().applied("api-ledger for s2", "answers 502");
    let mut faults = vec![applied];

    heal_all(&run, &mut faults).await;
    assert!(faults.is_empty());
    proxy.verify().await;
    let spans = run.faults().take();
    assert_eq!(spans.len(), 2);
    assert!(spans[0].healed.is_some(), "{spans:?}");
    assert_eq!(
        spans[1].healed, None,
        "the other scenario's fault stays: {spans:?}"
    );
}

#[tokio::test]
async fn faults_are_healed_newest_first_and_a_refused_heal_stays_open_in_the_log() {
    let proxy = MockServer::start().await;
    expect_fault(&proxy, "api-ledger", json!({"mode": "none"}), 200).await;
    // The proxy on api-db refuses to heal.
    expect_fault(&proxy, "api-db", json!({"mode": "none"}), 500).await;
    let run = run_with_links(&proxy.uri());
    run.faults().applied("api-ledger", "black-holes traffic");
    run.faults().applied("api-db", "resets connections");
    let mut faults = vec![
        Applied::Link("api-ledger".into()),
        Applied::Link("api-db".into()),
    ];

    heal_all(&run, &mut faults).await;
    assert!(faults.is_empty(), "a heal that failed is not tried again");
    let order: Vec<String> = proxy
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(
        order,
        ["/api-db/internal/fault", "/api-ledger/internal/fault"],
        "newest first"
    );
    let spans = run.faults().take();
    let healed = |target: &str| {
        spans
            .iter()
            .find(|s| s.target == target)
            .map(|s| s.healed.is_some())
    };
    assert_eq!(healed("api-ledger"), Some(true));
    assert_eq!(healed("api-db"), Some(false), "still in effect: {spans:?}");
}

#[tokio::test]
async fn a_proxy_that_refuses_or_does_not_answer_is_named_in_the_error() {
    let proxy = MockServer::start().await;
    expect_fault(&proxy, "api-db", json!({"mode": "blackhole"}), 503).await;
    let run = run_with_links(&proxy.uri());
    let e = set_link(&run.context(), "api", "db", qalens_proxy::Fault::Blackhole)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the fault proxy on api-db answered 503 Service Unavailable"
    );

    let silent = run_with_links("http://127.0.0.1:1");
    let e = set_link(&silent.context(), "api", "db", qalens_proxy::Fault::None)
        .await
        .unwrap_err();
    assert!(matches!(e, NemesisError::ProxySilent { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("the fault proxy on api-db did not answer: "),
        "{e}"
    );
}

#[tokio::test]
async fn an_operation_names_its_component_and_fails_cleanly_without_an_engine() {
    let run = run_with_links("http://proxy");
    let e = apply(&run, "api", "exploded").await.unwrap_err();
    assert_eq!(e.to_string(), "unknown operation \"exploded\"");
    let e = apply(&run, "cache", "paused").await.unwrap_err();
    assert!(matches!(e, NemesisError::UnknownComponent { .. }), "{e:?}");
    // The run's Docker handle points where nothing listens: the request fails, named.
    let e = apply(&run, "api", "paused").await.unwrap_err();
    assert!(
        matches!(&e, NemesisError::Op { component, op, .. } if component == "api" && op == "paused"),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("api could not be paused: "),
        "{e}"
    );
}

/// Skewing the clock of a container without libfaketime says what the user does about
/// it (the package and the environment), not which Rust function qalens uses.
#[test]
fn a_clock_that_cannot_be_skewed_says_how_to_enable_it() {
    let e = NemesisError::NoFaketime {
        component: "shop-1".into(),
    }
    .to_string();
    assert!(!e.contains("::"), "{e}");
    assert!(
        e.starts_with("the shop-1 container does not preload libfaketime"),
        "{e}"
    );
    for part in [
        "apt-get install libfaketime",
        "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "FAKETIME_TIMESTAMP_FILE=/tmp/qalens-faketime",
        "in the system file",
        "docs/system-file.md",
    ] {
        assert!(e.contains(part), "no {part:?} in {e}");
    }
}
