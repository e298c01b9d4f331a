//! Object and array keywords: `properties`, `required`, `additionalProperties`,
//! `patternProperties`, `unevaluatedProperties`, `items`, `prefixItems` and
//! `unevaluatedItems`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::walk::{ANNOTATIONS, Effect, FALSE_SCHEMA, Finding, TRUE_SCHEMA, Walker, child};

impl Walker<'_> {
    /// `properties`, `required`, `patternProperties` and `additionalProperties` (or
    /// `unevaluatedProperties` when there is no `additionalProperties`): a name that leaves
    /// or joins `properties` is compared with the schema that governs it on the other side.
    pub(super) fn cmp_object(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let [old_props, new_props] = [o, n].map(|m| object_of(m, "properties"));
        let [old_req, new_req] = [o, n].map(required);
        let [old_extra, new_extra] = [o, n].map(|m| Extra::of(m.get(extra_keyword(m))));
        let [old_patterns, new_patterns] = [o, n].map(Patterns::of);
        let extra_ptr = child(ptr, extra_keyword(n));

        self.cmp_additional(old_extra, new_extra, &extra_ptr, inst);
        self.cmp_pattern_properties(o, n, ptr, inst);

        let props_ptr = child(ptr, "properties");
        for (name, old_schema) in old_props {
            let at = child(&props_ptr, name);
            let field_inst = field(inst, name);
            if let Some(new_schema) = new_props.get(name) {
                match (old_req.contains(name), new_req.contains(name)) {
                    (false, true) => {
                        self.emit(at.clone(), &field_inst, "became required", Effect::Narrows)
                    }
                    (true, false) => self.emit(
                        at.clone(),
                        &field_inst,
                        "is no longer required",
                        Effect::Widens,
                    ),
                    _ => {}
                }
                self.cmp(old_schema, new_schema, &at, &field_inst);
                continue;
            }
            let was_required = old_req.contains(name);
            let was = if was_required { "required" } else { "optional" };
            if let Some((pattern, schema)) = new_patterns.matching(name) {
                self.emit(
                    at,
                    &field_inst,
                    format!(
                        "removed (was {was}); it now falls under patternProperties {pattern:?}"
                    ),
                    if was_required {
                        Effect::Widens
                    } else {
                        Effect::Neutral
                    },
                );
                let pattern_ptr = child(&child(ptr, "patternProperties"), pattern);
                self.cmp(old_schema, schema, &pattern_ptr, &field_inst);
                continue;
            }
            match new_extra {
                Extra::Forbidden => {
                    if old_schema == &Value::Bool(false) {
                        // It could not be sent before either.
                        continue;
                    }
                    self.emit(
                        at,
                        &field_inst,
                        format!(
                            "removed (was {was}); additionalProperties is false, so payloads that still send it are rejected"
                        ),
                        if was_required {
                            Effect::Both
                        } else {
                            Effect::Narrows
                        },
                    )
                }
                Extra::Allowed | Extra::Schema(_) => {
                    let open = matches!(new_extra, Extra::Allowed);
                    self.emit(
                        at.clone(),
                        &field_inst,
                        if open {
                            format!("removed (was {was})")
                        } else {
                            format!("removed (was {was}); it now falls under additionalProperties")
                        },
                        if was_required {
                            Effect::Widens
                        } else {
                            Effect::Neutral
                        },
                    );
                    if open && !was_required && self.lenient_removed {
                        // The registry's lenient reading: not compared.
                        continue;
                    }
                    // Compared with what governs the name now (`true` when nothing does:
                    // whatever constrained it is lifted, a widening).
                    let governs = if n.contains_key(extra_keyword(n)) {
                        &extra_ptr
                    } else {
                        &at
                    };
                    self.cmp(old_schema, new_extra.schema(), governs, &field_inst);
                }
            }
        }
        for (name, new_schema) in new_props {
            if old_props.contains_key(name) {
                continue;
            }
            let at = child(&props_ptr, name);
            let field_inst = field(inst, name);
            let newly_required = new_req.contains(name) && !old_req.contains(name);
            let what = if new_req.contains(name) {
                "added as a required property"
            } else {
                "added as an optional property"
            };
            let required_effect = if newly_required {
                Effect::Narrows
            } else {
                Effect::Neutral
            };
            if let Some((pattern, schema)) = old_patterns.matching(name) {
                self.emit(
                    at.clone(),
                    &field_inst,
                    format!("{what} (it fell under patternProperties {pattern:?} before)"),
                    required_effect,
                );
                self.cmp(schema, new_schema, &at, &field_inst);
                continue;
            }
            match old_extra {
                Extra::Allowed if new_schema == &Value::Bool(false) => self.emit(
                    at,
                    &field_inst,
                    "is now forbidden (its schema is false)",
                    if newly_required {
                        Effect::Both
                    } else {
                        Effect::Narrows
                    },
                ),
                Extra::Forbidden => {
                    if new_schema == &Value::Bool(false) && !newly_required {
                        // Still never accepted.
                        continue;
                    }
                    self.emit(
                        at,
                        &field_inst,
                        format!(
                            "{what}; the old schema has additionalProperties false, so readers holding to it reject the property"
                        ),
                        if newly_required {
                            Effect::Both
                        } else {
                            Effect::Widens
                        },
                    )
                }
                Extra::Allowed | Extra::Schema(_) => {
                    let open = matches!(old_extra, Extra::Allowed);
                    self.emit(
                        at.clone(),
                        &field_inst,
                        if open {
                            what.to_owned()
                        } else {
                            format!("{what} (it fell under additionalProperties before)")
                        },
                        required_effect,
                    );
                    if open && !new_req.contains(name) && self.lenient_added {
                        // The registry's lenient reading: not compared.
                        continue;
                    }
                    // Compared with what governed the name before (`true` when nothing
                    // did: any constraint is a narrowing).
                    self.cmp(old_extra.schema(), new_schema, &at, &field_inst);
                }
            }
        }
        // Required names that no `properties` entry on either side describes.
        let described = |name: &str| old_props.contains_key(name) || new_props.contains_key(name);
        for name in new_req.difference(&old_req) {
            if !described(name) {
                self.emit(
                    child(ptr, "required"),
                    &field(inst, name),
                    "became required",
                    Effect::Narrows,
                );
            }
        }
        for name in old_req.difference(&new_req) {
            if !described(name) {
                self.emit(
                    child(ptr, "required"),
                    &field(inst, name),
                    "is no longer required",
                    Effect::Widens,
                );
            }
        }
    }

    pub(super) fn cmp_additional(&mut self, old: Extra<'_>, new: Extra<'_>, at: &str, inst: &str) {
        let (desc, effect) = match (old, new) {
            (Extra::Forbidden, Extra::Forbidden) | (Extra::Allowed, Extra::Allowed) => return,
            (Extra::Forbidden, Extra::Allowed) => (
                "additionalProperties is no longer false: unknown properties are now allowed",
                Effect::Widens,
            ),
            (Extra::Forbidden, Extra::Schema(_)) => (
                "additionalProperties is no longer false: unknown properties matching its schema are now allowed",
                Effect::Widens,
            ),
            (_, Extra::Forbidden) => (
                "additionalProperties set to false: unknown properties are now rejected",
                Effect::Narrows,
            ),
            (old, new) => {
                self.cmp(old.schema(), new.schema(), at, &field(inst, "*"));
                return;
            }
        };
        self.emit(at.to_owned(), inst, desc, effect);
    }

    /// A pattern kept is compared with itself; a pattern added or removed is compared
    /// with what governed (governs) the names it matches on the other side: the
    /// additional-properties schema.
    pub(super) fn cmp_pattern_properties(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let [old, new] = [o, n].map(|m| object_of(m, "patternProperties"));
        let [old_extra, new_extra] = [o, n].map(|m| Extra::of(m.get(extra_keyword(m))));
        let base = child(ptr, "patternProperties");
        for (pattern, old_schema) in old {
            let at = child(&base, pattern);
            let field_inst = field(inst, &format!("<{pattern}>"));
            match new.get(pattern) {
                Some(new_schema) => self.cmp(old_schema, new_schema, &at, &field_inst),
                None => {
                    let before = self.findings.len();
                    self.cmp(
                        old_schema,
                        new_extra.schema(),
                        &child(ptr, extra_keyword(n)),
                        &field_inst,
                    );
                    if self.findings.len() > before {
                        self.emit(
                            at,
                            inst,
                            format!(
                                "patternProperties {pattern:?} removed: its names fall under additionalProperties"
                            ),
                            Effect::Neutral,
                        );
                    }
                }
            }
        }
        let new_props = object_of(n, "properties");
        for (pattern, new_schema) in new {
            if old.contains_key(pattern) {
                continue;
            }
            let at = child(&base, pattern);
            let field_inst = field(inst, &format!("<{pattern}>"));
            let before = self.findings.len();
            self.cmp(old_extra.schema(), new_schema, &at, &field_inst);
            // Declared properties the new pattern matches are constrained by it too.
            let old_props = object_of(o, "properties");
            if let Some(re) = compile(pattern) {
                for (name, prop) in new_props {
                    if re.is_match(name) {
                        let old_prop = old_props.get(name).unwrap_or(prop);
                        let narrowing: Vec<Finding> = self
                            .sub_findings(old_prop, new_schema, &at, &field(inst, name))
                            .into_iter()
                            .filter(|f| matches!(f.effect, Effect::Narrows | Effect::Both))
                            .map(|f| Finding {
                                effect: Effect::Narrows,
                                ..f
                            })
                            .collect();
                        self.findings.extend(narrowing);
                    }
                }
            }
            if self.findings.len() > before {
                self.emit(
                    at,
                    inst,
                    format!("patternProperties {pattern:?} added"),
                    Effect::Neutral,
                );
            }
        }
    }

    /// `prefixItems` and `items` by position: each position is compared with what governs
    /// it on each side (its `prefixItems` entry, else `items`, else `unevaluatedItems`),
    /// then the positions after every prefix.
    pub(super) fn cmp_array_items(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let uses = |m: &Map<String, Value>| {
            ["prefixItems", "items", "unevaluatedItems"]
                .iter()
                .any(|k| m.contains_key(*k))
        };
        if !uses(o) && !uses(n) {
            return;
        }
        let [old_prefix, new_prefix] = [o, n].map(|m| {
            m.get("prefixItems")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
        });
        let [old_rest, new_rest] = [o, n].map(rest_items);
        let rest_ptr = child(ptr, new_rest.1);
        let base = child(ptr, "prefixItems");
        for i in 0..old_prefix.len().max(new_prefix.len()) {
            let a = old_prefix.get(i).unwrap_or(old_rest.0);
            // An entry removed is pointed at where it was, unless `items` now governs it.
            let (b, at) = match new_prefix.get(i) {
                Some(b) => (b, child(&base, &i.to_string())),
                None if n.contains_key(new_rest.1) => (new_rest.0, rest_ptr.clone()),
                None => (new_rest.0, child(&base, &i.to_string())),
            };
            self.cmp(a, b, &at, &format!("{inst}[{i}]"));
        }
        self.cmp(old_rest.0, new_rest.0, &rest_ptr, &format!("{inst}[]"));
    }
}

