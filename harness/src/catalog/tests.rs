use super::*;

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
