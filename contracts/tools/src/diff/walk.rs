//! The schema walk: compares two schemas keyword by keyword, following `$ref`s, and
//! records what each difference does to the set of accepted instances. Object and array
//! keywords are in `structure.rs`, numeric and single-valued ones in `bounds.rs`.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::bounds::SCALARS;
use super::combine::{Union, simplify};
use super::refs::resolve;
use super::{Compat, Kind, describes_receiver};

/// What a change does to the set of instances a schema accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    /// Accepts what it accepted before, as far as any realistic party is concerned (a new
    /// unconstrained optional property; the headline of a property that joins or leaves
    /// `properties`, whose schema is compared separately).
    Neutral,
    /// Accepts less than before.
    Narrows,
    /// Accepts more than before.
    Widens,
    /// Accepts some new instances and rejects some old ones.
    Both,
}

impl Effect {
    pub(super) fn compat(self, kind: Kind) -> Compat {
        let breaking = match self {
            Effect::Neutral => false,
            Effect::Both => true,
            Effect::Narrows => describes_receiver(kind),
            Effect::Widens => !describes_receiver(kind),
        };
        if breaking {
            Compat::Breaking
        } else {
            Compat::Compatible
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Finding {
    pub(super) pointer: String,
    pub(super) what: String,
    pub(super) effect: Effect,
}

/// Keywords that never change what a schema accepts.
pub(super) const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "examples",
    "$comment",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$id",
    "$schema",
    "$anchor",
    "$dynamicAnchor",
    "$vocabulary",
    "$defs",
    "definitions",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
];

/// Validation keywords the walk does not analyse: any change to them is breaking both ways.
pub(super) const OPAQUE: &[&str] = &["if", "then", "else", "$dynamicRef", "$recursiveRef"];

/// Those of [`OPAQUE`] whose value is a schema (compared for equivalence, not equality).
pub(super) const OPAQUE_SCHEMAS: &[&str] = &["if", "then", "else"];

pub(super) static TRUE_SCHEMA: Value = Value::Bool(true);
pub(super) static FALSE_SCHEMA: Value = Value::Bool(false);

pub(super) struct Walker<'a> {
    old_root: &'a Value,
    new_root: &'a Value,
    pub(super) findings: Vec<Finding>,
    /// (old, new) `$ref` targets being compared on the current path, to stop on cycles.
    active: Vec<(String, String)>,
    /// The registry's lenient reading: an optional property added to an object that
    /// allows unknown properties is not compared with what governed its name on the other
    /// side (see [`super::Options::lenient`]).
    pub(super) lenient_added: bool,
    /// The same for an optional property removed from such an object.
    pub(super) lenient_removed: bool,
}

impl<'a> Walker<'a> {
    pub(super) fn new(old_root: &'a Value, new_root: &'a Value) -> Self {
        Walker {
            old_root,
            new_root,
            findings: Vec::new(),
            active: Vec::new(),
            lenient_added: false,
            lenient_removed: false,
        }
    }

    /// A walker on the same documents and path, with no findings yet.
    pub(super) fn fork(&self) -> Self {
        Walker {
            old_root: self.old_root,
            new_root: self.new_root,
            findings: Vec::new(),
            active: self.active.clone(),
            lenient_added: self.lenient_added,
            lenient_removed: self.lenient_removed,
        }
    }

    /// Records a finding; `inst` is the instance path (`billing.zip`, `lines[]`), empty at
    /// the root.
    pub(super) fn emit(
        &mut self,
        pointer: String,
        inst: &str,
        desc: impl Into<String>,
        effect: Effect,
    ) {
        let desc = desc.into();
        let what = if inst.is_empty() {
            desc
        } else {
            format!("`{inst}` {desc}")
        };
        self.findings.push(Finding {
            pointer,
            what,
            effect,
        });
    }

    /// Whether two schemas accept the same instances, as far as this walk can tell.
    pub(super) fn equivalent(&self, old: &Value, new: &Value, pointer: &str) -> bool {
        self.sub_findings(old, new, pointer, "").is_empty()
    }

