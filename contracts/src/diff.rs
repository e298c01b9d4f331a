//! Breaking-change detection between two versions of the JSON Schema contracts
//! (`qalens contracts diff OLD NEW`).
//!
//! Every difference between an old and a new schema is classified by what it does to the
//! set of instances the schema accepts: it *narrows* it (a property became required, a
//! maximum was lowered), *widens* it (an enum value was added), does *both* (a pattern was
//! replaced by another) or is *neutral* (a new optional property). Whether that breaks
//! anyone depends on the contract's kind, because the producer writes and the consumer
//! reads:
//!
//! - `request` and `headers` contracts describe what the receiver accepts: a narrowing
//!   breaks senders that were valid before, a widening is compatible.
//! - `response` and `message` contracts describe what the producer guarantees: a widening
//!   breaks readers that relied on the old guarantee, a narrowing is compatible.
//! - A change that both narrows and widens breaks either way.
//!
//! A breaking change is allowed when the contract's version was bumped (new > old); the
//! others are returned by [`DiffReport::unbumped_breaking`] and fail CI.
//!
//! The module works on plain data ([`SchemaDoc`]) so it does not depend on the registry;
//! [`load_side`] reads a contracts directory, an `index.json` or a single schema file.
//!
//! What is compared: `type`, `enum`/`const`, `minimum`/`maximum`/`exclusiveMinimum`/
//! `exclusiveMaximum` (as one effective bound each way, integer-aware), `minLength`/
//! `maxLength`/`minItems`/`maxItems`/`minProperties`/`maxProperties`, `pattern`, `format`,
//! `multipleOf`, `uniqueItems`, `properties`/`required`/`additionalProperties`,
//! `patternProperties`, `items`/`prefixItems`, `oneOf`/`anyOf`/`allOf`, recursively, with
//! local `$ref`s (`#/...`) resolved in their own document (sibling keywords of a `$ref` are
//! laid over the target). Other validation keywords (`not`, `if`/`then`/`else`,
//! `dependentRequired`, `unevaluatedProperties`, ...) are not analysed: any change to them is
//! reported as breaking in both directions. Annotations (`title`, `description`,
//! `examples`, `$comment`, `default`, `deprecated`, `$id`, ...), unused `$defs` and keywords
//! JSON Schema does not define are not changes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::schema::Kind;

/// Whether the schema describes what a receiver accepts (true) or what a producer
/// guarantees to its readers (false).
fn describes_receiver(kind: Kind) -> bool {
    matches!(kind, Kind::Request | Kind::Headers)
}

/// Whether a change can break a party that still follows the old schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compat {
    Compatible,
    Breaking,
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compat::Compatible => "compatible",
            Compat::Breaking => "BREAKING",
        })
    }
}

/// One difference between the old and the new side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The contract's name, e.g. `ChargeRequest`.
    pub contract: String,
    /// The old side's version (`None` when the contract is new, or in single-schema mode).
    pub old_version: Option<u32>,
    /// The new side's version (`None` when the contract was removed, or in single-schema mode).
    pub new_version: Option<u32>,
    /// JSON pointer into the new schema (into the old one's layout for what no longer
    /// exists), e.g. `/properties/amount_cents/minimum`; empty for the whole contract.
    /// Inside a `$ref` target it points into the target (e.g. `/$defs/Address/...`).
    pub pointer: String,
    /// A sentence saying what changed, naming the instance field, e.g.
    /// "`currency` became required".
    pub what: String,
    pub compat: Compat,
}

impl Change {
    /// Whether the contract's version went up (which allows a breaking change).
    pub fn version_bumped(&self) -> bool {
        matches!((self.old_version, self.new_version), (Some(old), Some(new)) if new > old)
    }

    /// A breaking change without a version bump: it fails CI.
    pub fn is_unbumped_breaking(&self) -> bool {
        self.compat == Compat::Breaking && !self.version_bumped()
    }
}

fn show_version(version: Option<u32>) -> String {
    version.map_or_else(|| "-".to_owned(), |v| format!("v{v}"))
}

impl fmt::Display for Change {
    /// `BREAKING ChargeRequest v1 -> v1 /properties/currency: `currency` became required (bump the version)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} -> {}",
            self.compat,
            self.contract,
            show_version(self.old_version),
            show_version(self.new_version)
        )?;
        if !self.pointer.is_empty() {
            write!(f, " {}", self.pointer)?;
        }
        write!(f, ": {}", self.what)?;
        if self.compat == Compat::Breaking {
            if self.version_bumped() {
                f.write_str(" (allowed: version bumped)")?;
            } else if self.old_version.is_some() && self.new_version.is_some() {
                f.write_str(" (bump the version)")?;
            }
        }
        Ok(())
    }
}

/// Every change between two sides, grouped by contract name (sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub changes: Vec<Change>,
}

impl DiffReport {
    /// Breaking changes of contracts whose version was not bumped (new version <= old, or
    /// no new version at all: a removed contract): these fail CI.
    pub fn unbumped_breaking(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.is_unbumped_breaking())
            .collect()
    }

    /// Every breaking change, allowed by a version bump or not.
    pub fn breaking(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.compat == Compat::Breaking)
            .collect()
    }

    /// The one-line verdict: "2 breaking changes without a version bump: ChargeRequest,
    /// Order" or "no breaking change without a version bump".
    pub fn verdict(&self) -> String {
        let unbumped = self.unbumped_breaking();
        if unbumped.is_empty() {
            return "no breaking change without a version bump".to_owned();
        }
        let mut names: Vec<&str> = Vec::new();
        for change in &unbumped {
            if !names.contains(&change.contract.as_str()) {
                names.push(&change.contract);
            }
        }
        let plural = if unbumped.len() == 1 { "" } else { "s" };
        format!(
            "{} breaking change{plural} without a version bump: {}",
            unbumped.len(),
            names.join(", ")
        )
    }

    /// One line per change, a summary line, and the verdict as the last line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            out.push_str(&change.to_string());
            out.push('\n');
        }
        let breaking = self.breaking().len();
        let allowed = breaking - self.unbumped_breaking().len();
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        } else {
            out.push_str(&format!(
                "{} change{}: {} compatible, {breaking} breaking ({allowed} allowed by a version bump)\n",
                self.changes.len(),
                if self.changes.len() == 1 { "" } else { "s" },
                self.changes.len() - breaking,
            ));
        }
        out.push_str(&self.verdict());
        out
    }
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// One contract version, borrowed: the input of [`diff_docs`].
#[derive(Debug, Clone, Copy)]
pub struct SchemaDoc<'a> {
    pub name: &'a str,
    pub version: u32,
    pub kind: Kind,
    pub schema: &'a Value,
}

/// One contract version as read by [`load_side`].
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedDoc {
    pub name: String,
    pub version: u32,
    pub kind: Kind,
    pub schema: Value,
    /// The schema file it was read from.
    pub path: PathBuf,
}

impl OwnedDoc {
    pub fn as_doc(&self) -> SchemaDoc<'_> {
        SchemaDoc {
            name: &self.name,
            version: self.version,
            kind: self.kind,
            schema: &self.schema,
        }
    }
}

/// [`diff_docs`] on what [`load_side`] returned.
pub fn diff_owned(old: &[OwnedDoc], new: &[OwnedDoc]) -> DiffReport {
    let old: Vec<SchemaDoc<'_>> = old.iter().map(OwnedDoc::as_doc).collect();
    let new: Vec<SchemaDoc<'_>> = new.iter().map(OwnedDoc::as_doc).collect();
    diff_docs(&old, &new)
}

/// Compares two sides, matching contracts by name. When a name has several versions the
/// highest old and new versions are compared; older versions present on both sides are
/// compared with themselves too (an in-place edit of v1 after v2 exists is caught). A
/// contract removed is breaking, a contract added is compatible, a kind change is
/// breaking, and so is a latest version that went down. If one side lists the same
/// (name, version) twice the later entry wins.
pub fn diff_docs(old: &[SchemaDoc<'_>], new: &[SchemaDoc<'_>]) -> DiffReport {
    let old_by = by_name(old);
    let new_by = by_name(new);
    let names: BTreeSet<&str> = old_by.keys().chain(new_by.keys()).copied().collect();
    let mut changes = Vec::new();
    for name in names {
        let old_versions = old_by.get(name);
        let new_versions = new_by.get(name);
        let old_latest = old_versions.and_then(|v| v.last_key_value());
        let new_latest = new_versions.and_then(|v| v.last_key_value());
        match (old_latest, new_latest) {
            (Some((&version, doc)), None) => changes.push(Change {
                contract: name.to_owned(),
                old_version: Some(version),
                new_version: None,
                pointer: String::new(),
                what: format!(
                    "contract removed ({} v{version} is absent from the new side)",
                    doc.kind
                ),
                compat: Compat::Breaking,
            }),
            (None, Some((&version, doc))) => changes.push(Change {
                contract: name.to_owned(),
                old_version: None,
                new_version: Some(version),
                pointer: String::new(),
                what: format!("contract added ({} v{version})", doc.kind),
                compat: Compat::Compatible,
            }),
            (Some((&old_v, old_doc)), Some((&new_v, new_doc))) => {
                if new_v < old_v {
                    changes.push(Change {
                        contract: name.to_owned(),
                        old_version: Some(old_v),
                        new_version: Some(new_v),
                        pointer: String::new(),
                        what: format!(
                            "latest version went down from v{old_v} to v{new_v} (v{old_v} removed)"
                        ),
                        compat: Compat::Breaking,
                    });
                }
                compare_pair(old_doc, new_doc, &mut changes);
                let (Some(old_versions), Some(new_versions)) = (old_versions, new_versions) else {
                    continue;
                };
                for (&version, doc) in old_versions {
                    match new_versions.get(&version) {
                        Some(same) if (version, version) != (old_v, new_v) => {
                            compare_pair(doc, same, &mut changes)
                        }
                        Some(_) => {}
                        None if version != old_v => changes.push(Change {
                            contract: name.to_owned(),
                            old_version: Some(version),
                            new_version: None,
                            pointer: String::new(),
                            what: format!("version v{version} removed (v{new_v} remains)"),
                            compat: Compat::Compatible,
                        }),
                        None => {}
                    }
                }
                for &version in new_versions.keys() {
                    if version != new_v && !old_versions.contains_key(&version) {
                        changes.push(Change {
                            contract: name.to_owned(),
                            old_version: None,
                            new_version: Some(version),
                            pointer: String::new(),
                            what: format!("version v{version} added"),
                            compat: Compat::Compatible,
                        });
                    }
                }
            }
            (None, None) => {}
        }
    }
    DiffReport { changes }
}

