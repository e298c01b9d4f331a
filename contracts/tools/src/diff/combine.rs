//! `oneOf`/`anyOf`/`allOf` read as set operations, the way a schema registry decides them.
//!
//! Before two schemas are compared each is simplified: a singleton `oneOf`/`anyOf` is an
//! `allOf` of one, duplicated branches count once, and `allOf` branches whose keywords do
//! not interfere with their siblings are merged into the schema (`type` lists intersect,
//! `required` lists join, `enum`s intersect; an empty intersection is the `false` schema).
//!
//! A `oneOf`/`anyOf` is then a union of branches (the schema's other keywords distributed
//! into each), and a schema without one a union of one. The new union accepts everything
//! the old one did when every old branch is covered by a new branch (comparing them gives
//! no narrowing); it accepts more when some new branch is covered by no old branch. So
//! `X` -> `oneOf [X, Y]` widens, reordered or duplicated branches are no change, and when
//! the number of branches changes each old branch is paired with the new branch that
//! covers it. A branch whose only changes are neutral (under the lenient reading, an
//! optional property added to an open object) covers its old self only when no other old
//! branch claimed that new branch. `oneOf`'s exclusivity (a
//! value matching two branches is rejected) is read only from the keyword itself: `anyOf`
//! -> `oneOf` narrows, `oneOf` -> `anyOf` widens.
//!
//! `allOf` branches left after merging (a `$ref`, keywords that interfere) are an
//! intersection: equivalent branches pair up in any order, the rest pair by position when
//! as many remain on both sides, and otherwise a new branch implied by no old one narrows
//! and an old branch no new one implies any more widens.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::walk::{ANNOTATIONS, Effect, Finding, Walker, child, describe, json_eq, type_set};

const COMBINATORS: [&str; 3] = ["allOf", "anyOf", "oneOf"];

/// Keywords that read their siblings: two parts that both use one of a group merge only
/// when they agree on all of it.
const GROUPS: &[&[&str]] = &[
    &[
        "properties",
        "patternProperties",
        "additionalProperties",
        "unevaluatedProperties",
    ],
    &["prefixItems", "items", "unevaluatedItems"],
    &["contains", "minContains", "maxContains"],
    &["if", "then", "else"],
];

/// The schema with its combinators simplified (see the module docs); borrowed when it
/// has none.
pub(super) fn simplify(schema: &Value) -> Cow<'_, Value> {
    let Value::Object(m) = schema else {
        return Cow::Borrowed(schema);
    };
    let forbids = forbidden_name(m);
    if forbids.is_none() && !COMBINATORS.iter().any(|k| m.contains_key(*k)) {
        return Cow::Borrowed(schema);
    }
    Cow::Owned(simplify_map(m, forbids))
}

/// The name `not: {required: [name]}` forbids: the same as
/// `{type: object, properties: {name: false}}`, which is how it is compared.
fn forbidden_name(m: &Map<String, Value>) -> Option<String> {
    let not = m.get("not")?.as_object()?;
    if not
        .keys()
        .any(|k| k != "required" && !ANNOTATIONS.contains(&k.as_str()))
    {
        return None;
    }
    match not.get("required")?.as_array()?.as_slice() {
        [Value::String(name)] => Some(name.clone()),
        _ => None,
    }
}

