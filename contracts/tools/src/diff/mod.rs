//! Breaking-change detection between two versions of the JSON Schema contracts
//! (`qalens contracts diff OLD NEW`).
//!
//! Every difference between an old and a new schema is classified by what it does to the
//! set of instances the schema accepts: it *narrows* it (a property became required, a
//! maximum was lowered), *widens* it (an enum value was added), does *both* (a pattern was
//! replaced by another) or is *neutral* (a new optional property without constraints, or
//! one that only joins `properties` from a pattern that already governed it). Whether that breaks
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
//! The comparison works on plain data ([`SchemaDoc`]), not on compiled registry contracts
//! (an old side need not have examples or compile); [`load_side`] reads a contracts
//! directory, an `index.json` or a single schema file, through the same index loader as the
//! registry ([`crate::index`]).
//!
//! Module map: `report.rs` ([`Change`], [`DiffReport`] and the rendered text), `walk.rs`
//! (the schema walk, `type`, `enum`/`const`, opaque keywords), `combine.rs`
//! (`oneOf`/`anyOf`/`allOf` as unions and intersections), `structure.rs` (object and array
//! keywords, by name and by position), `logic.rs` (`not`, `dependentRequired`,
//! `dependentSchemas`, `contains`, `propertyNames`), `bounds.rs` (numeric bounds and the
//! single-valued keywords, one comparator driven by a keyword table), `refs.rs` (local
//! `$ref` resolution), `draft.rs` (reading drafts 04 to 2020-12), `mode.rs` (a schema
//! registry's compatibility modes), `load.rs` (reading a side).
//!
//! What is compared: `type`, `enum`/`const`, `minimum`/`maximum`/`exclusiveMinimum`/
//! `exclusiveMaximum` (as one effective bound each way, integer-aware), `minLength`/
//! `maxLength`/`minItems`/`maxItems`/`minProperties`/`maxProperties`/`maxContains`,
//! `pattern`, `format`, `multipleOf`, `uniqueItems`, `properties`/`required`/
//! `additionalProperties`/`patternProperties`/`unevaluatedProperties` (a property that
//! leaves or joins `properties` is compared with the schema that governs its name on the
//! other side: a matching pattern, else `additionalProperties` or `unevaluatedProperties`,
//! else `true`; so a typed optional property added to an object that allows unknown
//! properties narrows it, and one removed from it widens it, unless read leniently, see
//! below), `prefixItems`/`items`/
//! `unevaluatedItems` by position (a new `prefixItems` entry is compared with the `items`
//! that governed its position, a removed one with the `items` that governs it now),
//! `oneOf`/`anyOf`/`allOf` as sets (see `combine.rs`: `X` -> `oneOf [X, Y]` widens,
//! singleton `oneOf [X]` is `X`, reordered or duplicated branches are no change),
//! `not` (its schema compared with the effect reversed; `not: {required: [x]}` is read as
//! `properties: {x: false}` on an object), `if`/`then`/`else` (`then` and `else` compared
//! under an unchanged `if`, with their schema's unchanged `type`), `dependentRequired`,
//! `dependentSchemas`, `contains` with `minContains` (default 1), `propertyNames`, and
//! `false`/`true` subschemas anywhere (a property added as `false` to an open object is
//! forbidden now: it narrows), recursively, with local `$ref`s (`#/...`) resolved in their
//! own document. A changed `if`, `$dynamicRef` and `$recursiveRef` are not analysed: any
//! change to them is reported as breaking in both directions. Annotations
//! (`title`, `description`, `examples`, `$comment`, `default`, `deprecated`, `$id`, ...),
//! unused `$defs` and keywords JSON Schema does not define are not changes.
//!
//! Drafts: each document is read by its root `$schema` (draft-04, -06, -07, 2019-09,
//! 2020-12); a document without one is read as 2020-12, where the forms 2020-12 replaced
//! (array `items` with `additionalItems`, `dependencies`, draft-04's boolean
//! `exclusiveMinimum`/`exclusiveMaximum`) keep their earlier meaning. Before 2019-09 a
//! `$ref`'s sibling keywords are ignored; from 2019-09 they are laid over the target.
//! Pointers into a draft-07 tuple are reported as `prefixItems`/`items` (see `draft.rs`).
//!
//! Compatibility modes ([`Mode`], `qalens contracts diff --mode`): a schema registry's
//! names for the same verdicts, which replace each contract's kind when given:
//!
//! | mode | checked against | breaks on | same verdict as the kind |
//! |---|---|---|---|
//! | `BACKWARD` | the latest earlier version | a narrowing (new readers reject old data) | `request`, `headers` |
//! | `FORWARD` | the latest earlier version | a widening (old readers reject new data) | `response`, `message` |
//! | `FULL` | the latest earlier version | a narrowing or a widening | both |
//! | `*_TRANSITIVE` | every earlier version | as above | as above |
//! | `NONE` | - | nothing | - |
//!
//! Under a mode a version bump excuses nothing ([`DiffReport::render_in_mode`]).
//!
//! Open content model: how an optional property added to or removed from an object that
//! allows unknown properties (no `additionalProperties`/`unevaluatedProperties` schema,
//! no pattern matching its name) is read, as [`Options::lenient`] (`qalens contracts diff
//! --lenient`) chooses:
//!
//! | reading | `bar: {type: number}` added | `foo: {type: string}` removed | like the registry's |
//! |---|---|---|---|
//! | exact (default) | narrows (`{bar: "x"}` was valid): breaks `request`, `headers`, `BACKWARD` | widens (`foo` may now hold anything): breaks `response`, `message`, `FORWARD` | default (strict) mode |
//! | lenient | neutral | neutral | lenient mode |
//!
//! The exact reading is the set semantics; the lenient one assumes no party ever put a
//! name the schema did not describe into a payload, which holds for most contracts and
//! is what the registry's lenient mode assumes. Either way an unconstrained property
//! (`{}`) added or removed is neutral, and a required one narrows or widens as
//! `required` does.
//!
//! Where it differs from a schema registry (Confluent Schema Registry's JSON Schema
//! compatibility corpus, measured by `ci/schema-corpus`), deliberately:
//! - Under the lenient reading only properties added to or removed from an open object are
//!   relaxed: `additionalProperties` made `false` or narrower still narrows (senders'
//!   unknown properties are rejected); the registry's lenient mode accepts that too.
//! - A name made `required` that no `properties` entry describes narrows (objects without
//!   it were accepted before); the registry compares only described names.
//! - `additionalItems` without an array `items` does nothing (draft-07 9.3.1.2; 2020-12
//!   has no such keyword), as the JSON Schema validator qalens uses reads it; the
//!   registry's validator applies it to every item.
//! - `oneOf`'s exclusivity is read only from the keyword (`anyOf` -> `oneOf` narrows):
//!   overlapping branches are not detected.

