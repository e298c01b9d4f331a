//! The step catalog against every step qalens ships (the packs' included, which only
//! the CLI links).

use qalens_steps::catalog::*;

#[test]
fn every_step_definition_is_documented_exactly_once() {
    for step in registered() {
        let docs: Vec<_> = all_docs()
            .filter(|d| {
                split_keyword(d.example).is_some_and(|(k, text)| {
                    k == step.keyword && regex_matches(&step.pattern, text)
                })
            })
            .collect();
        assert_eq!(
            docs.len(),
            1,
            "step `{} {}` ({}) must be documented by exactly one catalog example, found {docs:?}",
            step.keyword,
            step.pattern,
            step.defined_at
        );
    }
}

#[test]
fn every_catalog_example_matches_exactly_one_step() {
    let steps = registered();
    for doc in all_docs() {
        let (keyword, text) = split_keyword(doc.example)
            .unwrap_or_else(|| panic!("example {:?} must start with a keyword", doc.example));
        let matching: Vec<_> = steps
            .iter()
            .filter(|s| s.keyword == keyword && regex_matches(&s.pattern, text))
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "example {:?} matches {matching:?}",
            doc.example
        );
    }
    assert_eq!(entries().len(), all_docs().count());
}

fn reference() -> qalens_model::system::System {
    use qalens_model::system::REFERENCE_FILE;
    qalens_model::system::System::load_with(std::path::Path::new(REFERENCE_FILE), &|v| {
        (v == "QALENS_REFSYS_BIN").then(|| REFERENCE_FILE.to_string())
    })
    .unwrap()
}

/// An entry for `serves`, with the text and fields given.
fn entry(example: &'static str, needs: &'static [Need]) -> Entry {
    Entry {
        domain: "faults",
        pack: None,
        keyword: "When",
        description: "",
        example,
        needs,
        pattern: String::new(),
        defined_at: String::new(),
    }
}

#[test]
fn what_a_system_is_offered_follows_the_needs_field_not_the_text() {
    let with = reference();
    assert!(!with.qalens.links.is_empty() && with.qalens.broker.is_some());
    let mut without = reference();
    without.qalens.links.clear();
    without.qalens.broker = None;
    // A link step whose text no longer says "the link from" is still a link step; a step
    // whose text says so but needs nothing is offered everywhere.
    let renamed = entry(
        "When the proxy between api and db adds 3000 ms",
        &[Need::Link],
    );
    let mentions = entry("When the link from api to db is mentioned", &[]);
    assert!(serves(&with, &renamed) && !serves(&without, &renamed));
    assert!(serves(&with, &mentions) && serves(&without, &mentions));
    let queue = entry("When a message is published", &[Need::Broker]);
    assert!(serves(&with, &queue) && !serves(&without, &queue));

    // On the real catalog: exactly the entries that need a link or a broker go.
    let all = entries_for(&with);
    let left = entries_for(&without);
    let gone: Vec<_> = all
        .iter()
        .filter(|e| !left.iter().any(|l| l.example == e.example))
        .collect();
    assert!(!gone.is_empty());
    assert!(
        gone.iter()
            .all(|e| e.needs.contains(&Need::Link) || e.needs.contains(&Need::Broker)),
        "{gone:#?}"
    );
    assert!(
        left.iter()
            .all(|e| !e.needs.contains(&Need::Link) && !e.needs.contains(&Need::Broker)),
        "{left:#?}"
    );
}

#[test]
fn every_step_on_a_link_or_a_queue_says_what_it_needs() {
    for e in entries() {
        // The step definition (the code), not the doc, says it acts on a link.
        if e.pattern.contains("the link from") {
            assert!(e.needs.contains(&Need::Link), "{} needs a link", e.example);
        }
        if e.domain == "queue" {
            assert!(
                e.needs.contains(&Need::Broker),
                "{} needs a broker",
                e.example
            );
        }
        if e.domain == "contracts" {
            assert!(
                e.needs.contains(&Need::Contracts) || e.needs.contains(&Need::OpenApi),
                "{} needs contracts",
                e.example
            );
        }
    }
}

#[test]
fn openapi_steps_are_offered_where_x_qalens_contracts_names_a_document() {
    let mut system = reference();
    let openapi = entry(
        "Then the response conforms to the OpenAPI document",
        &[Need::OpenApi],
    );
    let by_name = entry(
        "Then the request a sent to b conforms to contract X v1",
        &[Need::Contracts],
    );
    // The reference names a directory of JSON Schemas.
    assert!(!serves(&system, &openapi) && serves(&system, &by_name));
    system.qalens.contracts = Some(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/nginx-shop/openapi/shop.yaml"),
    );
    assert!(serves(&system, &openapi));
    // The reference pack still bundles its JSON Schemas.
    assert!(serves(&system, &by_name));
}