    /// Compares two schemas; `pointer` is where `new` sits in the new document.
    pub(super) fn cmp(&mut self, old: &Value, new: &Value, pointer: &str, inst: &str) {
        let (old_r, new_r) = match (
            resolve(self.old_root, old, pointer),
            resolve(self.new_root, new, pointer),
        ) {
            (Ok(o), Ok(n)) => (o, n),
            (o, n) => {
                if json_eq(old, new) {
                    // The same reference that cannot be followed on both sides.
                    return;
                }
                let reasons: Vec<String> = [o.err(), n.err()].into_iter().flatten().collect();
                self.emit(
                    pointer.to_owned(),
                    inst,
                    format!(
                        "cannot be compared: {} (treated as breaking)",
                        reasons.join("; ")
                    ),
                    Effect::Both,
                );
                return;
            }
        };
        let guard = (old_r.via_ref || new_r.via_ref)
            .then(|| (old_r.pointer.clone(), new_r.pointer.clone()));
        if let Some(key) = &guard {
            if self.active.contains(key) {
                return;
            }
            self.active.push(key.clone());
        }
        self.cmp_resolved(&old_r.schema, &new_r.schema, &new_r.pointer, inst);
        if guard.is_some() {
            self.active.pop();
        }
    }

    pub(super) fn cmp_resolved(&mut self, old: &Value, new: &Value, pointer: &str, inst: &str) {
        let (old, new) = (simplify(old), simplify(new));
        let (old, new) = (old.as_ref(), new.as_ref());
        match (old, new) {
            (Value::Bool(false), Value::Bool(false)) => {}
            (Value::Bool(false), _) => self.emit(
                pointer.to_owned(),
                inst,
                "now accepts values (it was the `false` schema, which accepts none)",
                Effect::Widens,
            ),
            (_, Value::Bool(false)) => self.emit(
                pointer.to_owned(),
                inst,
                "became the `false` schema: no value is accepted any more",
                Effect::Narrows,
            ),
            _ => match (schema_map(old), schema_map(new)) {
                (Some(o), Some(n)) => {
                    // A schema with a `oneOf`/`anyOf` is compared as a union of branches.
                    let is_union = |m: &Map<String, Value>| {
                        ["oneOf", "anyOf"]
                            .iter()
                            .any(|k| m.get(*k).is_some_and(Value::is_array))
                    };
                    if (is_union(&o) || is_union(&n))
                        && let (Some(ou), Some(nu)) =
                            (Union::of(&o, pointer), Union::of(&n, pointer))
                    {
                        self.cmp_unions(&ou, &nu, pointer, inst);
                        return;
                    }
                    self.cmp_maps(&o, &n, pointer, inst)
                }
                _ => {
                    if !json_eq(old, new) {
                        self.emit(
                            pointer.to_owned(),
                            inst,
                            "is not a schema object and changed (treated as breaking)",
                            Effect::Both,
                        );
                    }
                }
            },
        }
    }

    pub(super) fn cmp_maps(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        self.cmp_type(o, n, ptr, inst);
        self.cmp_values(o, n, ptr, inst);
        self.cmp_bound(o, n, ptr, inst, true);
        self.cmp_bound(o, n, ptr, inst, false);
        for &scalar in SCALARS {
            self.cmp_scalar(o, n, scalar, ptr, inst);
        }
        self.cmp_unique_items(o, n, ptr, inst);
        self.cmp_object(o, n, ptr, inst);
        self.cmp_array_items(o, n, ptr, inst);
        self.cmp_logic(o, n, ptr, inst);
        for kw in ["oneOf", "anyOf"] {
            if o.contains_key(kw) || n.contains_key(kw) {
                let (ou, nu) = (Union::bare(o, kw, ptr), Union::bare(n, kw, ptr));
                self.cmp_unions(&ou, &nu, ptr, inst);
            }
        }
        self.cmp_all_of(o, n, ptr, inst);
        let conditional = self.cmp_conditional(o, n, ptr, inst);
        self.cmp_opaque(o, n, ptr, inst, conditional);
    }

    pub(super) fn cmp_type(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let at = child(ptr, "type");
        match (type_set(o), type_set(n)) {
            (None, None) => {}
            (None, Some(new)) => self.emit(
                at,
                inst,
                format!("type restricted to {} (was unrestricted)", show_types(&new)),
                Effect::Narrows,
            ),
            (Some(old), None) => self.emit(
                at,
                inst,
                format!("type restriction removed (was {})", show_types(&old)),
                Effect::Widens,
            ),
            (Some(old), Some(new)) => {
                let lost = old.iter().any(|t| !covers(&new, t));
                let gained = new.iter().any(|t| !covers(&old, t));
                let (verb, effect) = match (lost, gained) {
                    (false, false) => return,
                    (true, false) => ("narrowed", Effect::Narrows),
                    (false, true) => ("widened", Effect::Widens),
                    (true, true) => ("changed", Effect::Both),
                };
                self.emit(
                    at,
                    inst,
                    format!(
                        "type {verb} from {} to {}",
                        show_types(&old),
                        show_types(&new)
                    ),
                    effect,
                );
            }
        }
    }