/// The keyword that governs properties no other keyword names.
fn extra_keyword(m: &Map<String, Value>) -> &'static str {
    if !m.contains_key("additionalProperties") && m.contains_key("unevaluatedProperties") {
        "unevaluatedProperties"
    } else {
        "additionalProperties"
    }
}

/// The schema for items after `prefixItems`, and its keyword.
fn rest_items(m: &Map<String, Value>) -> (&Value, &'static str) {
    if let Some(items) = m.get("items") {
        (items, "items")
    } else if let Some(items) = m.get("unevaluatedItems") {
        (items, "unevaluatedItems")
    } else {
        (&TRUE_SCHEMA, "items")
    }
}

fn compile(pattern: &str) -> Option<regex::Regex> {
    regex::Regex::new(pattern).ok()
}

/// `patternProperties` with their regular expressions (a pattern the `regex` crate cannot
/// compile matches nothing).
struct Patterns<'a> {
    entries: Vec<(&'a str, &'a Value, Option<regex::Regex>)>,
}

impl<'a> Patterns<'a> {
    fn of(m: &'a Map<String, Value>) -> Self {
        Patterns {
            entries: object_of(m, "patternProperties")
                .iter()
                .map(|(p, s)| (p.as_str(), s, compile(p)))
                .collect(),
        }
    }

