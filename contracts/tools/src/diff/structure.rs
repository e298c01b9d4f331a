//! Object and array keywords: `properties`, `required`, `additionalProperties`,
//! `patternProperties`, `items` and `prefixItems`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::walk::{ANNOTATIONS, Effect, FALSE_SCHEMA, TRUE_SCHEMA, Walker, child, json_eq};

impl Walker<'_> {
    /// `properties`, `required` and `additionalProperties`.
    pub(super) fn cmp_object(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let [old_props, new_props] = [o, n].map(|m| object_of(m, "properties"));
        let [old_req, new_req] = [o, n].map(required);
        let [old_extra, new_extra] = [o, n].map(|m| Extra::of(m.get("additionalProperties")));
        let extra_ptr = child(ptr, "additionalProperties");

        self.cmp_additional(old_extra, new_extra, &extra_ptr, inst);

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
            let was = if old_req.contains(name) {
                "required"
            } else {
                "optional"
            };
            match new_extra {
                Extra::Forbidden => self.emit(
                    at,
                    &field_inst,
                    format!(
                        "removed (was {was}); additionalProperties is false, so payloads that still send it are rejected"
                    ),
                    Effect::Both,
                ),
                Extra::Allowed => {
                    self.emit(at, &field_inst, format!("removed (was {was})"), Effect::Widens)
                }
                Extra::Schema(schema) => {
                    self.emit(
                        at,
                        &field_inst,
                        format!("removed (was {was}); it now falls under additionalProperties"),
                        Effect::Widens,
                    );
                    self.cmp(old_schema, schema, &extra_ptr, &field_inst);
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
            match old_extra {
                Extra::Allowed => self.emit(
                    at,
                    &field_inst,
                    what,
                    if newly_required {
                        Effect::Narrows
                    } else {
                        Effect::Neutral
                    },
                ),
                Extra::Forbidden => self.emit(
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
                ),
                Extra::Schema(schema) => {
                    self.emit(
                        at.clone(),
                        &field_inst,
                        format!("{what} (it fell under additionalProperties before)"),
                        if newly_required {
                            Effect::Narrows
                        } else {
                            Effect::Neutral
                        },
                    );
                    self.cmp(schema, new_schema, &at, &field_inst);
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

    pub(super) fn cmp_pattern_properties(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let [old, new] = [o, n].map(|m| object_of(m, "patternProperties"));
        let base = child(ptr, "patternProperties");
        for (pattern, old_schema) in old {
            let at = child(&base, pattern);
            let field_inst = field(inst, &format!("<{pattern}>"));
            match new.get(pattern) {
                Some(new_schema) => self.cmp(old_schema, new_schema, &at, &field_inst),
                None => self.emit(
                    at,
                    inst,
                    format!("patternProperties {pattern:?} removed"),
                    Effect::Widens,
                ),
            }
        }
        for pattern in new.keys() {
            if !old.contains_key(pattern) {
                self.emit(
                    child(&base, pattern),
                    inst,
                    format!("patternProperties {pattern:?} added"),
                    Effect::Narrows,
                );
            }
        }
    }

    pub(super) fn cmp_items(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let (old, new) = (o.get("items"), n.get("items"));
        let at = child(ptr, "items");
        match (old, new) {
            (None, None) => {}
            (Some(Value::Array(_)), _) | (_, Some(Value::Array(_))) => {
                if !old.zip(new).is_some_and(|(a, b)| json_eq(a, b)) {
                    self.emit(
                        at,
                        inst,
                        "items as an array (pre-2020-12 tuple form) changed; not analysed, treated as breaking",
                        Effect::Both,
                    );
                }
            }
            _ => self.cmp(
                old.unwrap_or(&TRUE_SCHEMA),
                new.unwrap_or(&TRUE_SCHEMA),
                &at,
                &format!("{inst}[]"),
            ),
        }
    }

    pub(super) fn cmp_prefix_items(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let [old, new] = [o, n].map(|m| {
            m.get("prefixItems")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
        });
        let base = child(ptr, "prefixItems");
        for i in 0..old.len().max(new.len()) {
            let at = child(&base, &i.to_string());
            match (old.get(i), new.get(i)) {
                (Some(a), Some(b)) => self.cmp(a, b, &at, &format!("{inst}[{i}]")),
                (None, Some(_)) => self.emit(
                    at,
                    inst,
                    format!("prefixItems {i} added: item {i} is now constrained"),
                    Effect::Narrows,
                ),
                (Some(_), None) => self.emit(
                    at,
                    inst,
                    format!("prefixItems {i} removed: item {i} is no longer constrained"),
                    Effect::Widens,
                ),
                (None, None) => {}
            }
        }
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