    /// `enum` and `const`, compared as the set of allowed values.
    pub(super) fn cmp_values(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        match (allowed_values(o), allowed_values(n)) {
            (None, None) => {}
            (None, Some((kw, values))) => {
                let desc = if kw == "const" {
                    format!("const {} added", values[0])
                } else {
                    format!("enum added: only {} allowed", show_values(&values))
                };
                self.emit(child(ptr, kw), inst, desc, Effect::Narrows);
            }
            (Some((kw, values)), None) => {
                let desc = if kw == "const" {
                    format!("const {} removed", values[0])
                } else {
                    format!("enum removed (was {})", show_values(&values))
                };
                self.emit(child(ptr, kw), inst, desc, Effect::Widens);
            }
            (Some((old_kw, old_values)), Some((new_kw, new_values))) => {
                if old_kw == "const" && new_kw == "const" {
                    if !json_eq(&old_values[0], &new_values[0]) {
                        self.emit(
                            child(ptr, "const"),
                            inst,
                            format!("const changed from {} to {}", old_values[0], new_values[0]),
                            Effect::Both,
                        );
                    }
                    return;
                }
                let at = child(ptr, new_kw);
                let noun = if old_kw == new_kw {
                    "enum value"
                } else {
                    "allowed value"
                };
                for v in &old_values {
                    if !new_values.iter().any(|w| json_eq(v, w)) {
                        self.emit(
                            at.clone(),
                            inst,
                            format!("{noun} {v} removed"),
                            Effect::Narrows,
                        );
                    }
                }
                for v in &new_values {
                    if !old_values.iter().any(|w| json_eq(v, w)) {
                        self.emit(
                            at.clone(),
                            inst,
                            format!("{noun} {v} added"),
                            Effect::Widens,
                        );
                    }
                }
            }
        }
    }

    pub(super) fn cmp_opaque(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
        conditional_done: bool,
    ) {
        for &kw in OPAQUE {
            if conditional_done && ["if", "then", "else"].contains(&kw) {
                continue;
            }
            let at = child(ptr, kw);
            let verb = match (o.get(kw), n.get(kw)) {
                (None, None) => continue,
                (Some(a), Some(b)) => {
                    if json_eq(a, b) || (OPAQUE_SCHEMAS.contains(&kw) && self.equivalent(a, b, &at))
                    {
                        continue;
                    }
                    "changed"
                }
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
            };
            self.emit(
                at,
                inst,
                format!("keyword {kw} {verb} (not analysed; treated as breaking)"),
                Effect::Both,
            );
        }
    }
}

pub(super) fn schema_map(value: &Value) -> Option<Cow<'_, Map<String, Value>>> {
    match value {
        Value::Object(m) => Some(Cow::Borrowed(m)),
        Value::Bool(true) => Some(Cow::Owned(Map::new())),
        _ => None,
    }
}

/// Appends an escaped JSON pointer segment.
pub(super) fn child(pointer: &str, segment: &str) -> String {
    format!(
        "{pointer}/{}",
        segment.replace('~', "~0").replace('/', "~1")
    )
}

pub(super) fn type_set(m: &Map<String, Value>) -> Option<BTreeSet<String>> {
    match m.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a type list accepts every instance of type `t` (`number` covers `integer`).
pub(super) fn covers(types: &BTreeSet<String>, t: &str) -> bool {
    types.contains(t) || (t == "integer" && types.contains("number"))
}

pub(super) fn show_types(types: &BTreeSet<String>) -> String {
    if types.is_empty() {
        return "no type".to_owned();
    }
    types
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The values `const` or `enum` allow (`const` wins when both are present).
pub(super) fn allowed_values(m: &Map<String, Value>) -> Option<(&'static str, Vec<Value>)> {
    if let Some(c) = m.get("const") {
        return Some(("const", vec![c.clone()]));
    }
    m.get("enum")
        .and_then(Value::as_array)
        .map(|values| ("enum", values.clone()))
}

pub(super) fn show_values(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A few words naming a `oneOf`/`anyOf`/`allOf` branch.
pub(super) fn describe(schema: &Value) -> String {
    let Some(m) = schema.as_object() else {
        return schema.to_string();
    };
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        return r.to_owned();
    }
    if let Some(t) = m.get("title").and_then(Value::as_str) {
        return t.to_owned();
    }
    if let Some(c) = m.get("const") {
        return format!("const {c}");
    }
    if let Some(types) = type_set(m) {
        return format!("type {}", show_types(&types));
    }
    "schema".to_owned()
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub(super) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