mod bounds;
mod combine;
mod draft;
mod load;
mod logic;
mod mode;
mod refs;
mod report;
mod structure;
#[cfg(test)]
mod tests;
mod walk;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

pub use crate::schema::Kind;
pub use load::{OwnedDoc, load_side};
use mode::Rule;
pub use mode::{Mode, check_history, diff_schemas_in_mode};
pub use report::{Change, Compat, DiffReport};
use walk::Walker;

/// Whether the schema describes what a receiver accepts (true) or what a producer
/// guarantees to its readers (false).
pub(crate) fn describes_receiver(kind: Kind) -> bool {
    matches!(kind, Kind::Request | Kind::Headers)
}

/// One contract version, borrowed: the input of [`diff_docs`].
#[derive(Debug, Clone, Copy)]
pub struct SchemaDoc<'a> {
    pub name: &'a str,
    pub version: u32,
    pub kind: Kind,
    pub schema: &'a Value,
}

/// [`diff_docs`] on what [`load_side`] returned.
pub fn diff_owned(old: &[OwnedDoc], new: &[OwnedDoc]) -> DiffReport {
    let old: Vec<SchemaDoc<'_>> = old.iter().map(OwnedDoc::as_doc).collect();
    let new: Vec<SchemaDoc<'_>> = new.iter().map(OwnedDoc::as_doc).collect();
    diff_docs(&old, &new)
}

/// [`diff_docs_in_mode`] on what [`load_side`] returned.
pub fn diff_owned_in_mode(old: &[OwnedDoc], new: &[OwnedDoc], mode: Mode) -> DiffReport {
    diff_owned_with(old, new, Options::in_mode(mode))
}

/// [`diff_docs_with`] on what [`load_side`] returned.
pub fn diff_owned_with(old: &[OwnedDoc], new: &[OwnedDoc], options: Options) -> DiffReport {
    let old: Vec<SchemaDoc<'_>> = old.iter().map(OwnedDoc::as_doc).collect();
    let new: Vec<SchemaDoc<'_>> = new.iter().map(OwnedDoc::as_doc).collect();
    diff_docs_with(&old, &new, options)
}

/// How a diff judges changes; the default is each contract's kind and the exact reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// A schema registry's compatibility mode that replaces each contract's kind (see
    /// [`diff_docs_in_mode`]).
    pub mode: Option<Mode>,
    /// The registry's lenient reading (`qalens contracts diff --lenient`): an optional
    /// property added to or removed from an object that allows unknown properties (no
    /// `additionalProperties`/`unevaluatedProperties` schema and no `patternProperties`
    /// matching its name) is neutral. By default it is compared with the `true` schema
    /// that governed (governs) the name on the other side: added with a type, it narrows;
    /// removed, whatever constrained it is lifted, a widening.
    pub lenient: bool,
}

impl Options {
    /// Judged by `mode`, read exactly.
    pub fn in_mode(mode: Mode) -> Self {
        Options {
            mode: Some(mode),
            lenient: false,
        }
    }
}

/// [`diff_docs`] with every change judged by a registry's compatibility `mode` instead of
/// the contract's kind (see [`Mode`]); a removed contract, a kind change and a latest
/// version going down still break, except under [`Mode::None`]. A transitive mode also compares each contract's
/// latest new version with every earlier version either side holds (the old side's copy
/// when both do). Render it with [`DiffReport::render_in_mode`]: under a mode a version
/// bump does not excuse a breaking change.
pub fn diff_docs_in_mode(old: &[SchemaDoc<'_>], new: &[SchemaDoc<'_>], mode: Mode) -> DiffReport {
    diff_docs_with(old, new, Options::in_mode(mode))
}