type ByName<'d, 'a> = BTreeMap<&'a str, BTreeMap<u32, &'d SchemaDoc<'a>>>;

fn by_name<'d, 'a>(docs: &'d [SchemaDoc<'a>]) -> ByName<'d, 'a> {
    let mut map: ByName<'d, 'a> = BTreeMap::new();
    for doc in docs {
        map.entry(doc.name).or_default().insert(doc.version, doc);
    }
    map
}

fn compare_pair(old: &SchemaDoc<'_>, new: &SchemaDoc<'_>, changes: &mut Vec<Change>) {
    if old.kind != new.kind {
        changes.push(Change {
            contract: new.name.to_owned(),
            old_version: Some(old.version),
            new_version: Some(new.version),
            pointer: String::new(),
            what: format!("kind changed from {} to {}", old.kind, new.kind),
            compat: Compat::Breaking,
        });
    }
    changes.extend(schema_changes(
        new.name,
        new.kind,
        Some(old.version),
        Some(new.version),
        old.schema,
        new.schema,
    ));
}

/// Compares two schemas of one contract (single-file mode); the changes carry no versions,
/// so every breaking one counts as unbumped.
pub fn diff_schemas(name: &str, kind: Kind, old: &Value, new: &Value) -> Vec<Change> {
    schema_changes(name, kind, None, None, old, new)
}

