//! Keywords that apply a schema under a condition or reverse it: `not`,
//! `if`/`then`/`else` (under an unchanged `if`), `dependentRequired`, `dependentSchemas`,
//! `contains` with `minContains`/`maxContains`,
//! `propertyNames`, and `unevaluatedProperties`/`unevaluatedItems` next to an explicit
//! `additionalProperties`/`items` (alone they stand in for them: see `structure.rs`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::walk::{Effect, TRUE_SCHEMA, Walker, child, json_eq};

/// Keywords whose schema is compared directly: the more it accepts, the more the whole
/// schema accepts (an absent one accepts everything).
const MONOTONE: &[&str] = &["propertyNames"];

impl Walker<'_> {
    pub(super) fn cmp_logic(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        self.cmp_not(o, n, ptr, inst);
        self.cmp_dependent_required(o, n, ptr, inst);
        self.cmp_dependent_schemas(o, n, ptr, inst);
        self.cmp_contains(o, n, ptr, inst);
        let mut monotone: Vec<&str> = MONOTONE.to_vec();
        if o.contains_key("additionalProperties") || n.contains_key("additionalProperties") {
            monotone.push("unevaluatedProperties");
        }
        if o.contains_key("items") || n.contains_key("items") {
            monotone.push("unevaluatedItems");
        }
        for kw in monotone {
            if o.contains_key(kw) || n.contains_key(kw) {
                self.cmp(
                    o.get(kw).unwrap_or(&TRUE_SCHEMA),
                    n.get(kw).unwrap_or(&TRUE_SCHEMA),
                    &child(ptr, kw),
                    inst,
                );
            }
        }
    }

    /// `if`/`then`/`else` when both sides have the same `if` (or none, which leaves `then`
    /// and `else` without effect): `then` and `else` are then compared like any subschema,
    /// since each accepts more exactly when the whole does. Returns false when the `if`
    /// changed: the three are then reported as not analysed.
    pub(super) fn cmp_conditional(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) -> bool {
        let at = child(ptr, "if");
        match (o.get("if"), n.get("if")) {
            (None, None) => true,
            (Some(a), Some(b)) if json_eq(a, b) || self.equivalent(a, b, &at) => {
                // `then` and `else` see the same instance as their schema: its `type`, when
                // unchanged, holds there too.
                let parent_type = o.get("type").filter(|t| n.get("type") == Some(*t));
                for kw in ["then", "else"] {
                    if o.contains_key(kw) || n.contains_key(kw) {
                        let [old, new] = [o, n]
                            .map(|m| with_type(m.get(kw).unwrap_or(&TRUE_SCHEMA), parent_type));
                        self.cmp(&old, &new, &child(ptr, kw), inst);
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// `not X` accepts more when `X` accepts less: the comparison of the two `X` with
    /// every effect reversed.
    fn cmp_not(&mut self, o: &Map<String, Value>, n: &Map<String, Value>, ptr: &str, inst: &str) {
        let at = child(ptr, "not");
        let (old, new) = (o.get("not"), n.get("not"));
        if old.is_none() && new.is_none() {
            return;
        }
        let inner = self.sub_findings(
            old.unwrap_or(&Value::Bool(false)),
            new.unwrap_or(&Value::Bool(false)),
            &at,
            "",
        );
        if inner.is_empty() {
            return;
        }
        let (desc, effect) = match (old, new) {
            (None, Some(_)) => (
                "`not` added: values it matches are now rejected".to_owned(),
                Effect::Narrows,
            ),
            (Some(_), None) => (
                "`not` removed: values it matched are now accepted".to_owned(),
                Effect::Widens,
            ),
            _ => {
                for f in inner {
                    let effect = match f.effect {
                        Effect::Narrows => Effect::Widens,
                        Effect::Widens => Effect::Narrows,
                        e => e,
                    };
                    let desc = format!("in `not` (which reverses it): {}", f.what);
                    self.emit(f.pointer, inst, desc, effect);
                }
                return;
            }
        };
        self.emit(at, inst, desc, effect);
    }

    fn cmp_dependent_required(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let read = |m: &Map<String, Value>| -> Vec<(String, BTreeSet<String>)> {
            m.get("dependentRequired")
                .and_then(Value::as_object)
                .map(|deps| {
                    deps.iter()
                        .map(|(k, v)| {
                            let names = v
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(Value::as_str)
                                        .map(str::to_owned)
                                        .collect()
                                })
                                .unwrap_or_default();
                            (k.clone(), names)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old, new) = (read(o), read(n));
        let get = |deps: &[(String, BTreeSet<String>)], k: &str| {
            deps.iter()
                .find(|(name, _)| name == k)
                .map(|(_, names)| names.clone())
                .unwrap_or_default()
        };
        let keys: BTreeSet<&String> = old.iter().chain(&new).map(|(k, _)| k).collect();
        let base = child(ptr, "dependentRequired");
        let subject = |k: &str| {
            if inst.is_empty() {
                format!("when `{k}` is present")
            } else {
                format!("when `{inst}.{k}` is present")
            }
        };
        for k in keys {
            let (before, after) = (get(&old, k), get(&new, k));
            let at = child(&base, k);
            for name in after.difference(&before) {
                self.emit(
                    at.clone(),
                    "",
                    format!("{}, `{name}` is now required too", subject(k)),
                    Effect::Narrows,
                );
            }
            for name in before.difference(&after) {
                self.emit(
                    at.clone(),
                    "",
                    format!("{}, `{name}` is no longer required", subject(k)),
                    Effect::Widens,
                );
            }
        }
    }

    /// Each dependent schema applies to the whole object when its property is present: an
    /// absent one accepts everything.
    fn cmp_dependent_schemas(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let read = |m: &Map<String, Value>| {
            m.get("dependentSchemas")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (old, new) = (read(o), read(n));
        let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let base = child(ptr, "dependentSchemas");
        for k in keys {
            self.cmp(
                old.get(k).unwrap_or(&TRUE_SCHEMA),
                new.get(k).unwrap_or(&TRUE_SCHEMA),
                &child(&base, k),
                inst,
            );
        }
    }

    /// `contains` (at least `minContains`, default 1, and at most `maxContains` items
    /// match it).
    fn cmp_contains(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let (old, new) = (o.get("contains"), n.get("contains"));
        let at = child(ptr, "contains");
        match (old, new) {
            (None, None) => return,
            (None, Some(_)) => {
                self.emit(
                    at,
                    inst,
                    "contains added: an item matching it is now needed",
                    Effect::Narrows,
                );
                return;
            }
            (Some(_), None) => {
                self.emit(
                    at,
                    inst,
                    "contains removed: no item matching it is needed any more",
                    Effect::Widens,
                );
                return;
            }
            (Some(a), Some(b)) => self.cmp(a, b, &at, &format!("{inst}[?]")),
        }
        let min =
            |m: &Map<String, Value>| m.get("minContains").and_then(Value::as_u64).unwrap_or(1);
        let (a, b) = (min(o), min(n));
        if a != b {
            let (verb, effect) = if b > a {
                ("raised", Effect::Narrows)
            } else {
                ("lowered", Effect::Widens)
            };
            self.emit(
                child(ptr, "minContains"),
                inst,
                format!("minContains {verb} from {a} to {b}"),
                effect,
            );
        }
    }
}

/// `schema` with `type` added when it has none.
fn with_type(schema: &Value, ty: Option<&Value>) -> Value {
    let Some(ty) = ty else {
        return schema.clone();
    };
    match schema {
        Value::Object(m) if !m.contains_key("type") && !m.contains_key("$ref") => {
            let mut m = m.clone();
            m.insert("type".to_owned(), ty.clone());
            Value::Object(m)
        }
        Value::Bool(true) => {
            let mut m = Map::new();
            m.insert("type".to_owned(), ty.clone());
            Value::Object(m)
        }
        other => other.clone(),
    }
}