fn simplify_map(m: &Map<String, Value>, forbids: Option<String>) -> Value {
    let mut base = m.clone();
    let mut conjuncts = match base.remove("allOf") {
        Some(Value::Array(branches)) => branches,
        Some(other) => {
            base.insert("allOf".to_owned(), other);
            Vec::new()
        }
        None => Vec::new(),
    };
    if let Some(name) = forbids {
        base.remove("not");
        let mut properties = Map::new();
        properties.insert(name, Value::Bool(false));
        let mut forbid = Map::new();
        forbid.insert("type".to_owned(), Value::String("object".to_owned()));
        forbid.insert("properties".to_owned(), Value::Object(properties));
        conjuncts.push(Value::Object(forbid));
    }
    for kw in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = base.get(kw) {
            let mut distinct: Vec<Value> = Vec::new();
            for b in branches {
                if !distinct.iter().any(|d| json_eq(d, b)) {
                    distinct.push(b.clone());
                }
            }
            if distinct.len() == 1 {
                base.remove(kw);
                conjuncts.extend(distinct);
            } else {
                base.insert(kw.to_owned(), Value::Array(distinct));
            }
        }
    }
    let mut rest: Vec<Value> = Vec::new();
    for conjunct in conjuncts {
        match simplify(&conjunct).into_owned() {
            Value::Bool(true) => {}
            Value::Bool(false) => return Value::Bool(false),
            Value::Object(c) => match merge(&base, &c) {
                Some(Value::Object(merged)) => base = merged,
                Some(_) => return Value::Bool(false),
                None => {
                    let c = Value::Object(c);
                    if !rest.iter().any(|r| json_eq(r, &c)) {
                        rest.push(c);
                    }
                }
            },
            other => rest.push(other),
        }
    }
    if !rest.is_empty() {
        base.insert("allOf".to_owned(), Value::Array(rest));
    }
    Value::Object(base)
}

/// The conjunction of two schema objects as one object, or `None` when their keywords
/// interfere; `Some(false)` when nothing satisfies both.
fn merge(a: &Map<String, Value>, b: &Map<String, Value>) -> Option<Value> {
    if a.contains_key("$ref") || b.contains_key("$ref") {
        return None;
    }
    for group in GROUPS {
        let uses = |m: &Map<String, Value>| group.iter().any(|k| m.contains_key(*k));
        if uses(a) && uses(b) {
            let agree = group.iter().all(|k| match (a.get(*k), b.get(*k)) {
                (None, None) => true,
                (Some(x), Some(y)) => json_eq(x, y),
                _ => false,
            });
            if !agree {
                return None;
            }
        }
    }
    let mut out = a.clone();
    for (k, v) in b {
        if ANNOTATIONS.contains(&k.as_str()) {
            out.entry(k.clone()).or_insert_with(|| v.clone());
            continue;
        }
        let Some(w) = out.get(k) else {
            out.insert(k.clone(), v.clone());
            continue;
        };
        if json_eq(w, v) {
            continue;
        }
        let merged = match k.as_str() {
            "type" => {
                let (Some(x), Some(y)) = (type_set(a), type_set(b)) else {
                    return None;
                };
                let both: Vec<Value> = x
                    .iter()
                    .filter(|t| super::walk::covers(&y, t))
                    .chain(y.iter().filter(|t| super::walk::covers(&x, t)))
                    .map(|t| Value::String(t.clone()))
                    .collect();
                let mut distinct: Vec<Value> = Vec::new();
                for t in both {
                    if !distinct.contains(&t) {
                        distinct.push(t);
                    }
                }
                if distinct.is_empty() {
                    return Some(Value::Bool(false));
                }
                Value::Array(distinct)
            }
            "required" => {
                let (Value::Array(x), Value::Array(y)) = (w, v) else {
                    return None;
                };
                let mut names = x.clone();
                names.extend(y.iter().filter(|n| !x.contains(n)).cloned());
                Value::Array(names)
            }
            "enum" => {
                let (Value::Array(x), Value::Array(y)) = (w, v) else {
                    return None;
                };
                let common: Vec<Value> = x
                    .iter()
                    .filter(|e| y.iter().any(|f| json_eq(e, f)))
                    .cloned()
                    .collect();
                if common.is_empty() {
                    return Some(Value::Bool(false));
                }
                Value::Array(common)
            }
            _ => return None,
        };
        out.insert(k.clone(), merged);
    }
    Some(Value::Object(out))
}

/// One side of a union comparison: its keyword (`None` for a plain schema) and its
/// branches with where each sits.
pub(super) struct Union {
    kw: Option<&'static str>,
    branches: Vec<(Value, String)>,
}

