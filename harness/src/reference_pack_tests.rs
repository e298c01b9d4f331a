//! Tests that check the reference system file and the pack against it: they name the
//! reference services, so they live in the pack.

use std::path::{Path, PathBuf};

use qalens_engine::topology::faketime::environment;
use qalens_engine::topology::select_links;
use qalens_model::system::{Condition, Link, Pack, REFERENCE_FILE, System};

fn reference() -> System {
    System::load_with(Path::new(REFERENCE_FILE), &|v| {
        (v == "QALENS_REFSYS_BIN").then(|| REFERENCE_FILE.to_string())
    })
    .unwrap()
}

#[test]
fn the_reference_file_describes_todays_topology() {
    let s = reference();
    assert_eq!(
        s.service_names(),
        [
            "analytics",
            "email",
            "frontdoor",
            "gateway",
            "inventory",
            "orders",
            "payments",
            "rabbitmq",
            "redis"
        ]
    );
    assert_eq!(s.services["gateway"].replicas, 3);
    assert_eq!(s.services["redis"].image.to_string(), "redis:7");
    let q = &s.qalens;
    assert_eq!(q.entry.as_ref().unwrap().to_string(), "frontdoor:8080");
    let links: Vec<String> = q.links.iter().map(Link::name).collect();
    assert_eq!(
        links,
        [
            "orders-payments",
            "orders-inventory",
            "gateway-inventory",
            "gateway-redis",
            "gateway-orders",
            "gateway-payments",
            "orders-rabbitmq",
            "email-rabbitmq",
            "analytics-rabbitmq"
        ]
    );
    let proxied: Vec<String> = q
        .links
        .iter()
        .filter(|l| l.proxied)
        .map(Link::name)
        .collect();
    assert_eq!(
        proxied.join(","),
        "orders-payments,orders-inventory,gateway-inventory,gateway-redis,orders-rabbitmq"
    );
    assert_eq!(q.packs, [Pack::Reference]);
    assert_eq!(
        s.services["frontdoor"].depends_on,
        [("gateway".to_string(), Condition::Healthy)]
    );
}

#[test]
fn links_are_chosen_by_name_or_by_the_file() {
    let system = System::load_with(
        std::path::Path::new(qalens_model::system::REFERENCE_FILE),
        &|v| (v == "QALENS_REFSYS_BIN").then(|| qalens_model::system::REFERENCE_FILE.to_string()),
    )
    .unwrap();
    let names = |links: Vec<usize>| -> Vec<String> {
        links
            .iter()
            .map(|i| system.qalens.links[*i].name())
            .collect()
    };
    assert_eq!(
        names(select_links(&system, None).unwrap()).join(","),
        "orders-payments,orders-inventory,gateway-inventory,gateway-redis,orders-rabbitmq"
    );
    assert_eq!(select_links(&system, Some("all")).unwrap().len(), 9);
    assert!(select_links(&system, Some("none")).unwrap().is_empty());
    assert_eq!(
        names(select_links(&system, Some(" email-rabbitmq , email-rabbitmq")).unwrap()),
        ["email-rabbitmq"]
    );
    let err = select_links(&system, Some("orders-redis"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown link \"orders-redis\""), "{err}");
    assert!(err.contains("gateway-redis"), "{err}");
}

#[test]
fn every_reference_service_has_it_preloaded() {
    let system = qalens_model::system::System::load_with(
        std::path::Path::new(qalens_model::system::REFERENCE_FILE),
        &|v| (v == "QALENS_REFSYS_BIN").then(|| qalens_model::system::REFERENCE_FILE.to_string()),
    )
    .unwrap();
    for name in [
        "orders",
        "payments",
        "inventory",
        "email",
        "analytics",
        "gateway",
    ] {
        let env = &system.services[name].environment;
        for (k, v) in environment() {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{name}: {k}");
        }
    }
}

/// Writes `text` as `<name>.feature` in a fresh temporary directory.
fn feature_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qalens-names-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(format!("{name}.feature"));
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn outline_steps_are_checked_with_each_row_filled_in() {
    let f = feature_file(
        "outline",
        "Feature: f\n  Scenario Outline: s\n\
         \x20   When the <svc> container is stopped\n\
         \x20   And the link from <from> to <to> adds 10 ms of latency\n\
         \x20   Examples:\n\
         \x20     | svc      | from   | to       |\n\
         \x20     | payments | orders | payments |\n\
         \x20     | billing  | orders | payments |\n\
         \x20     | billing  | orders | payments |\n",
    );
    let problems = crate::lint::system_names::check(
        &reference(),
        &["orders-payments".to_string()],
        std::slice::from_ref(&f),
    );
    // Only the row naming a container the system lacks, once for its two alike rows.
    let at: Vec<String> = problems.iter().map(|p| p.at.clone()).collect();
    assert_eq!(at, [format!("{}:3", f.display())], "{problems:#?}");
    assert!(
        problems[0].message.contains("no container \"billing\""),
        "{}",
        problems[0]
    );
}