/// Compares two sides, matching contracts by name. When a name has several versions the
/// highest old and new versions are compared; older versions present on both sides are
/// compared with themselves too (an in-place edit of v1 after v2 exists is caught). A
/// contract removed is breaking, a contract added is compatible, a kind change is
/// breaking, and so is a latest version that went down. If one side lists the same
/// (name, version) twice the later entry wins.
pub fn diff_docs(old: &[SchemaDoc<'_>], new: &[SchemaDoc<'_>]) -> DiffReport {
    diff_docs_with(old, new, Options::default())
}

/// [`diff_docs`], or [`diff_docs_in_mode`] when `options.mode` is set, read leniently
/// when `options.lenient` is (see [`Options`]).
pub fn diff_docs_with(
    old: &[SchemaDoc<'_>],
    new: &[SchemaDoc<'_>],
    options: Options,
) -> DiffReport {
    let mode = options.mode;
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
                compare_pair(old_doc, new_doc, options, &mut changes);
                let (Some(old_versions), Some(new_versions)) = (old_versions, new_versions) else {
                    continue;
                };
                if mode.is_some_and(Mode::transitive) {
                    let earlier: BTreeSet<u32> = old_versions
                        .keys()
                        .chain(new_versions.keys())
                        .copied()
                        .filter(|&v| v < new_v && v != old_v)
                        .collect();
                    for v in earlier {
                        if let Some(doc) = old_versions.get(&v).or_else(|| new_versions.get(&v)) {
                            compare_pair(doc, new_doc, options, &mut changes);
                        }
                    }
                }
                for (&version, doc) in old_versions {
                    match new_versions.get(&version) {
                        Some(same) if (version, version) != (old_v, new_v) => {
                            compare_pair(doc, same, options, &mut changes)
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
    if mode == Some(Mode::None) {
        // NONE checks nothing, removals included.
        for change in &mut changes {
            change.compat = Compat::Compatible;
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

fn compare_pair(
    old: &SchemaDoc<'_>,
    new: &SchemaDoc<'_>,
    options: Options,
    changes: &mut Vec<Change>,
) {
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
    let rule = options.mode.map_or(Rule::Kind(new.kind), Rule::Mode);
    let reading = Reading {
        lenient_added: options.lenient,
        lenient_removed: options.lenient,
    };
    changes.extend(schema_changes(
        new.name,
        rule,
        reading,
        Some(old.version),
        Some(new.version),
        old.schema,
        new.schema,
    ));
}

/// Compares two schemas of one contract (single-file mode); the changes carry no versions,
/// so every breaking one counts as unbumped.
pub fn diff_schemas(name: &str, kind: Kind, old: &Value, new: &Value) -> Vec<Change> {
    diff_schemas_with(name, kind, Options::default(), old, new)
}

/// [`diff_schemas`] with [`Options`]: judged by `options.mode` when set, else by `kind`.
pub fn diff_schemas_with(
    name: &str,
    kind: Kind,
    options: Options,
    old: &Value,
    new: &Value,
) -> Vec<Change> {
    let rule = options.mode.map_or(Rule::Kind(kind), Rule::Mode);
    let reading = Reading {
        lenient_added: options.lenient,
        lenient_removed: options.lenient,
    };
    schema_changes(name, rule, reading, None, None, old, new)
}

/// [`diff_schemas`] by the convention of OpenAPI breaking-change checkers: a party sends
/// only the properties a document describes, so an optional property added to an open
/// object is neutral (as [`Options::lenient`] reads it), while a reader may rely on every
/// property described, so one removed is compared exactly (whatever constrained it is
/// lifted, a widening that breaks a response).
pub fn diff_schemas_documented(name: &str, kind: Kind, old: &Value, new: &Value) -> Vec<Change> {
    let reading = Reading {
        lenient_added: true,
        lenient_removed: false,
    };
    schema_changes(name, Rule::Kind(kind), reading, None, None, old, new)
}

/// Which optional properties of an open object are read leniently (see [`Options`]).
#[derive(Debug, Clone, Copy)]
struct Reading {
    lenient_added: bool,
    lenient_removed: bool,
}

impl Reading {
    /// Both compared exactly.
    const EXACT: Reading = Reading {
        lenient_added: false,
        lenient_removed: false,
    };
}

fn schema_changes(
    name: &str,
    rule: Rule,
    reading: Reading,
    old_version: Option<u32>,
    new_version: Option<u32>,
    old: &Value,
    new: &Value,
) -> Vec<Change> {
    let (old, new) = (&draft::normalize(old), &draft::normalize(new));
    let mut walker = Walker::new(old, new);
    walker.lenient_added = reading.lenient_added;
    walker.lenient_removed = reading.lenient_removed;
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
            compat: rule.compat(f.effect),
        })
        .collect()
}