impl Union {
    /// The schema as a union; `None` when its other keywords cannot be distributed into
    /// its branches (the keyword walk then compares them).
    pub(super) fn of(m: &Map<String, Value>, ptr: &str) -> Option<Union> {
        let kw = ["oneOf", "anyOf"]
            .into_iter()
            .filter(|k| m.get(*k).is_some_and(Value::is_array))
            .collect::<Vec<_>>();
        match kw.as_slice() {
            [] => Some(Union {
                kw: None,
                branches: vec![(Value::Object(m.clone()), ptr.to_owned())],
            }),
            [kw] => {
                let mut base = m.clone();
                let Some(Value::Array(items)) = base.remove(*kw) else {
                    return None;
                };
                let trivial = base.keys().all(|k| ANNOTATIONS.contains(&k.as_str()));
                let at = child(ptr, kw);
                let mut branches = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let branch = if trivial {
                        item.clone()
                    } else {
                        match simplify(item).into_owned() {
                            Value::Object(b) => merge(&base, &b)?,
                            Value::Bool(true) => Value::Object(base.clone()),
                            other => other,
                        }
                    };
                    branches.push((branch, child(&at, &i.to_string())));
                }
                Some(Union {
                    kw: Some(kw),
                    branches,
                })
            }
            _ => None,
        }
    }

    /// A union keyword's branches alone (the other keywords compared by the walk); a
    /// schema without the keyword is the union of one `true` branch.
    pub(super) fn bare(m: &Map<String, Value>, kw: &'static str, ptr: &str) -> Union {
        match m.get(kw).and_then(Value::as_array) {
            Some(items) => {
                let at = child(ptr, kw);
                Union {
                    kw: Some(kw),
                    branches: items
                        .iter()
                        .enumerate()
                        .map(|(i, b)| (b.clone(), child(&at, &i.to_string())))
                        .collect(),
                }
            }
            None => Union {
                kw: None,
                branches: vec![(Value::Bool(true), ptr.to_owned())],
            },
        }
    }
}

fn only(findings: &[Finding], allowed: &[Effect]) -> bool {
    findings.iter().all(|f| allowed.contains(&f.effect))
}

