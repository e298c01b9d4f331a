//! The step catalog that `qalens steps` prints: every step phrase with its domain, a
//! one-line description and an example.
//!
//! The phrases come from the step definitions themselves (cucumber's registry); the
//! descriptions and examples live here, and a test proves that every registered step has
//! exactly one entry whose example it matches, and every entry an existing step, so the
//! catalog cannot drift from the code.

use cucumber::codegen::WorldInventory;
use serde::Serialize;

use crate::world::QaWorld;

/// Documentation of one step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepDoc {
    /// The domain, as in `features/` and `harness/src/steps/`.
    pub domain: &'static str,
    pub description: &'static str,
    /// A complete step line, keyword included, as written in a feature file.
    pub example: &'static str,
}

/// Every documented step.
pub const DOCS: &[StepDoc] = &[
    StepDoc {
        domain: "orders",
        description: "Act as a new customer; the name is made unique to the scenario.",
        example: "Given a customer \"alice\"",
    },
    StepDoc {
        domain: "orders",
        description: "POST /orders through the gateway as the current customer.",
        example: "When the customer places an order for 2 of \"SKU-1\" through the gateway",
    },
    StepDoc {
        domain: "orders",
        description: "Wait up to the deadline until the email consumer recorded emails for the last order; then exactly that many must exist, addressed to the customer.",
        example: "Then within 10 seconds exactly 1 confirmation email exists for the order",
    },
    StepDoc {
        domain: "http",
        description: "The last HTTP response had this status.",
        example: "Then the response status is 201",
    },
];

/// A step definition as registered with cucumber.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub keyword: &'static str,
    /// The regular expression the step matches (cucumber expressions compile to one).
    pub pattern: String,
    /// `file:line` of the definition.
    pub defined_at: String,
}

/// Every step definition of [`QaWorld`].
pub fn registered() -> Vec<Registered> {
    fn collect<C: cucumber::codegen::StepConstructor<QaWorld> + 'static>(
        keyword: &'static str,
        items: impl Iterator<Item = &'static C>,
        out: &mut Vec<Registered>,
    ) {
        for c in items {
            let (location, regex, _) = c.inner();
            out.push(Registered {
                keyword,
                pattern: regex().as_str().to_string(),
                defined_at: format!("{}:{}", location.path, location.line),
            });
        }
    }
    let mut out = vec![];
    collect(
        "Given",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::Given>.into_iter(),
        &mut out,
    );
    collect(
        "When",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::When>.into_iter(),
        &mut out,
    );
    collect(
        "Then",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::Then>.into_iter(),
        &mut out,
    );
    out.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    out
}

/// Splits a step line into its keyword and text.
pub fn split_keyword(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    ["Given ", "When ", "Then ", "And ", "But "]
        .iter()
        .find_map(|k| line.strip_prefix(k).map(|rest| (k.trim(), rest)))
}

/// A catalog entry joined with the definition its example matches.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub domain: &'static str,
    pub keyword: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub pattern: String,
    pub defined_at: String,
}

/// The catalog, sorted by domain; entries whose example matches no definition are left
/// out (the test in this module makes that impossible on main).
pub fn entries() -> Vec<Entry> {
    let steps = registered();
    let mut out: Vec<Entry> = DOCS
        .iter()
        .filter_map(|doc| {
            let (keyword, text) = split_keyword(doc.example)?;
            let step = steps
                .iter()
                .find(|s| s.keyword == keyword && regex_matches(&s.pattern, text))?;
            Some(Entry {
                domain: doc.domain,
                keyword: step.keyword,
                description: doc.description,
                example: doc.example,
                pattern: step.pattern.clone(),
                defined_at: step.defined_at.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.domain, a.example).cmp(&(b.domain, b.example)));
    out
}

fn regex_matches(pattern: &str, text: &str) -> bool {
    cucumber::codegen::Regex::new(pattern).is_ok_and(|r| r.is_match(text))
}

/// The catalog as text for a terminal.
pub fn render_text() -> String {
    let mut out = String::new();
    let mut domain = "";
    for e in entries() {
        if e.domain != domain {
            domain = e.domain;
            out.push_str(&format!("\n## {domain}\n"));
        }
        out.push_str(&format!("  {}\n      {}\n", e.example, e.description));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_definition_is_documented_exactly_once() {
        for step in registered() {
            let docs: Vec<_> = DOCS
                .iter()
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
        for doc in DOCS {
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
        assert_eq!(entries().len(), DOCS.len());
    }
}