#[test]
fn undeclared_links_unproxied_links_unknown_containers_and_queues_are_located() {
    let f = feature_file(
        "names",
        "Feature: f\n  Scenario: s\n\
         \x20   When the link from orders to email adds 10 ms of latency\n\
         \x20   And the link from email to rabbitmq black-holes traffic\n\
         \x20   And the link from orders to payments is healed\n\
         \x20   And the billing container is stopped\n\
         \x20   And the gateway-3 container is restarted\n\
         \x20   Then within 5 seconds the queue \"audit\" has 0 messages ready\n\
         \x20   And within 5 seconds the message is in the dead-letter queue \"email.dlq\" with reason \"rejected\"\n",
    );
    let s = reference();
    let problems = crate::lint::system_names::check(
        &s,
        &["orders-payments".to_string()],
        std::slice::from_ref(&f),
    );
    let at: Vec<String> = problems.iter().map(|p| p.at.clone()).collect();
    let line = |n: u32| format!("{}:{n}", f.display());
    assert_eq!(at, [line(3), line(4), line(6), line(8)], "{problems:#?}");
    assert!(
        problems[0].message.contains("not declared")
            && problems[0].message.contains("x-qalens.links")
    );
    assert!(
        problems[1].message.contains("no fault proxy"),
        "{}",
        problems[1]
    );
    assert!(
        problems[2].message.contains("no container \"billing\""),
        "{}",
        problems[2]
    );
    assert!(
        problems[3].message.contains("x-qalens.broker.queues"),
        "{}",
        problems[3]
    );
}

/// A feature file with `text` in a fresh directory.
fn feature(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qalens-pack-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn a_pack_step_on_a_system_without_the_pack_is_located() {
    let f = feature(
        "pack.feature",
        "Feature: f\n  Scenario: s\n\
         \x20   Given a free client \"alice\"\n\
         \x20   When the client places an order for 1 of \"SKU-1\"\n\
         \x20   Then within 10 seconds the order is CONFIRMED\n",
    );
    let mut without = reference();
    without.qalens.packs.clear();
    let problems = crate::lint::system_names::check(&without, &[], std::slice::from_ref(&f));
    let at: Vec<String> = problems.iter().map(|p| p.at.clone()).collect();
    let line = |n: u32| format!("{}:{n}", f.display());
    assert_eq!(at, [line(4), line(5)], "{problems:#?}");
    assert!(
        problems[0].message.contains("reference pack")
            && problems[0].message.contains("packs: [reference]"),
        "{}",
        problems[0]
    );
    // With the pack enabled the same file is fine.
    assert!(crate::lint::system_names::check(&reference(), &[], &[f]).is_empty());
}

#[test]
fn an_order_step_on_the_nginx_shop_example_is_located() {
    let shop = System::load_with(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/nginx-shop/qalens.yml"),
        &|_| None,
    )
    .unwrap();
    assert!(shop.qalens.packs.is_empty());
    let f = feature(
        "shop.feature",
        "Feature: f\n  Scenario: s\n\
         \x20   Given a free client \"alice\"\n\
         \x20   When the client sends GET \"/\"\n\
         \x20   And the client places an order for 1 of \"SKU-1\"\n",
    );
    let problems = crate::lint::system_names::check(&shop, &[], std::slice::from_ref(&f));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].at, format!("{}:5", f.display()));
    assert!(
        problems[0]
            .message
            .contains("nginx-shop/qalens.yml does not enable")
    );
}

#[test]
fn the_catalog_marks_pack_steps_and_leaves_them_out_for_a_system_without_the_pack() {
    let all = qalens_steps::catalog::entries_for(&reference());
    let ours: Vec<_> = all
        .iter()
        .filter(|e| e.pack == Some(qalens_reference_pack::NAME))
        .collect();
    assert_eq!(ours.len(), qalens_reference_pack::DOCS.len());
    assert!(
        ours.iter()
            .all(|e| e.defined_at.contains("reference-pack/src/"))
    );
    let mut without = reference();
    without.qalens.packs.clear();
    let left = qalens_steps::catalog::entries_for(&without);
    assert!(left.iter().all(|e| e.pack.is_none()));
    assert_eq!(left.len(), all.len() - ours.len());
    without.qalens.broker = None;
    assert!(
        qalens_steps::catalog::entries_for(&without)
            .iter()
            .all(|e| e.domain != "queue")
    );
}