fn schema_changes(
    name: &str,
    kind: Kind,
    old_version: Option<u32>,
    new_version: Option<u32>,
    old: &Value,
    new: &Value,
) -> Vec<Change> {
    let mut walker = Walker::new(old, new);
    walker.cmp(old, new, "", "");
    let mut seen = HashSet::new();
    walker
        .findings
        .into_iter()
        .filter(|f| seen.insert((f.pointer.clone(), f.what.clone())))
        .map(|f| Change {
            contract: name.to_owned(),
            old_version,
            new_version,
            pointer: f.pointer,
            what: f.what,
            compat: f.effect.compat(kind),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Schema walk
// ---------------------------------------------------------------------------------------

/// What a change does to the set of instances a schema accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Accepts what it accepted before, as far as any realistic party is concerned (a new
    /// optional property).
    Neutral,
    /// Accepts less than before.
    Narrows,
    /// Accepts more than before.
    Widens,
    /// Accepts some new instances and rejects some old ones.
    Both,
}

impl Effect {
    fn compat(self, kind: Kind) -> Compat {
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

struct Finding {
    pointer: String,
    what: String,
    effect: Effect,
}

/// Keywords that never change what a schema accepts.
const ANNOTATIONS: &[&str] = &[
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
const OPAQUE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
    "$dynamicRef",
    "$recursiveRef",
];

/// Those of [`OPAQUE`] whose value is a schema (compared for equivalence, not equality).
const OPAQUE_SCHEMAS: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "contains",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
];

/// How many `$ref`s may be chained before the walk gives up.
const MAX_REF_CHAIN: usize = 32;

static TRUE_SCHEMA: Value = Value::Bool(true);
static FALSE_SCHEMA: Value = Value::Bool(false);

struct Walker<'a> {
    old_root: &'a Value,
    new_root: &'a Value,
    findings: Vec<Finding>,
    /// (old, new) `$ref` targets being compared on the current path, to stop on cycles.
    active: Vec<(String, String)>,
}

/// A schema with its `$ref`s resolved.
struct Resolved {
    schema: Value,
    /// Where it lives in its document.
    pointer: String,
    via_ref: bool,
}

impl<'a> Walker<'a> {
    fn new(old_root: &'a Value, new_root: &'a Value) -> Self {
        Walker {
            old_root,
            new_root,
            findings: Vec::new(),
            active: Vec::new(),
        }
    }

    /// Records a finding; `inst` is the instance path (`billing.zip`, `lines[]`), empty at
    /// the root.
    fn emit(&mut self, pointer: String, inst: &str, desc: impl Into<String>, effect: Effect) {
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
    fn equivalent(&self, old: &Value, new: &Value, pointer: &str) -> bool {
        let mut sub = Walker {
            old_root: self.old_root,
            new_root: self.new_root,
            findings: Vec::new(),
            active: self.active.clone(),
        };
        sub.cmp(old, new, pointer, "");
        sub.findings.is_empty()
    }

    /// Compares two schemas; `pointer` is where `new` sits in the new document.
    fn cmp(&mut self, old: &Value, new: &Value, pointer: &str, inst: &str) {
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

    fn cmp_resolved(&mut self, old: &Value, new: &Value, pointer: &str, inst: &str) {
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
                (Some(o), Some(n)) => self.cmp_maps(&o, &n, pointer, inst),
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

    fn cmp_maps(&mut self, o: &Map<String, Value>, n: &Map<String, Value>, ptr: &str, inst: &str) {
        self.cmp_type(o, n, ptr, inst);
        self.cmp_values(o, n, ptr, inst);
        self.cmp_bound(o, n, ptr, inst, true);
        self.cmp_bound(o, n, ptr, inst, false);
        for kw in ["minLength", "minItems", "minProperties"] {
            self.cmp_min_count(o, n, kw, ptr, inst);
        }
        for kw in ["maxLength", "maxItems", "maxProperties"] {
            self.cmp_max_count(o, n, kw, ptr, inst);
        }
        self.cmp_string_keyword(o, n, "pattern", ptr, inst);
        self.cmp_string_keyword(o, n, "format", ptr, inst);
        self.cmp_multiple_of(o, n, ptr, inst);
        self.cmp_unique_items(o, n, ptr, inst);
        self.cmp_object(o, n, ptr, inst);
        self.cmp_pattern_properties(o, n, ptr, inst);
        self.cmp_items(o, n, ptr, inst);
        self.cmp_prefix_items(o, n, ptr, inst);
        for kw in ["oneOf", "anyOf", "allOf"] {
            self.cmp_branches(o, n, kw, ptr, inst);
        }
        self.cmp_opaque(o, n, ptr, inst);
    }

    fn cmp_type(&mut self, o: &Map<String, Value>, n: &Map<String, Value>, ptr: &str, inst: &str) {
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
    fn cmp_values(
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

    /// The effective lower (`minimum`/`exclusiveMinimum`) or upper bound.
    fn cmp_bound(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
        lower: bool,
    ) {
        let name = if lower { "lower bound" } else { "upper bound" };
        match (bound(o, lower), bound(n, lower)) {
            (None, None) => {}
            (None, Some(b)) => self.emit(
                child(ptr, b.keyword),
                inst,
                format!("{} {} added", b.keyword, b.shown),
                Effect::Narrows,
            ),
            (Some(a), None) => self.emit(
                child(ptr, a.keyword),
                inst,
                format!("{} {} removed", a.keyword, a.shown),
                Effect::Widens,
            ),
            (Some(a), Some(b)) => {
                let old_key = a.effective(integer_only(o), lower);
                let new_key = b.effective(integer_only(n), lower);
                let effect = match tightness(new_key, old_key, lower) {
                    std::cmp::Ordering::Equal => return,
                    std::cmp::Ordering::Greater => Effect::Narrows,
                    std::cmp::Ordering::Less => Effect::Widens,
                };
                let verb = if lower == (effect == Effect::Narrows) {
                    "raised"
                } else {
                    "lowered"
                };
                let desc = if a.keyword == b.keyword {
                    format!("{} {verb} from {} to {}", b.keyword, a.shown, b.shown)
                } else {
                    format!(
                        "{name} {verb} from {} to {}",
                        a.show_op(lower),
                        b.show_op(lower)
                    )
                };
                self.emit(child(ptr, b.keyword), inst, desc, effect);
            }
        }
    }

    fn cmp_min_count(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        kw: &str,
        ptr: &str,
        inst: &str,
    ) {
        let (old, new) = (count(o, kw), count(n, kw));
        let (old_eff, new_eff) = (old.unwrap_or(0), new.unwrap_or(0));
        if old_eff == new_eff {
            return;
        }
        let effect = if new_eff > old_eff {
            Effect::Narrows
        } else {
            Effect::Widens
        };
        let desc = match (old, new) {
            (Some(a), Some(b)) => {
                let verb = if b > a { "raised" } else { "lowered" };
                format!("{kw} {verb} from {a} to {b}")
            }
            (None, _) => format!("{kw} {new_eff} added"),
            (_, None) => format!("{kw} {old_eff} removed"),
        };
        self.emit(child(ptr, kw), inst, desc, effect);
    }

    fn cmp_max_count(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        kw: &str,
        ptr: &str,
        inst: &str,
    ) {
        let (desc, effect) = match (count(o, kw), count(n, kw)) {
            (None, None) => return,
            (Some(a), Some(b)) if a == b => return,
            (Some(a), Some(b)) if b < a => {
                (format!("{kw} lowered from {a} to {b}"), Effect::Narrows)
            }
            (Some(a), Some(b)) => (format!("{kw} raised from {a} to {b}"), Effect::Widens),
            (None, Some(b)) => (format!("{kw} {b} added"), Effect::Narrows),
            (Some(a), None) => (format!("{kw} {a} removed"), Effect::Widens),
        };
        self.emit(child(ptr, kw), inst, desc, effect);
    }

    /// `pattern` and `format`: added narrows, removed widens, replaced does both.
    fn cmp_string_keyword(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        kw: &str,
        ptr: &str,
        inst: &str,
    ) {
        let (desc, effect) = match (o.get(kw), n.get(kw)) {
            (None, None) => return,
            (Some(a), Some(b)) if json_eq(a, b) => return,
            (Some(a), Some(b)) => (format!("{kw} changed from {a} to {b}"), Effect::Both),
            (None, Some(b)) => (format!("{kw} {b} added"), Effect::Narrows),
            (Some(a), None) => (format!("{kw} {a} removed"), Effect::Widens),
        };
        self.emit(child(ptr, kw), inst, desc, effect);
    }

    fn cmp_multiple_of(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let kw = "multipleOf";
        let (a, b) = (o.get(kw), n.get(kw));
        let (desc, effect) = match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
            (None, None) => return,
            (Some(x), Some(y)) if x == y => return,
            (Some(x), Some(y)) => {
                let effect = if is_integral(y / x) {
                    Effect::Narrows
                } else if is_integral(x / y) {
                    Effect::Widens
                } else {
                    Effect::Both
                };
                (
                    format!("multipleOf changed from {} to {}", show_opt(a), show_opt(b)),
                    effect,
                )
            }
            (None, Some(_)) => (format!("multipleOf {} added", show_opt(b)), Effect::Narrows),
            (Some(_), None) => (
                format!("multipleOf {} removed", show_opt(a)),
                Effect::Widens,
            ),
        };
        self.emit(child(ptr, kw), inst, desc, effect);
    }

    fn cmp_unique_items(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let get = |m: &Map<String, Value>| {
            m.get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        match (get(o), get(n)) {
            (false, true) => self.emit(
                child(ptr, "uniqueItems"),
                inst,
                "items must now be unique",
                Effect::Narrows,
            ),
            (true, false) => self.emit(
                child(ptr, "uniqueItems"),
                inst,
                "items no longer need to be unique",
                Effect::Widens,
            ),
            _ => {}
        }
    }

    /// `properties`, `required` and `additionalProperties`.
    fn cmp_object(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let empty = Map::new();
        let old_props = o
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new_props = n
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let old_req = required(o);
        let new_req = required(n);
        let old_extra = Extra::of(o.get("additionalProperties"));
        let new_extra = Extra::of(n.get("additionalProperties"));
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

    fn cmp_additional(&mut self, old: Extra<'_>, new: Extra<'_>, at: &str, inst: &str) {
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

    fn cmp_pattern_properties(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let empty = Map::new();
        let old = o
            .get("patternProperties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new = n
            .get("patternProperties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
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

    fn cmp_items(&mut self, o: &Map<String, Value>, n: &Map<String, Value>, ptr: &str, inst: &str) {
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

    fn cmp_prefix_items(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        let none = Vec::new();
        let old = o
            .get("prefixItems")
            .and_then(Value::as_array)
            .unwrap_or(&none);
        let new = n
            .get("prefixItems")
            .and_then(Value::as_array)
            .unwrap_or(&none);
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

    /// `oneOf`/`anyOf` (a branch added widens, removed narrows) and `allOf` (the
    /// opposite). Branches are compared by index when both sides have as many; otherwise
    /// equivalent branches are paired and the rest reported as added or removed.
    fn cmp_branches(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        kw: &str,
        ptr: &str,
        inst: &str,
    ) {
        let (added, removed) = if kw == "allOf" {
            (Effect::Narrows, Effect::Widens)
        } else {
            (Effect::Widens, Effect::Narrows)
        };
        let base = child(ptr, kw);
        match (
            o.get(kw).and_then(Value::as_array),
            n.get(kw).and_then(Value::as_array),
        ) {
            (None, None) => {}
            (None, Some(new)) => self.emit(
                base,
                inst,
                format!("{kw} added ({} branches)", new.len()),
                Effect::Narrows,
            ),
            (Some(old), None) => self.emit(
                base,
                inst,
                format!("{kw} removed (had {} branches)", old.len()),
                Effect::Widens,
            ),
            (Some(old), Some(new)) if old.len() == new.len() => {
                for (i, (a, b)) in old.iter().zip(new).enumerate() {
                    self.cmp(a, b, &child(&base, &i.to_string()), inst);
                }
            }
            (Some(old), Some(new)) => {
                let mut used = vec![false; new.len()];
                let mut unmatched_old = Vec::new();
                for (i, a) in old.iter().enumerate() {
                    let mut found = false;
                    for (j, b) in new.iter().enumerate() {
                        if !used[j] && self.equivalent(a, b, &child(&base, &j.to_string())) {
                            used[j] = true;
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        unmatched_old.push(i);
                    }
                }
                for i in unmatched_old {
                    self.emit(
                        child(&base, &i.to_string()),
                        inst,
                        format!("{kw} branch {i} ({}) removed", describe(&old[i])),
                        removed,
                    );
                }
                for (j, b) in new.iter().enumerate() {
                    if !used[j] {
                        self.emit(
                            child(&base, &j.to_string()),
                            inst,
                            format!("{kw} branch {j} ({}) added", describe(b)),
                            added,
                        );
                    }
                }
            }
        }
    }

    fn cmp_opaque(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        ptr: &str,
        inst: &str,
    ) {
        for &kw in OPAQUE {
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

/// What `additionalProperties` allows.
#[derive(Clone, Copy)]
enum Extra<'a> {
    /// Absent, `true` or a schema without constraints.
    Allowed,
    /// `false`.
    Forbidden,
    Schema(&'a Value),
}

impl<'a> Extra<'a> {
    fn of(value: Option<&'a Value>) -> Self {
        match value {
            None | Some(Value::Bool(true)) => Extra::Allowed,
            Some(Value::Bool(false)) => Extra::Forbidden,
            Some(Value::Object(m)) if m.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) => {
                Extra::Allowed
            }
            Some(schema) => Extra::Schema(schema),
        }
    }

    fn schema(self) -> &'a Value {
        match self {
            Extra::Allowed => &TRUE_SCHEMA,
            Extra::Forbidden => &FALSE_SCHEMA,
            Extra::Schema(schema) => schema,
        }
    }
}

/// Follows `$ref`s (local ones only) from `schema`, which sits at `pointer` in `root`.
fn resolve(root: &Value, schema: &Value, pointer: &str) -> Result<Resolved, String> {
    let mut current = schema.clone();
    let mut at = pointer.to_owned();
    let mut via_ref = false;
    for _ in 0..MAX_REF_CHAIN {
        let Value::Object(map) = &current else {
            return Ok(Resolved {
                schema: current,
                pointer: at,
                via_ref,
            });
        };
        let Some(reference) = map.get("$ref") else {
            return Ok(Resolved {
                schema: current,
                pointer: at,
                via_ref,
            });
        };
        let reference = reference
            .as_str()
            .ok_or_else(|| format!("$ref {reference} is not a string"))?;
        let fragment = reference.strip_prefix('#').ok_or_else(|| {
            format!(
                "$ref {reference:?} is not local to the document (only \"#/...\" references are resolved)"
            )
        })?;
        let fragment = percent_decode(fragment);
        let target = root
            .pointer(&fragment)
            .ok_or_else(|| format!("$ref {reference:?} points to nothing in the document"))?;
        let mut merged = match target {
            Value::Object(t) => t.clone(),
            Value::Bool(true) => Map::new(),
            Value::Bool(false) => {
                return Ok(Resolved {
                    schema: Value::Bool(false),
                    pointer: fragment,
                    via_ref: true,
                });
            }
            _ => return Err(format!("$ref {reference:?} points to a non-schema value")),
        };
        for (k, v) in map {
            if k != "$ref" {
                merged.insert(k.clone(), v.clone());
            }
        }
        current = Value::Object(merged);
        at = fragment;
        via_ref = true;
    }
    Err(format!(
        "more than {MAX_REF_CHAIN} chained $refs (a reference cycle?)"
    ))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

fn schema_map(value: &Value) -> Option<Cow<'_, Map<String, Value>>> {
    match value {
        Value::Object(m) => Some(Cow::Borrowed(m)),
        Value::Bool(true) => Some(Cow::Owned(Map::new())),
        _ => None,
    }
}

/// Appends an escaped JSON pointer segment.
fn child(pointer: &str, segment: &str) -> String {
    format!(
        "{pointer}/{}",
        segment.replace('~', "~0").replace('/', "~1")
    )
}

/// Appends a property name to an instance path.
fn field(inst: &str, name: &str) -> String {
    if inst.is_empty() {
        name.to_owned()
    } else {
        format!("{inst}.{name}")
    }
}

fn type_set(m: &Map<String, Value>) -> Option<BTreeSet<String>> {
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
fn covers(types: &BTreeSet<String>, t: &str) -> bool {
    types.contains(t) || (t == "integer" && types.contains("number"))
}

fn integer_only(m: &Map<String, Value>) -> bool {
    type_set(m).is_some_and(|t| t.len() == 1 && t.contains("integer"))
}

fn show_types(types: &BTreeSet<String>) -> String {
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
fn allowed_values(m: &Map<String, Value>) -> Option<(&'static str, Vec<Value>)> {
    if let Some(c) = m.get("const") {
        return Some(("const", vec![c.clone()]));
    }
    m.get("enum")
        .and_then(Value::as_array)
        .map(|values| ("enum", values.clone()))
}

fn show_values(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_opt(value: Option<&Value>) -> String {
    value.map_or_else(String::new, Value::to_string)
}

fn required(m: &Map<String, Value>) -> BTreeSet<String> {
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

fn count(m: &Map<String, Value>, kw: &str) -> Option<u64> {
    let v = m.get(kw)?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
            .map(|f| f as u64)
    })
}

fn is_integral(x: f64) -> bool {
    x.is_finite() && x >= 1.0 && (x - x.round()).abs() < 1e-9
}

/// A numeric bound as written in the schema.
struct Bound {
    value: f64,
    exclusive: bool,
    keyword: &'static str,
    shown: String,
}

impl Bound {
    /// (value, exclusive) for comparison; for integer-only schemas an exclusive or
    /// fractional bound becomes the inclusive integer bound it amounts to.
    fn effective(&self, integer_only: bool, lower: bool) -> (f64, bool) {
        match (integer_only, lower, self.exclusive) {
            (false, _, _) => (self.value, self.exclusive),
            (true, true, true) => (self.value.floor() + 1.0, false),
            (true, true, false) => (self.value.ceil(), false),
            (true, false, true) => (self.value.ceil() - 1.0, false),
            (true, false, false) => (self.value.floor(), false),
        }
    }

    fn show_op(&self, lower: bool) -> String {
        let op = match (lower, self.exclusive) {
            (true, false) => ">=",
            (true, true) => ">",
            (false, false) => "<=",
            (false, true) => "<",
        };
        format!("{op} {}", self.shown)
    }
}

fn bound(m: &Map<String, Value>, lower: bool) -> Option<Bound> {
    let (inclusive_kw, exclusive_kw) = if lower {
        ("minimum", "exclusiveMinimum")
    } else {
        ("maximum", "exclusiveMaximum")
    };
    let read = |keyword: &'static str, exclusive: bool| {
        let v = m.get(keyword)?;
        Some(Bound {
            value: v.as_f64()?,
            exclusive,
            keyword,
            shown: v.to_string(),
        })
    };
    match (read(inclusive_kw, false), read(exclusive_kw, true)) {
        (Some(a), Some(b)) => {
            if tightness((a.value, a.exclusive), (b.value, b.exclusive), lower)
                == std::cmp::Ordering::Less
            {
                Some(b)
            } else {
                Some(a)
            }
        }
        (a, b) => a.or(b),
    }
}

/// `Greater` when bound `a` admits fewer values than bound `b`.
fn tightness(a: (f64, bool), b: (f64, bool), lower: bool) -> std::cmp::Ordering {
    let by_value = if lower {
        a.0.total_cmp(&b.0)
    } else {
        b.0.total_cmp(&a.0)
    };
    by_value.then(a.1.cmp(&b.1))
}

/// A few words naming a `oneOf`/`anyOf`/`allOf` branch.
fn describe(schema: &Value) -> String {
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
fn json_eq(a: &Value, b: &Value) -> bool {
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

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/// Why a side of the diff could not be read. Every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: listed in {} but cannot be read: {source}", path.display(), index.display())]
    Listed {
        path: PathBuf,
        index: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON at line {line} column {column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl DiffError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            DiffError::Io { path, .. }
            | DiffError::Listed { path, .. }
            | DiffError::Json { path, .. }
            | DiffError::Invalid { path, .. } => path,
        }
    }

    fn invalid(path: &Path, message: impl Into<String>) -> Self {
        DiffError::Invalid {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// An `index.json` entry; the other fields (producers, endpoints, ...) do not matter here.
#[derive(Deserialize)]
struct IndexEntry {
    name: String,
    version: u32,
    kind: Kind,
    file: String,
}

const ID_PREFIX: &str = "urn:qalens:contract:";

/// Reads one side of a diff:
/// - a contracts directory: its `index.json` and the schema files it lists;
/// - an `index.json` (any JSON file whose top level has a `contracts` array): the same;
/// - a single schema file: its name and version come from its `$id`
///   (`urn:qalens:contract:<Name>:v<N>`), its kind from `kind` or else from the entry of
///   a sibling `index.json` listing that file. `kind` is ignored in the other two cases.
///
/// In index mode a schema's `$id`, when present, must agree with its index entry.
pub fn load_side(path: &Path, kind: Option<Kind>) -> Result<Vec<OwnedDoc>, DiffError> {
    if path.is_dir() {
        let index = path.join("index.json");
        let value = read_json(&index)?;
        return load_index(&index, &value);
    }
    let value = read_json(path)?;
    if value.get("contracts").is_some_and(Value::is_array) && value.get("$id").is_none() {
        return load_index(path, &value);
    }
    load_single(path, value, kind)
}

fn read_json(path: &Path) -> Result<Value, DiffError> {
    let text = std::fs::read_to_string(path).map_err(|source| DiffError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_json(path, &text)
}

fn parse_json(path: &Path, text: &str) -> Result<Value, DiffError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at line {line} column {column}"))
            .map_or_else(|| full.clone(), str::to_owned);
        DiffError::Json {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    })
}

fn index_entries(index: &Path, value: &Value) -> Result<Vec<IndexEntry>, DiffError> {
    let list = value
        .get("contracts")
        .and_then(Value::as_array)
        .ok_or_else(|| DiffError::invalid(index, "no \"contracts\" array"))?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry.clone())
                .map_err(|e| DiffError::invalid(index, format!("contracts[{i}]: {e}")))
        })
        .collect()
}

fn load_index(index: &Path, value: &Value) -> Result<Vec<OwnedDoc>, DiffError> {
    let base = index.parent().unwrap_or(Path::new(""));
    let mut seen = BTreeSet::new();
    let mut docs = Vec::new();
    for (i, entry) in index_entries(index, value)?.into_iter().enumerate() {
        if !seen.insert((entry.name.clone(), entry.version)) {
            return Err(DiffError::invalid(
                index,
                format!(
                    "contracts[{i}]: {} v{} is listed twice",
                    entry.name, entry.version
                ),
            ));
        }
        let file = base.join(&entry.file);
        let text = std::fs::read_to_string(&file).map_err(|source| DiffError::Listed {
            path: file.clone(),
            index: index.to_owned(),
            source,
        })?;
        let schema = parse_json(&file, &text)?;
        check_is_schema(&file, &schema)?;
        if let Some(id) = schema.get("$id") {
            let id = id
                .as_str()
                .ok_or_else(|| DiffError::invalid(&file, "$id is not a string"))?;
            let (name, version) = parse_id(id).map_err(|m| DiffError::invalid(&file, m))?;
            if name != entry.name || version != entry.version {
                return Err(DiffError::invalid(
                    &file,
                    format!(
                        "$id {id:?} names {name} v{version} but {} lists this file as {} v{}",
                        index.display(),
                        entry.name,
                        entry.version
                    ),
                ));
            }
        }
        docs.push(OwnedDoc {
            name: entry.name,
            version: entry.version,
            kind: entry.kind,
            schema,
            path: file,
        });
    }
    Ok(docs)
}

fn load_single(path: &Path, schema: Value, kind: Option<Kind>) -> Result<Vec<OwnedDoc>, DiffError> {
    check_is_schema(path, &schema)?;
    let id = schema.get("$id").and_then(Value::as_str).ok_or_else(|| {
        DiffError::invalid(
            path,
            "no \"$id\": a single schema file needs \"$id\": \"urn:qalens:contract:<Name>:v<N>\" to give its name and version",
        )
    })?;
    let (name, version) = parse_id(id).map_err(|m| DiffError::invalid(path, m))?;
    let kind = match kind {
        Some(kind) => kind,
        None => kind_from_sibling_index(path)?,
    };
    Ok(vec![OwnedDoc {
        name,
        version,
        kind,
        schema,
        path: path.to_owned(),
    }])
}

fn kind_from_sibling_index(path: &Path) -> Result<Kind, DiffError> {
    let index = path.parent().unwrap_or(Path::new("")).join("index.json");
    let file_name = path.file_name().unwrap_or_default();
    if !index.is_file() {
        return Err(DiffError::invalid(
            path,
            format!(
                "kind unknown: there is no {} listing this file; give the kind (request, response, message or headers)",
                index.display()
            ),
        ));
    }
    let value = read_json(&index)?;
    index_entries(&index, &value)?
        .into_iter()
        .find(|e| Path::new(&e.file).file_name() == Some(file_name))
        .map(|e| e.kind)
        .ok_or_else(|| {
            DiffError::invalid(
                path,
                format!(
                    "kind unknown: {} does not list this file; give the kind (request, response, message or headers)",
                    index.display()
                ),
            )
        })
}

fn check_is_schema(path: &Path, schema: &Value) -> Result<(), DiffError> {
    match schema {
        Value::Object(_) | Value::Bool(_) => Ok(()),
        _ => Err(DiffError::invalid(
            path,
            "not a JSON Schema (expected an object at the top level)",
        )),
    }
}

/// `urn:qalens:contract:<Name>:v<N>` -> (Name, N).
fn parse_id(id: &str) -> Result<(String, u32), String> {
    let form = "\"urn:qalens:contract:<Name>:v<N>\"";
    let rest = id
        .strip_prefix(ID_PREFIX)
        .ok_or_else(|| format!("$id {id:?} is not of the form {form}"))?;
    let (name, version) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("$id {id:?} has no version (expected {form})"))?;
    let version = version
        .strip_prefix('v')
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            format!("$id {id:?} has no version: {version:?} is not v<N> (expected {form})")
        })?;
    if name.is_empty() {
        return Err(format!("$id {id:?} has no contract name (expected {form})"));
    }
    Ok((name.to_owned(), version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REQ: Kind = Kind::Request;
    const RESP: Kind = Kind::Response;
    const MSG: Kind = Kind::Message;
    const HDR: Kind = Kind::Headers;
    const ALL: [Kind; 4] = [REQ, RESP, MSG, HDR];

    fn diff(kind: Kind, old: &Value, new: &Value) -> Vec<Change> {
        diff_schemas("T", kind, old, new)
    }

    /// The only change; fails when there are none or several.
    #[track_caller]
    fn one(kind: Kind, old: &Value, new: &Value) -> Change {
        let changes = diff(kind, old, new);
        assert_eq!(
            changes.len(),
            1,
            "expected exactly one change: {changes:#?}"
        );
        changes.into_iter().next().unwrap()
    }

    /// (pointer, compat) of the only change.
    #[track_caller]
    fn only(kind: Kind, old: &Value, new: &Value) -> (String, Compat) {
        let c = one(kind, old, new);
        (c.pointer, c.compat)
    }

    #[track_caller]
    fn none(kind: Kind, old: &Value, new: &Value) {
        let changes = diff(kind, old, new);
        assert!(changes.is_empty(), "expected no change: {changes:#?}");
    }

    fn at(pointer: &str, compat: Compat) -> (String, Compat) {
        (pointer.to_owned(), compat)
    }

    use Compat::{Breaking, Compatible};

    fn object(properties: Value, required: &[&str]) -> Value {
        json!({ "type": "object", "properties": properties, "required": required })
    }

    // ----- identity and annotations -----

    #[test]
    fn identical_schemas_give_no_changes() {
        let schema = object(
            json!({
                "id": { "type": "string", "format": "uuid", "pattern": "^[0-9a-f-]{36}$" },
                "n": { "type": "integer", "minimum": 1, "maximum": 10 },
                "tags": { "type": "array", "items": { "enum": ["a", "b"] }, "maxItems": 3 },
                "kind": { "oneOf": [ { "const": "x" }, { "$ref": "#/$defs/Y" } ] }
            }),
            &["id"],
        );
        let mut schema = schema;
        schema["$defs"] = json!({ "Y": { "const": "y" } });
        for kind in ALL {
            none(kind, &schema, &schema.clone());
        }
    }

    #[test]
    fn annotations_are_not_changes() {
        let old = json!({
            "$id": "urn:qalens:contract:T:v1", "title": "T", "description": "old",
            "examples": [{ "a": "x" }], "$comment": "c",
            "properties": { "a": { "type": "string", "description": "A", "default": "x" } },
            "$defs": { "Unused": { "type": "string" } }
        });
        let new = json!({
            "$id": "urn:qalens:contract:T:v2", "title": "T!", "description": "new",
            "examples": [{ "a": "y" }, { "a": "z" }],
            "properties": { "a": { "type": "string", "description": "The A", "deprecated": true } },
            "$defs": { "Unused": { "type": "integer" } },
            "x-vendor-extension": 1
        });
        for kind in ALL {
            none(kind, &old, &new);
        }
    }

    // ----- required / properties -----

    #[test]
    fn newly_required_request_field_is_breaking() {
        let old = object(json!({ "a": {}, "currency": { "type": "string" } }), &["a"]);
        let new = object(
            json!({ "a": {}, "currency": { "type": "string" } }),
            &["a", "currency"],
        );
        let c = one(REQ, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/currency", Breaking)
        );
        assert_eq!(c.what, "`currency` became required");
        assert_eq!(only(HDR, &old, &new), at("/properties/currency", Breaking));
        // For a response it is a stronger guarantee.
        assert_eq!(
            only(RESP, &old, &new),
            at("/properties/currency", Compatible)
        );
        assert_eq!(
            only(MSG, &old, &new),
            at("/properties/currency", Compatible)
        );
    }

    #[test]
    fn new_required_request_field_is_breaking_and_compatible_in_a_response() {
        let old = object(json!({ "a": {} }), &["a"]);
        let new = object(
            json!({ "a": {}, "currency": { "type": "string" } }),
            &["a", "currency"],
        );
        let c = one(REQ, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/currency", Breaking)
        );
        assert_eq!(c.what, "`currency` added as a required property");
        assert_eq!(
            only(RESP, &old, &new),
            at("/properties/currency", Compatible)
        );
    }

    #[test]
    fn new_optional_request_field_is_compatible() {
        let old = object(json!({ "a": {} }), &["a"]);
        let new = object(json!({ "a": {}, "note": { "type": "string" } }), &["a"]);
        let c = one(REQ, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/note", Compatible)
        );
        assert_eq!(c.what, "`note` added as an optional property");
        // Also when the request schema had additionalProperties false: it accepts more now.
        let mut strict_old = old.clone();
        strict_old["additionalProperties"] = json!(false);
        let mut strict_new = new.clone();
        strict_new["additionalProperties"] = json!(false);
        assert_eq!(
            only(REQ, &strict_old, &strict_new),
            at("/properties/note", Compatible)
        );
    }

    #[test]
    fn new_response_field_is_compatible() {
        let old = object(json!({ "id": {} }), &["id"]);
        let optional = object(json!({ "id": {}, "note": {} }), &["id"]);
        let required = object(json!({ "id": {}, "note": {} }), &["id", "note"]);
        for kind in [RESP, MSG] {
            assert_eq!(
                only(kind, &old, &optional),
                at("/properties/note", Compatible)
            );
            assert_eq!(
                only(kind, &old, &required),
                at("/properties/note", Compatible)
            );
        }
    }

    #[test]
    fn new_response_field_is_breaking_when_the_old_schema_forbade_unknown_properties() {
        let old = json!({ "properties": { "id": {} }, "additionalProperties": false });
        let new = json!({ "properties": { "id": {}, "note": {} }, "additionalProperties": false });
        assert_eq!(only(RESP, &old, &new), at("/properties/note", Breaking));
        assert_eq!(only(REQ, &old, &new), at("/properties/note", Compatible));
    }

    #[test]
    fn removed_response_field_is_breaking() {
        let old = object(json!({ "id": {}, "reason": { "type": "string" } }), &["id"]);
        let new = object(json!({ "id": {} }), &["id"]);
        let c = one(RESP, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/reason", Breaking)
        );
        assert_eq!(c.what, "`reason` removed (was optional)");
        assert_eq!(only(MSG, &old, &new), at("/properties/reason", Breaking));
    }

    #[test]
    fn removed_request_field_is_breaking_only_when_unknown_properties_are_rejected() {
        let old = object(json!({ "id": {}, "legacy": {} }), &["id"]);
        let new = object(json!({ "id": {} }), &["id"]);
        // Senders that still send it are accepted: compatible.
        assert_eq!(only(REQ, &old, &new), at("/properties/legacy", Compatible));
        let mut strict_old = old.clone();
        strict_old["additionalProperties"] = json!(false);
        let mut strict_new = new.clone();
        strict_new["additionalProperties"] = json!(false);
        assert_eq!(
            only(REQ, &strict_old, &strict_new),
            at("/properties/legacy", Breaking)
        );
    }

    #[test]
    fn required_made_optional_breaks_responses_not_requests() {
        let old = object(json!({ "id": {}, "amount": {} }), &["id", "amount"]);
        let new = object(json!({ "id": {}, "amount": {} }), &["id"]);
        let c = one(RESP, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/amount", Breaking)
        );
        assert_eq!(c.what, "`amount` is no longer required");
        assert_eq!(only(REQ, &old, &new), at("/properties/amount", Compatible));
    }

    #[test]
    fn required_without_property_definition_points_at_required() {
        let old = json!({ "type": "object" });
        let new = json!({ "type": "object", "required": ["x-client-id"] });
        assert_eq!(only(HDR, &old, &new), at("/required", Breaking));
        assert_eq!(only(RESP, &new, &old), at("/required", Breaking));
    }

    #[test]
    fn pointer_segments_are_escaped() {
        let old = object(json!({ "a/b~c": { "type": "string" } }), &[]);
        let new = object(json!({ "a/b~c": { "type": "integer" } }), &[]);
        assert_eq!(
            only(REQ, &old, &new),
            at("/properties/a~1b~0c/type", Breaking)
        );
    }

    // ----- additionalProperties -----

    #[test]
    fn additional_properties_false_narrows() {
        let open = json!({ "type": "object" });
        let closed = json!({ "type": "object", "additionalProperties": false });
        assert_eq!(
            only(REQ, &open, &closed),
            at("/additionalProperties", Breaking)
        );
        assert_eq!(
            only(RESP, &open, &closed),
            at("/additionalProperties", Compatible)
        );
        assert_eq!(
            only(RESP, &closed, &open),
            at("/additionalProperties", Breaking)
        );
        assert_eq!(
            only(REQ, &closed, &open),
            at("/additionalProperties", Compatible)
        );
        // `true` and absent are the same.
        let explicit = json!({ "type": "object", "additionalProperties": true });
        none(REQ, &open, &explicit);
    }

    #[test]
    fn additional_properties_schemas_are_compared() {
        let old = json!({ "type": "object", "additionalProperties": { "type": "string" } });
        let new = json!({ "type": "object", "additionalProperties": { "type": "string", "maxLength": 8 } });
        let c = one(HDR, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/additionalProperties/maxLength", Breaking)
        );
        assert_eq!(c.what, "`*` maxLength 8 added");
    }

    // ----- type -----

    #[test]
    fn type_narrowing_and_widening() {
        let number = json!({ "type": "number" });
        let integer = json!({ "type": "integer" });
        let c = one(REQ, &number, &integer);
        assert_eq!((c.pointer.as_str(), c.compat), ("/type", Breaking));
        assert_eq!(c.what, "type narrowed from number to integer");
        assert_eq!(only(RESP, &number, &integer), at("/type", Compatible));
        assert_eq!(only(RESP, &integer, &number), at("/type", Breaking));
        assert_eq!(only(REQ, &integer, &number), at("/type", Compatible));

        let nullable = json!({ "type": ["string", "null"] });
        let string = json!({ "type": "string" });
        assert_eq!(only(REQ, &nullable, &string), at("/type", Breaking));
        assert_eq!(only(MSG, &nullable, &string), at("/type", Compatible));
        assert_eq!(only(MSG, &string, &nullable), at("/type", Breaking));
        // Same set, other spelling: no change.
        none(REQ, &json!({ "type": ["null", "string"] }), &nullable);
        none(REQ, &json!({ "type": ["integer", "number"] }), &number);
    }

    #[test]
    fn type_replaced_breaks_both_directions() {
        let old = json!({ "type": "string" });
        let new = json!({ "type": "integer" });
        for kind in ALL {
            assert_eq!(only(kind, &old, &new), at("/type", Breaking));
        }
        assert_eq!(
            one(REQ, &old, &new).what,
            "type changed from string to integer"
        );
    }

    #[test]
    fn type_added_or_removed() {
        let any = json!({});
        let string = json!({ "type": "string" });
        assert_eq!(only(REQ, &any, &string), at("/type", Breaking));
        assert_eq!(only(RESP, &any, &string), at("/type", Compatible));
        assert_eq!(only(RESP, &string, &any), at("/type", Breaking));
        assert_eq!(only(REQ, &string, &any), at("/type", Compatible));
    }

    // ----- enum / const -----

    #[test]
    fn narrowed_request_enum_is_breaking() {
        let old = object(
            json!({ "status": { "enum": ["PENDING", "CONFIRMED", "CANCELLED"] } }),
            &[],
        );
        let new = object(
            json!({ "status": { "enum": ["PENDING", "CONFIRMED"] } }),
            &[],
        );
        let c = one(REQ, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/status/enum", Breaking)
        );
        assert_eq!(c.what, "`status` enum value \"CANCELLED\" removed");
        // Narrowing what a producer sends is fine.
        assert_eq!(
            only(RESP, &old, &new),
            at("/properties/status/enum", Compatible)
        );
    }

    #[test]
    fn widened_response_enum_is_breaking() {
        let old = object(
            json!({ "status": { "enum": ["PENDING", "CONFIRMED"] } }),
            &[],
        );
        let new = object(
            json!({ "status": { "enum": ["PENDING", "CONFIRMED", "REFUNDED"] } }),
            &[],
        );
        let c = one(RESP, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/status/enum", Breaking)
        );
        assert_eq!(c.what, "`status` enum value \"REFUNDED\" added");
        assert_eq!(
            only(MSG, &old, &new),
            at("/properties/status/enum", Breaking)
        );
        // A receiver accepting more is fine.
        assert_eq!(
            only(REQ, &old, &new),
            at("/properties/status/enum", Compatible)
        );
    }

    #[test]
    fn enum_value_swapped_reports_both_halves() {
        let old = json!({ "enum": ["a", "b"] });
        let new = json!({ "enum": ["a", "c"] });
        let compat: Vec<Compat> = diff(REQ, &old, &new).iter().map(|c| c.compat).collect();
        assert_eq!(compat, [Breaking, Compatible]);
        let compat: Vec<Compat> = diff(RESP, &old, &new).iter().map(|c| c.compat).collect();
        assert_eq!(compat, [Compatible, Breaking]);
        // Reordering is not a change; numbers compare by value.
        none(
            REQ,
            &json!({ "enum": [1, 2] }),
            &json!({ "enum": [2.0, 1] }),
        );
    }

    #[test]
    fn const_added_removed_changed() {
        let free = json!({ "type": "string" });
        let fixed = json!({ "type": "string", "const": "OrderPlaced" });
        let other = json!({ "type": "string", "const": "OrderConfirmed" });
        assert_eq!(only(REQ, &free, &fixed), at("/const", Breaking));
        assert_eq!(only(MSG, &free, &fixed), at("/const", Compatible));
        assert_eq!(only(MSG, &fixed, &free), at("/const", Breaking));
        assert_eq!(only(REQ, &fixed, &free), at("/const", Compatible));
        for kind in ALL {
            assert_eq!(only(kind, &fixed, &other), at("/const", Breaking));
        }
        assert_eq!(
            one(MSG, &fixed, &other).what,
            "const changed from \"OrderPlaced\" to \"OrderConfirmed\""
        );
        // A one-value enum and a const are the same constraint.
        none(
            REQ,
            &json!({ "type": "string", "enum": ["OrderPlaced"] }),
            &fixed,
        );
    }

    // ----- numeric bounds -----

    #[test]
    fn minimum_and_maximum() {
        let base = json!({ "type": "integer", "minimum": 1, "maximum": 100 });
        let min_up = json!({ "type": "integer", "minimum": 5, "maximum": 100 });
        let max_down = json!({ "type": "integer", "minimum": 1, "maximum": 50 });
        let c = one(REQ, &base, &min_up);
        assert_eq!((c.pointer.as_str(), c.compat), ("/minimum", Breaking));
        assert_eq!(c.what, "minimum raised from 1 to 5");
        assert_eq!(only(RESP, &base, &min_up), at("/minimum", Compatible));
        assert_eq!(only(RESP, &min_up, &base), at("/minimum", Breaking));
        assert_eq!(only(REQ, &min_up, &base), at("/minimum", Compatible));
        assert_eq!(only(REQ, &base, &max_down), at("/maximum", Breaking));
        assert_eq!(only(RESP, &base, &max_down), at("/maximum", Compatible));
        assert_eq!(only(RESP, &max_down, &base), at("/maximum", Breaking));
        assert_eq!(only(REQ, &max_down, &base), at("/maximum", Compatible));
    }

    #[test]
    fn bounds_added_and_removed() {
        let free = json!({ "type": "number" });
        let bounded = json!({ "type": "number", "maximum": 10 });
        assert_eq!(only(REQ, &free, &bounded), at("/maximum", Breaking));
        assert_eq!(only(RESP, &free, &bounded), at("/maximum", Compatible));
        assert_eq!(only(RESP, &bounded, &free), at("/maximum", Breaking));
        assert_eq!(one(RESP, &bounded, &free).what, "maximum 10 removed");
    }

    #[test]
    fn exclusive_bounds_are_compared_with_inclusive_ones() {
        let excl = json!({ "type": "integer", "exclusiveMinimum": 0 });
        let incl = json!({ "type": "integer", "minimum": 1 });
        // For integers `> 0` is `>= 1`.
        none(REQ, &excl, &incl);
        none(RESP, &incl, &excl);
        // For numbers it is a real raise.
        let excl_n = json!({ "type": "number", "exclusiveMinimum": 0 });
        let incl_n = json!({ "type": "number", "minimum": 1 });
        let c = one(REQ, &excl_n, &incl_n);
        assert_eq!((c.pointer.as_str(), c.compat), ("/minimum", Breaking));
        assert_eq!(c.what, "lower bound raised from > 0 to >= 1");
        // Same value, now exclusive: tighter.
        let max = json!({ "type": "number", "maximum": 10 });
        let xmax = json!({ "type": "number", "exclusiveMaximum": 10 });
        assert_eq!(only(REQ, &max, &xmax), at("/exclusiveMaximum", Breaking));
        assert_eq!(only(RESP, &xmax, &max), at("/maximum", Breaking));
    }

    #[test]
    fn multiple_of() {
        let one_cent = json!({ "type": "integer", "multipleOf": 1 });
        let five = json!({ "type": "integer", "multipleOf": 5 });
        assert_eq!(only(REQ, &one_cent, &five), at("/multipleOf", Breaking));
        assert_eq!(only(RESP, &one_cent, &five), at("/multipleOf", Compatible));
        assert_eq!(only(RESP, &five, &one_cent), at("/multipleOf", Breaking));
        let three = json!({ "type": "integer", "multipleOf": 3 });
        assert_eq!(only(RESP, &five, &three), at("/multipleOf", Breaking));
        assert_eq!(only(REQ, &five, &three), at("/multipleOf", Breaking));
    }

    // ----- strings -----

    #[test]
    fn string_lengths() {
        let base = json!({ "type": "string", "minLength": 1, "maxLength": 64 });
        let min_up = json!({ "type": "string", "minLength": 3, "maxLength": 64 });
        let max_down = json!({ "type": "string", "minLength": 1, "maxLength": 32 });
        let max_up = json!({ "type": "string", "minLength": 1, "maxLength": 128 });
        assert_eq!(only(REQ, &base, &min_up), at("/minLength", Breaking));
        assert_eq!(only(RESP, &base, &min_up), at("/minLength", Compatible));
        assert_eq!(only(RESP, &min_up, &base), at("/minLength", Breaking));
        assert_eq!(only(REQ, &base, &max_down), at("/maxLength", Breaking));
        assert_eq!(
            one(REQ, &base, &max_down).what,
            "maxLength lowered from 64 to 32"
        );
        assert_eq!(only(RESP, &base, &max_down), at("/maxLength", Compatible));
        assert_eq!(only(RESP, &base, &max_up), at("/maxLength", Breaking));
        assert_eq!(only(REQ, &base, &max_up), at("/maxLength", Compatible));
        // Added / removed; minLength 0 is no constraint.
        let free = json!({ "type": "string" });
        assert_eq!(
            only(REQ, &free, &json!({ "type": "string", "minLength": 2 })),
            at("/minLength", Breaking)
        );
        assert_eq!(
            only(RESP, &json!({ "type": "string", "maxLength": 9 }), &free),
            at("/maxLength", Breaking)
        );
        none(REQ, &free, &json!({ "type": "string", "minLength": 0 }));
    }

    #[test]
    fn pattern_added_removed_changed() {
        let free = json!({ "type": "string" });
        let p1 = json!({ "type": "string", "pattern": "^[a-z]+$" });
        let p2 = json!({ "type": "string", "pattern": "^[A-Za-z]+$" });
        let c = one(REQ, &free, &p1);
        assert_eq!((c.pointer.as_str(), c.compat), ("/pattern", Breaking));
        assert_eq!(c.what, "pattern \"^[a-z]+$\" added");
        assert_eq!(only(RESP, &free, &p1), at("/pattern", Compatible));
        assert_eq!(only(RESP, &p1, &free), at("/pattern", Breaking));
        assert_eq!(only(REQ, &p1, &free), at("/pattern", Compatible));
        for kind in ALL {
            assert_eq!(only(kind, &p1, &p2), at("/pattern", Breaking));
        }
    }

    #[test]
    fn format_added_removed_changed() {
        let free = json!({ "type": "string" });
        let uuid = json!({ "type": "string", "format": "uuid" });
        let email = json!({ "type": "string", "format": "email" });
        assert_eq!(only(REQ, &free, &uuid), at("/format", Breaking));
        assert_eq!(only(REQ, &uuid, &free), at("/format", Compatible));
        assert_eq!(only(RESP, &uuid, &free), at("/format", Breaking));
        assert_eq!(only(RESP, &free, &uuid), at("/format", Compatible));
        for kind in ALL {
            assert_eq!(only(kind, &uuid, &email), at("/format", Breaking));
        }
    }

    // ----- arrays -----

    #[test]
    fn array_item_counts() {
        let base = json!({ "type": "array", "minItems": 1, "maxItems": 10 });
        let min_up = json!({ "type": "array", "minItems": 2, "maxItems": 10 });
        let max_up = json!({ "type": "array", "minItems": 1, "maxItems": 20 });
        assert_eq!(only(REQ, &base, &min_up), at("/minItems", Breaking));
        assert_eq!(only(RESP, &base, &min_up), at("/minItems", Compatible));
        assert_eq!(only(RESP, &base, &max_up), at("/maxItems", Breaking));
        assert_eq!(only(REQ, &base, &max_up), at("/maxItems", Compatible));
        assert_eq!(only(REQ, &max_up, &base), at("/maxItems", Breaking));
    }

    #[test]
    fn unique_items() {
        let any = json!({ "type": "array" });
        let unique = json!({ "type": "array", "uniqueItems": true });
        assert_eq!(only(REQ, &any, &unique), at("/uniqueItems", Breaking));
        assert_eq!(only(RESP, &unique, &any), at("/uniqueItems", Breaking));
        assert_eq!(only(RESP, &any, &unique), at("/uniqueItems", Compatible));
    }

    #[test]
    fn items_are_compared_recursively() {
        let line = |min: u32| {
            object(
                json!({ "lines": { "type": "array", "items": object(json!({ "quantity": { "type": "integer", "minimum": min } }), &["quantity"]) } }),
                &["lines"],
            )
        };
        let c = one(REQ, &line(1), &line(2));
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            (
                "/properties/lines/items/properties/quantity/minimum",
                Breaking
            )
        );
        assert_eq!(c.what, "`lines[].quantity` minimum raised from 1 to 2");
        assert_eq!(
            only(RESP, &line(2), &line(1)),
            at(
                "/properties/lines/items/properties/quantity/minimum",
                Breaking
            )
        );
        // items added to an unconstrained array narrows it.
        let any = json!({ "type": "array" });
        let strings = json!({ "type": "array", "items": { "type": "string" } });
        assert_eq!(only(REQ, &any, &strings), at("/items/type", Breaking));
        assert_eq!(only(RESP, &strings, &any), at("/items/type", Breaking));
        // items: false forbids every item.
        let empty = json!({ "type": "array", "items": false });
        assert_eq!(only(REQ, &any, &empty), at("/items", Breaking));
        assert_eq!(only(RESP, &empty, &strings), at("/items", Breaking));
    }

    #[test]
    fn prefix_items() {
        let one_item = json!({ "prefixItems": [ { "type": "string" } ] });
        let two_items = json!({ "prefixItems": [ { "type": "string" }, { "type": "integer" } ] });
        assert_eq!(
            only(REQ, &one_item, &two_items),
            at("/prefixItems/1", Breaking)
        );
        assert_eq!(
            only(RESP, &two_items, &one_item),
            at("/prefixItems/1", Breaking)
        );
        let changed = json!({ "prefixItems": [ { "type": "number" } ] });
        assert_eq!(
            only(RESP, &one_item, &changed),
            at("/prefixItems/0/type", Breaking)
        );
    }

    // ----- nesting and $ref -----

    #[test]
    fn nested_property_change_reports_the_nested_pointer() {
        let make = |max: u32, required: &[&str]| {
            object(
                json!({ "customer": object(json!({
                    "address": object(json!({ "zip": { "type": "string", "maxLength": max }, "city": {} }), required)
                }), &["address"]) }),
                &["customer"],
            )
        };
        let c = one(REQ, &make(10, &["zip"]), &make(5, &["zip"]));
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            (
                "/properties/customer/properties/address/properties/zip/maxLength",
                Breaking
            )
        );
        assert_eq!(
            c.what,
            "`customer.address.zip` maxLength lowered from 10 to 5"
        );
        assert_eq!(
            only(RESP, &make(10, &["zip", "city"]), &make(10, &["zip"])),
            at(
                "/properties/customer/properties/address/properties/city",
                Breaking
            )
        );
    }

    #[test]
    fn ref_is_resolved_and_equal_to_its_inline_form() {
        let inline = object(
            json!({ "billing": { "type": "object", "properties": { "zip": { "type": "string", "maxLength": 10 } } } }),
            &["billing"],
        );
        let with_ref = json!({
            "type": "object", "required": ["billing"],
            "properties": { "billing": { "$ref": "#/$defs/Address", "description": "where the bill goes" } },
            "$defs": { "Address": { "type": "object", "properties": { "zip": { "type": "string", "maxLength": 10 } } } }
        });
        for kind in ALL {
            none(kind, &inline, &with_ref);
            none(kind, &with_ref, &inline);
        }
    }

    #[test]
    fn change_behind_a_ref_points_into_the_definition_and_names_each_use() {
        let doc = |max: u32| {
            json!({
                "type": "object",
                "properties": {
                    "billing": { "$ref": "#/$defs/Address" },
                    "shipping": { "$ref": "#/$defs/Address" }
                },
                "$defs": { "Address": { "type": "object", "properties": { "zip": { "type": "string", "maxLength": max } } } }
            })
        };
        let changes = diff(REQ, &doc(10), &doc(5));
        let got: Vec<(&str, &str, Compat)> = changes
            .iter()
            .map(|c| (c.pointer.as_str(), c.what.as_str(), c.compat))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/$defs/Address/properties/zip/maxLength",
                    "`billing.zip` maxLength lowered from 10 to 5",
                    Breaking
                ),
                (
                    "/$defs/Address/properties/zip/maxLength",
                    "`shipping.zip` maxLength lowered from 10 to 5",
                    Breaking
                ),
            ]
        );
        let changes = diff(RESP, &doc(10), &doc(5));
        assert!(
            changes.iter().all(|c| c.compat == Compatible),
            "{changes:#?}"
        );
    }

    #[test]
    fn ref_inline_on_one_side_is_compared_with_the_target() {
        let old = json!({
            "properties": { "id": { "$ref": "#/$defs/Uuid" } },
            "$defs": { "Uuid": { "type": "string", "format": "uuid" } }
        });
        let new = json!({ "properties": { "id": { "type": "string" } } });
        assert_eq!(
            only(RESP, &old, &new),
            at("/properties/id/format", Breaking)
        );
    }

    #[test]
    fn recursive_refs_terminate_and_report_changes() {
        let tree = |max: u32| {
            json!({
                "$ref": "#/$defs/Node",
                "$defs": { "Node": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "maxLength": max },
                        "children": { "type": "array", "items": { "$ref": "#/$defs/Node" } }
                    }
                } }
            })
        };
        none(REQ, &tree(8), &tree(8));
        let changes = diff(REQ, &tree(8), &tree(4));
        assert!(!changes.is_empty());
        assert!(
            changes
                .iter()
                .all(|c| c.pointer == "/$defs/Node/properties/name/maxLength"
                    && c.compat == Breaking),
            "{changes:#?}"
        );
    }

    #[test]
    fn unresolvable_refs() {
        let dangling = json!({ "properties": { "a": { "$ref": "#/$defs/Missing" } } });
        let fine = json!({ "properties": { "a": { "type": "string" } } });
        // The same unresolvable reference on both sides is not a change.
        none(REQ, &dangling, &dangling.clone());
        let c = one(RESP, &fine, &dangling);
        assert_eq!((c.pointer.as_str(), c.compat), ("/properties/a", Breaking));
        assert!(c.what.contains("points to nothing"), "{}", c.what);
        let external = json!({ "properties": { "a": { "$ref": "other.json#/x" } } });
        assert_eq!(only(REQ, &fine, &external), at("/properties/a", Breaking));
    }

    // ----- oneOf / anyOf / allOf -----

    fn payment(branches: Value) -> Value {
        json!({
            "properties": { "method": { "oneOf": branches } },
            "$defs": {
                "Card": { "type": "object", "properties": { "pan": { "type": "string", "maxLength": 19 } } },
                "Iban": { "type": "object", "properties": { "iban": { "type": "string" } } },
                "Wallet": { "type": "object", "properties": { "wallet": { "type": "string" } } }
            }
        })
    }

    #[test]
    fn one_of_branch_removed_breaks_requests() {
        let old = payment(
            json!([{ "$ref": "#/$defs/Card" }, { "$ref": "#/$defs/Iban" }, { "$ref": "#/$defs/Wallet" }]),
        );
        let new = payment(json!([{ "$ref": "#/$defs/Card" }, { "$ref": "#/$defs/Wallet" }]));
        let c = one(REQ, &old, &new);
        assert_eq!(
            (c.pointer.as_str(), c.compat),
            ("/properties/method/oneOf/1", Breaking)
        );
        assert_eq!(c.what, "`method` oneOf branch 1 (#/$defs/Iban) removed");
        assert_eq!(
            only(RESP, &old, &new),
            at("/properties/method/oneOf/1", Compatible)
        );
    }

    #[test]
    fn one_of_branch_added_breaks_responses() {
        let old = payment(json!([{ "$ref": "#/$defs/Card" }, { "$ref": "#/$defs/Iban" }]));
        let new = payment(
            json!([{ "$ref": "#/$defs/Wallet" }, { "$ref": "#/$defs/Card" }, { "$ref": "#/$defs/Iban" }]),
        );
        // Counts differ: branches are paired by content, so only the new one is reported.
        assert_eq!(
            only(RESP, &old, &new),
            at("/properties/method/oneOf/0", Breaking)
        );
        assert_eq!(
            only(MSG, &old, &new),
            at("/properties/method/oneOf/0", Breaking)
        );
        assert_eq!(
            only(REQ, &old, &new),
            at("/properties/method/oneOf/0", Compatible)
        );
    }

    #[test]
    fn one_of_branches_with_equal_counts_are_compared_by_index() {
        let old = json!({ "oneOf": [ { "type": "string" }, { "type": "object", "properties": { "n": { "maximum": 5 } } } ] });
        let new = json!({ "oneOf": [ { "type": "string" }, { "type": "object", "properties": { "n": { "maximum": 9 } } } ] });
        assert_eq!(
            only(RESP, &old, &new),
            at("/oneOf/1/properties/n/maximum", Breaking)
        );
        assert_eq!(
            only(REQ, &old, &new),
            at("/oneOf/1/properties/n/maximum", Compatible)
        );
    }

    #[test]
    fn any_of_and_all_of() {
        let old = json!({ "anyOf": [ { "type": "string" }, { "type": "integer" } ] });
        let new = json!({ "anyOf": [ { "type": "string" } ] });
        assert_eq!(only(REQ, &old, &new), at("/anyOf/1", Breaking));
        assert_eq!(only(RESP, &new, &old), at("/anyOf/1", Breaking));
        // allOf is the other way round: one more constraint narrows.
        let one_c = json!({ "allOf": [ { "minLength": 1 } ] });
        let two_c = json!({ "allOf": [ { "minLength": 1 }, { "maxLength": 9 } ] });
        assert_eq!(only(REQ, &one_c, &two_c), at("/allOf/1", Breaking));
        assert_eq!(only(RESP, &one_c, &two_c), at("/allOf/1", Compatible));
        assert_eq!(only(RESP, &two_c, &one_c), at("/allOf/1", Breaking));
    }

    #[test]
    fn unanalysed_keywords_are_breaking_either_way_unless_equivalent() {
        let old = json!({ "type": "string", "not": { "const": "x" } });
        let new = json!({ "type": "string", "not": { "const": "y" } });
        for kind in ALL {
            assert_eq!(only(kind, &old, &new), at("/not", Breaking));
        }
        let annotated = json!({ "type": "string", "not": { "const": "x", "description": "no x" } });
        none(REQ, &old, &annotated);
    }

    #[test]
    fn headers_follow_the_request_direction() {
        let old = json!({ "type": "object", "properties": { "x-client-tier": { "enum": ["free", "paid"] } } });
        let new = json!({ "type": "object", "properties": { "x-client-tier": { "enum": ["free", "paid", "pro"] } } });
        assert_eq!(
            only(HDR, &old, &new),
            at("/properties/x-client-tier/enum", Compatible)
        );
        assert_eq!(
            only(HDR, &new, &old),
            at("/properties/x-client-tier/enum", Breaking)
        );
    }

    // ----- whole contracts -----

    fn doc<'a>(name: &'a str, version: u32, kind: Kind, schema: &'a Value) -> SchemaDoc<'a> {
        SchemaDoc {
            name,
            version,
            kind,
            schema,
        }
    }

    #[test]
    fn removed_message_is_breaking_and_unbumped() {
        let s = json!({ "type": "object" });
        let report = diff_docs(&[doc("OrderConfirmed", 1, MSG, &s)], &[]);
        assert_eq!(
            report.changes,
            [Change {
                contract: "OrderConfirmed".into(),
                old_version: Some(1),
                new_version: None,
                pointer: String::new(),
                what: "contract removed (message v1 is absent from the new side)".into(),
                compat: Breaking,
            }]
        );
        assert_eq!(report.unbumped_breaking().len(), 1);
        assert!(
            report
                .render()
                .ends_with("\n1 breaking change without a version bump: OrderConfirmed")
        );
    }

    #[test]
    fn added_contract_is_compatible() {
        let s = json!({ "type": "object" });
        let report = diff_docs(&[], &[doc("Reservation", 1, RESP, &s)]);
        assert_eq!(report.changes.len(), 1);
        assert_eq!(report.changes[0].compat, Compatible);
        assert_eq!(report.changes[0].new_version, Some(1));
        assert!(report.unbumped_breaking().is_empty());
        assert!(
            report
                .render()
                .ends_with("\nno breaking change without a version bump")
        );
    }

    #[test]
    fn version_bump_allows_a_breaking_change() {
        let old = object(json!({ "id": {}, "reason": {} }), &["id"]);
        let new = object(json!({ "id": {} }), &["id"]);
        let unbumped = diff_docs(
            &[doc("Order", 1, RESP, &old)],
            &[doc("Order", 1, RESP, &new)],
        );
        assert_eq!(unbumped.unbumped_breaking().len(), 1);
        let bumped = diff_docs(
            &[doc("Order", 1, RESP, &old)],
            &[doc("Order", 2, RESP, &new)],
        );
        assert_eq!(bumped.breaking().len(), 1);
        assert_eq!(bumped.changes[0].pointer, "/properties/reason");
        assert!(bumped.changes[0].version_bumped());
        assert!(bumped.unbumped_breaking().is_empty());
        assert_eq!(
            bumped.render(),
            "BREAKING Order v1 -> v2 /properties/reason: `reason` removed (was optional) (allowed: version bumped)\n\
             1 change: 0 compatible, 1 breaking (1 allowed by a version bump)\n\
             no breaking change without a version bump"
        );
    }

    #[test]
    fn highest_versions_are_compared_and_older_ones_checked_in_place() {
        let v1 = json!({ "type": "object", "properties": { "a": { "maxLength": 5 } } });
        let v1_edited = json!({ "type": "object", "properties": { "a": { "maxLength": 3 } } });
        let v2 = json!({ "type": "object", "properties": { "a": { "maxLength": 9 } } });
        let v3 = json!({ "type": "object", "properties": { "a": { "maxLength": 2 } } });
        let old = [doc("X", 1, REQ, &v1), doc("X", 2, REQ, &v2)];
        let new = [
            doc("X", 3, REQ, &v3),
            doc("X", 1, REQ, &v1_edited),
            doc("X", 2, REQ, &v2),
        ];
        let report = diff_docs(&old, &new);
        let got: Vec<(Option<u32>, Option<u32>, &str, Compat)> = report
            .changes
            .iter()
            .map(|c| (c.old_version, c.new_version, c.pointer.as_str(), c.compat))
            .collect();
        assert_eq!(
            got,
            [
                (Some(2), Some(3), "/properties/a/maxLength", Breaking),
                (Some(1), Some(1), "/properties/a/maxLength", Breaking),
            ]
        );
        // Only the in-place edit of v1 fails.
        let unbumped = report.unbumped_breaking();
        assert_eq!(unbumped.len(), 1);
        assert_eq!(unbumped[0].old_version, Some(1));
    }

    #[test]
    fn kind_change_and_version_going_down_are_breaking() {
        let s = json!({ "type": "object" });
        let report = diff_docs(&[doc("X", 1, REQ, &s)], &[doc("X", 1, RESP, &s)]);
        assert_eq!(report.changes.len(), 1);
        assert_eq!(
            report.changes[0].what,
            "kind changed from request to response"
        );
        assert_eq!(report.changes[0].compat, Breaking);
        let report = diff_docs(&[doc("X", 2, REQ, &s)], &[doc("X", 1, REQ, &s)]);
        assert_eq!(report.unbumped_breaking().len(), 1);
        assert!(
            report.changes[0]
                .what
                .starts_with("latest version went down from v2 to v1")
        );
    }

    #[test]
    fn render_lists_changes_and_ends_with_the_verdict() {
        let old_req = object(json!({ "amount": {}, "currency": {} }), &["amount"]);
        let new_req = object(
            json!({ "amount": {}, "currency": {} }),
            &["amount", "currency"],
        );
        let old_order = object(json!({ "status": { "enum": ["A"] } }), &[]);
        let new_order = object(json!({ "status": { "enum": ["A", "B"] } }), &[]);
        let report = diff_docs(
            &[
                doc("ChargeRequest", 1, REQ, &old_req),
                doc("Order", 1, RESP, &old_order),
            ],
            &[
                doc("ChargeRequest", 1, REQ, &new_req),
                doc("Order", 1, RESP, &new_order),
            ],
        );
        assert_eq!(
            report.render(),
            "BREAKING ChargeRequest v1 -> v1 /properties/currency: `currency` became required (bump the version)\n\
             BREAKING Order v1 -> v1 /properties/status/enum: `status` enum value \"B\" added (bump the version)\n\
             2 changes: 0 compatible, 2 breaking (0 allowed by a version bump)\n\
             2 breaking changes without a version bump: ChargeRequest, Order"
        );
        assert_eq!(
            DiffReport::default().render(),
            "no changes\nno breaking change without a version bump"
        );
    }

    // ----- loading -----

    /// (contract, old version, new version, pointer, compat)
    type Row<'a> = (&'a str, Option<u32>, Option<u32>, &'a str, Compat);

    fn fixture(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/diff")
            .join(rel)
    }

    #[test]
    fn fixture_directories_diff_end_to_end() {
        let old = load_side(&fixture("old"), None).unwrap();
        let new = load_side(&fixture("new"), None).unwrap();
        assert_eq!(old.len(), 5);
        assert_eq!(new.len(), 6);
        let report = diff_owned(&old, &new);
        let got: Vec<Row<'_>> = report
            .changes
            .iter()
            .map(|c| {
                (
                    c.contract.as_str(),
                    c.old_version,
                    c.new_version,
                    c.pointer.as_str(),
                    c.compat,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Charge",
                    Some(1),
                    Some(1),
                    "/properties/currency",
                    Compatible
                ),
                (
                    "ChargeRequest",
                    Some(1),
                    Some(1),
                    "/properties/currency",
                    Breaking
                ),
                ("Order", Some(1), Some(2), "/properties/reason", Breaking),
                ("OrderConfirmed", Some(1), None, "", Breaking),
                ("Reservation", None, Some(1), "", Compatible),
            ]
        );
        let render = report.render();
        assert_eq!(
            render.lines().last().unwrap(),
            "2 breaking changes without a version bump: ChargeRequest, OrderConfirmed",
            "{render}"
        );
        // The index file itself works as well as its directory.
        assert_eq!(load_side(&fixture("new/index.json"), None).unwrap(), new);
    }

    #[test]
    fn single_schema_file_takes_name_and_version_from_id_and_kind_from_the_index() {
        let docs = load_side(&fixture("old/ChargeRequest.v1.json"), None).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(
            (docs[0].name.as_str(), docs[0].version, docs[0].kind),
            ("ChargeRequest", 1, REQ)
        );
        let docs = load_side(&fixture("old/ChargeRequest.v1.json"), Some(Kind::Headers)).unwrap();
        assert_eq!(docs[0].kind, HDR);
        let old = load_side(&fixture("old/ChargeRequest.v1.json"), None).unwrap();
        let new = load_side(&fixture("new/ChargeRequest.v1.json"), None).unwrap();
        assert_eq!(diff_owned(&old, &new).unbumped_breaking().len(), 1);
    }

    #[test]
    fn loading_errors_name_the_file() {
        let dir = fixture("broken/no-index");
        let err = load_side(&dir, None).unwrap_err();
        assert!(matches!(err, DiffError::Io { .. }), "{err:?}");
        assert_eq!(err.path(), dir.join("index.json"));
        assert!(
            err.to_string().starts_with(&format!(
                "{}: cannot read",
                dir.join("index.json").display()
            )),
            "{err}"
        );

        let nowhere = fixture("does-not-exist.json");
        let err = load_side(&nowhere, None).unwrap_err();
        assert_eq!(err.path(), nowhere);

        let err = load_side(&fixture("broken/missing-file"), None).unwrap_err();
        let ghost = fixture("broken/missing-file/Ghost.v1.json");
        assert!(matches!(err, DiffError::Listed { .. }), "{err:?}");
        assert_eq!(err.path(), ghost);
        assert!(err.to_string().contains("listed in"), "{err}");
        assert!(
            err.to_string().contains(&ghost.display().to_string()),
            "{err}"
        );

        let err = load_side(&fixture("broken/invalid-json"), None).unwrap_err();
        let bad = fixture("broken/invalid-json/Bad.v1.json");
        match &err {
            DiffError::Json { path, line, .. } => {
                assert_eq!(path, &bad);
                assert_eq!(*line, 4);
            }
            other => panic!("expected a JSON error, got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with(&format!("{}: invalid JSON at line 4 column", bad.display())),
            "{err}"
        );

        let thing = fixture("broken/no-version/Thing.json");
        let err = load_side(&thing, Some(REQ)).unwrap_err();
        assert_eq!(err.path(), thing);
        assert!(err.to_string().contains("has no version"), "{err}");
        assert!(
            err.to_string().contains(&thing.display().to_string()),
            "{err}"
        );

        let lonely = fixture("broken/no-index/Lonely.v1.json");
        let err = load_side(&lonely, None).unwrap_err();
        assert_eq!(err.path(), lonely);
        assert!(err.to_string().contains("kind unknown"), "{err}");
        assert_eq!(load_side(&lonely, Some(MSG)).unwrap()[0].name, "Lonely");

        let err = load_side(&fixture("broken/id-mismatch"), None).unwrap_err();
        assert_eq!(err.path(), fixture("broken/id-mismatch/Thing.v1.json"));
        assert!(err.to_string().contains("names Thing v2"), "{err}");
    }

    #[test]
    fn contract_ids() {
        assert_eq!(
            parse_id("urn:qalens:contract:ChargeRequest:v12"),
            Ok(("ChargeRequest".into(), 12))
        );
        assert!(
            parse_id("urn:qalens:contract:ChargeRequest")
                .unwrap_err()
                .contains("has no version")
        );
        assert!(
            parse_id("urn:qalens:contract:ChargeRequest:vX")
                .unwrap_err()
                .contains("has no version")
        );
        assert!(
            parse_id("urn:qalens:contract::v1")
                .unwrap_err()
                .contains("no contract name")
        );
        assert!(
            parse_id("https://example.com/x")
                .unwrap_err()
                .contains("not of the form")
        );
    }
}