    /// The first pattern matching `name`, with its schema.
    fn matching(&self, name: &str) -> Option<(&'a str, &'a Value)> {
        self.entries
            .iter()
            .find(|(_, _, re)| re.as_ref().is_some_and(|re| re.is_match(name)))
            .map(|(p, s, _)| (*p, *s))
    }
}

/// What `additionalProperties` allows.
#[derive(Clone, Copy)]
pub(super) enum Extra<'a> {
    /// Absent, `true` or a schema without constraints.
    Allowed,
    /// `false`.
    Forbidden,
    Schema(&'a Value),
}

impl<'a> Extra<'a> {
    pub(super) fn of(value: Option<&'a Value>) -> Self {
        match value {
            None | Some(Value::Bool(true)) => Extra::Allowed,
            Some(Value::Bool(false)) => Extra::Forbidden,
            Some(Value::Object(m)) if m.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) => {
                Extra::Allowed
            }
            Some(schema) => Extra::Schema(schema),
        }
    }

    pub(super) fn schema(self) -> &'a Value {
        match self {
            Extra::Allowed => &TRUE_SCHEMA,
            Extra::Forbidden => &FALSE_SCHEMA,
            Extra::Schema(schema) => schema,
        }
    }
}

/// Appends a property name to an instance path.
pub(super) fn field(inst: &str, name: &str) -> String {
    if inst.is_empty() {
        name.to_owned()
    } else {
        format!("{inst}.{name}")
    }
}

pub(super) fn required(m: &Map<String, Value>) -> BTreeSet<String> {
    m.get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The object `kw` holds (`properties`, `patternProperties`); empty when absent.
fn object_of<'m>(m: &'m Map<String, Value>, kw: &str) -> &'m Map<String, Value> {
    static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
    m.get(kw).and_then(Value::as_object).unwrap_or(&EMPTY)
}