impl Walker<'_> {
    /// What comparing `old` with `new` would report, without reporting it.
    pub(super) fn sub_findings(
        &self,
        old: &Value,
        new: &Value,
        ptr: &str,
        inst: &str,
    ) -> Vec<Finding> {
        let mut sub = self.fork();
        sub.cmp(old, new, ptr, inst);
        sub.findings
    }

    /// Compares two unions (see the module docs).
    pub(super) fn cmp_unions(&mut self, old: &Union, new: &Union, ptr: &str, inst: &str) {
        let (m, n) = (old.branches.len(), new.branches.len());
        let f: Vec<Vec<Vec<Finding>>> = old
            .branches
            .iter()
            .map(|(a, _)| {
                new.branches
                    .iter()
                    .map(|(b, at)| self.sub_findings(a, b, at, inst))
                    .collect()
            })
            .collect();
        let mut pair: Vec<Option<usize>> = vec![None; m];
        let mut used = vec![false; n];
        // Strict cover: nothing the old branch accepted is rejected.
        for i in 0..m {
            let best = (0..n)
                .filter(|&j| only(&f[i][j], &[Effect::Widens]))
                .min_by_key(|&j| (used[j], !f[i][j].is_empty(), j != i, f[i][j].len(), j));
            if let Some(j) = best {
                pair[i] = Some(j);
                used[j] = true;
            }
        }
        // Cover up to neutral changes (a new optional property without constraints, or
        // any under the lenient reading), only by a new branch no old branch covered
        // strictly.
        for i in 0..m {
            if pair[i].is_some() {
                continue;
            }
            let best = (0..n)
                .filter(|&j| !used[j] && only(&f[i][j], &[Effect::Widens, Effect::Neutral]))
                .min_by_key(|&j| (j != i, f[i][j].len(), j));
            if let Some(j) = best {
                pair[i] = Some(j);
                used[j] = true;
            }
        }
        if let (Some(o), Some(k)) = (old.kw, new.kw)
            && o != k
            && m > 1
            && n > 1
        {
            let (desc, effect) = if k == "anyOf" {
                (
                    "anyOf instead of oneOf: a value matching several branches is now accepted",
                    Effect::Widens,
                )
            } else {
                (
                    "oneOf instead of anyOf: a value matching several branches is now rejected",
                    Effect::Narrows,
                )
            };
            self.emit(child(ptr, k), inst, desc, effect);
        }
        for i in 0..m {
            match pair[i] {
                Some(j) => self.findings.extend(f[i][j].iter().cloned()),
                None => {
                    let desc = match (old.kw, new.kw) {
                        (Some(kw), _) => {
                            format!("{kw} branch {i} ({}) removed", describe(&old.branches[i].0))
                        }
                        (None, Some(kw)) => format!(
                            "{kw} added, and no branch accepts every value the old schema accepted"
                        ),
                        (None, None) => "changed".to_owned(),
                    };
                    let desc = match closest(&f[i]) {
                        Some(why) if old.kw.is_some() => format!("{desc} (closest: {why})"),
                        Some(why) => format!("{desc} (closest branch: {why})"),
                        None => desc,
                    };
                    self.emit(old.branches[i].1.clone(), inst, desc, Effect::Narrows);
                }
            }
        }
        for j in 0..n {
            if used[j] {
                continue;
            }
            // A new branch inside some old branch accepts nothing new.
            if (0..m).any(|i| only(&f[i][j], &[Effect::Narrows, Effect::Neutral])) {
                continue;
            }
            let desc = match (new.kw, old.kw) {
                (Some(kw), _) => {
                    format!("{kw} branch {j} ({}) added", describe(&new.branches[j].0))
                }
                (None, Some(kw)) => format!(
                    "{kw} replaced by one schema that accepts values no old branch accepted"
                ),
                (None, None) => "changed".to_owned(),
            };
            self.emit(new.branches[j].1.clone(), inst, desc, Effect::Widens);
        }
    }

    /// `allOf` branches left after simplification (see the module docs).
    pub(super) fn cmp_all_of(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let list = |m: &Map<String, Value>| {
            m.get("allOf")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let (old, new) = (list(o), list(n));
        if old.is_empty() && new.is_empty() {
            return;
        }
        let base = child(ptr, "allOf");
        let at = |j: usize| child(&base, &j.to_string());
        let f: Vec<Vec<Vec<Finding>>> = old
            .iter()
            .map(|a| {
                new.iter()
                    .enumerate()
                    .map(|(j, b)| self.sub_findings(a, b, &at(j), inst))
                    .collect()
            })
            .collect();
        let mut old_done = vec![false; old.len()];
        let mut new_done = vec![false; new.len()];
        for j in 0..new.len() {
            if let Some(i) = (0..old.len()).find(|&i| !old_done[i] && f[i][j].is_empty()) {
                old_done[i] = true;
                new_done[j] = true;
            }
        }
        let old_left: Vec<usize> = (0..old.len()).filter(|&i| !old_done[i]).collect();
        let new_left: Vec<usize> = (0..new.len()).filter(|&j| !new_done[j]).collect();
        if old_left.len() == new_left.len() {
            for (&i, &j) in old_left.iter().zip(&new_left) {
                self.findings.extend(f[i][j].iter().cloned());
            }
            return;
        }
        for &j in &new_left {
            let implied =
                (0..old.len()).any(|i| only(&f[i][j], &[Effect::Widens, Effect::Neutral]));
            if !implied {
                self.emit(
                    at(j),
                    inst,
                    format!("allOf branch {j} ({}) added", describe(&new[j])),
                    Effect::Narrows,
                );
            }
        }
        for &i in &old_left {
            let enforced =
                (0..new.len()).any(|j| only(&f[i][j], &[Effect::Narrows, Effect::Neutral]));
            if !enforced {
                self.emit(
                    at(i),
                    inst,
                    format!("allOf branch {i} ({}) removed", describe(&old[i])),
                    Effect::Widens,
                );
            }
        }
    }
}

/// The first narrowing of the pairing that narrows least, to say why nothing covers.
fn closest(row: &[Vec<Finding>]) -> Option<String> {
    row.iter()
        .min_by_key(|fs| {
            // A change both ways (another type) is further than a narrowing.
            fs.iter()
                .map(|f| match f.effect {
                    Effect::Both => 2,
                    Effect::Narrows => 1,
                    _ => 0,
                })
                .sum::<usize>()
        })
        .and_then(|fs| {
            fs.iter()
                .find(|f| matches!(f.effect, Effect::Narrows | Effect::Both))
                .map(|f| f.what.clone())
        })
}
