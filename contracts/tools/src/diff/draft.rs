//! Drafts: every schema is rewritten into the draft 2020-12 vocabulary before the walk, as
//! its root `$schema` says it is written.
//!
//! | `$schema` | read as |
//! |---|---|
//! | draft-04, draft-06, draft-07 | `items: [..]` is `prefixItems` and `additionalItems` the `items` after it; `dependencies` is `dependentRequired` (name lists) and `dependentSchemas` (schemas); a `$ref`'s sibling keywords are ignored; the 2019-09 keywords (`prefixItems`, `dependentRequired`, `dependentSchemas`, `unevaluatedItems`, `unevaluatedProperties`, `minContains`, `maxContains`) mean nothing. Draft-04: boolean `exclusiveMinimum`/`exclusiveMaximum` modify `minimum`/`maximum` |
//! | 2019-09 | as draft-07 for `items`/`additionalItems` (`dependencies` is still read); a `$ref`'s siblings apply |
//! | 2020-12, or no `$schema` | 2020-12. The forms 2020-12 replaced (array `items`, `additionalItems`, `dependencies`, boolean exclusive bounds) have no meaning there, so they keep their earlier meaning |
//!
//! `definitions` (draft-07) and `$defs` are both plain containers: a `$ref` reaches either.

use serde_json::{Map, Value};

/// The draft a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Draft {
    Draft4,
    Draft6,
    Draft7,
    Draft2019,
    Draft2020,
}

impl Draft {
    /// The draft a root schema names in `$schema`; 2020-12 when absent or unknown.
    pub(super) fn of(root: &Value) -> Draft {
        let Some(uri) = root.get("$schema").and_then(Value::as_str) else {
            return Draft::Draft2020;
        };
        if uri.contains("draft-04") {
            Draft::Draft4
        } else if uri.contains("draft-06") {
            Draft::Draft6
        } else if uri.contains("draft-07") {
            Draft::Draft7
        } else if uri.contains("2019-09") {
            Draft::Draft2019
        } else {
            Draft::Draft2020
        }
    }
}

/// Keywords draft 2019-09 introduced: unknown (so ignored) in earlier drafts.
const FROM_2019: &[&str] = &[
    "prefixItems",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
    "minContains",
    "maxContains",
];

/// Keywords whose value is one schema.
const SCHEMA_VALUED: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "contentSchema",
];

/// Keywords whose value is an array of schemas.
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependencies",
];

/// The document rewritten into the 2020-12 vocabulary (see the module docs).
pub(super) fn normalize(root: &Value) -> Value {
    let draft = Draft::of(root);
    rewrite(root, draft)
}

fn rewrite(schema: &Value, draft: Draft) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut m = map.clone();
    if draft <= Draft::Draft7 {
        if m.contains_key("$ref") {
            // Before 2019-09 a `$ref` replaces its whole object (its definitions stay
            // reachable).
            m.retain(|k, _| {
                ["$ref", "$schema", "$id", "id", "definitions", "$defs"].contains(&k.as_str())
            });
        }
        for kw in FROM_2019 {
            m.remove(*kw);
        }
    }
    if draft == Draft::Draft4 || m.get("exclusiveMinimum").is_some_and(Value::is_boolean) {
        draft4_bound(&mut m, "minimum", "exclusiveMinimum");
    }
    if draft == Draft::Draft4 || m.get("exclusiveMaximum").is_some_and(Value::is_boolean) {
        draft4_bound(&mut m, "maximum", "exclusiveMaximum");
    }
    if let Some(Value::Array(tuple)) = m.get("items").cloned() {
        if draft <= Draft::Draft2019 || !m.contains_key("prefixItems") {
            m.insert("prefixItems".to_owned(), Value::Array(tuple));
            match m.remove("additionalItems") {
                Some(rest) => m.insert("items".to_owned(), rest),
                None => m.remove("items"),
            };
        }
    } else {
        // Without a tuple `items`, `additionalItems` has no effect in any draft.
        m.remove("additionalItems");
    }
    if let Some(Value::Object(deps)) = m.remove("dependencies") {
        let mut required = m
            .get("dependentRequired")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut schemas = m
            .get("dependentSchemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (name, dep) in deps {
            if dep.is_array() {
                required.insert(name, dep);
            } else {
                schemas.insert(name, dep);
            }
        }
        if !required.is_empty() {
            m.insert("dependentRequired".to_owned(), Value::Object(required));
        }
        if !schemas.is_empty() {
            m.insert("dependentSchemas".to_owned(), Value::Object(schemas));
        }
    }
    for (k, v) in m.iter_mut() {
        let k = k.as_str();
        if SCHEMA_VALUED.contains(&k) {
            *v = rewrite(v, draft);
        } else if SCHEMA_LISTS.contains(&k) {
            if let Value::Array(items) = v {
                for item in items {
                    *item = rewrite(item, draft);
                }
            }
        } else if SCHEMA_MAPS.contains(&k)
            && let Value::Object(entries) = v
        {
            for (_, item) in entries.iter_mut() {
                *item = rewrite(item, draft);
            }
        }
    }
    Value::Object(m)
}

/// Draft-04's `exclusiveMinimum: true` next to `minimum: 5` is 2020-12's
/// `exclusiveMinimum: 5`; `false` is no keyword.
fn draft4_bound(m: &mut Map<String, Value>, inclusive: &str, exclusive: &str) {
    match m.get(exclusive) {
        Some(Value::Bool(true)) => {
            m.remove(exclusive);
            if let Some(value) = m.remove(inclusive) {
                m.insert(exclusive.to_owned(), value);
            }
        }
        Some(Value::Bool(false)) => {
            m.remove(exclusive);
        }
        _ => {}
    }
}
