use super::*;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::index::{ContractError, parse_id};

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
    let changes = diff(REQ, &old, &new);
    let c = &changes[0];
    assert_eq!(
        (c.pointer.as_str(), c.compat),
        ("/properties/currency", Breaking)
    );
    assert_eq!(c.what, "`currency` added as a required property");
    // And any value was accepted under that name before: its type narrows too.
    assert_eq!(
        changes[1..]
            .iter()
            .map(|c| (c.pointer.as_str(), c.compat))
            .collect::<Vec<_>>(),
        [("/properties/currency/type", Breaking)]
    );
    assert_eq!(verdicts(&old, &new), NARROWS);
}

#[test]
fn new_optional_request_field_is_compatible() {
    // Unconstrained, in an open object: it accepted any value under that name before too.
    let old = object(json!({ "a": {} }), &["a"]);
    let new = object(json!({ "a": {}, "note": {} }), &["a"]);
    let c = one(REQ, &old, &new);
    assert_eq!(
        (c.pointer.as_str(), c.compat),
        ("/properties/note", Compatible)
    );
    assert_eq!(c.what, "`note` added as an optional property");
    // Typed, when the request schema had additionalProperties false: it accepts more now.
    let mut strict_old = old.clone();
    strict_old["additionalProperties"] = json!(false);
    let mut strict_new = new.clone();
    strict_new["additionalProperties"] = json!(false);
    strict_new["properties"]["note"] = json!({ "type": "string" });
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
    // The object allows unknown properties: `reason` may now hold any value.
    let old = object(json!({ "id": {}, "reason": { "type": "string" } }), &["id"]);
    let new = object(json!({ "id": {} }), &["id"]);
    for kind in [RESP, MSG] {
        let changes = diff(kind, &old, &new);
        let got: Vec<(&str, &str, Compat)> = changes
            .iter()
            .map(|c| (c.pointer.as_str(), c.what.as_str(), c.compat))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/properties/reason",
                    "`reason` removed (was optional)",
                    Compatible
                ),
                (
                    "/properties/reason/type",
                    "`reason` type restriction removed (was string)",
                    Breaking
                ),
            ]
        );
    }
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

// ----- open content model: exact by default, the registry's lenient reading on request -----

const LENIENT: Options = Options {
    mode: None,
    lenient: true,
};

/// (pointer, compat) of every change, read exactly or leniently.
fn read(kind: Kind, lenient: bool, old: &Value, new: &Value) -> Vec<(String, Compat)> {
    let options = if lenient { LENIENT } else { Options::default() };
    diff_schemas_with("T", kind, options, old, new)
        .into_iter()
        .map(|c| (c.pointer, c.compat))
        .collect()
}

#[test]
fn optional_property_added_to_an_open_object_narrows_unless_read_leniently() {
    // The registry's "Detect property added to open content model": `{bar: "x"}` was
    // valid, now it is not.
    let old = json!({ "properties": { "foo": { "type": "string" } } });
    let new = json!({ "properties": { "foo": { "type": "string" }, "bar": { "type": "number" } } });
    // Absent, `true` and an annotation-only schema all allow unknown properties.
    for extra in [
        None,
        Some(json!(true)),
        Some(json!({ "description": "any" })),
    ] {
        let (mut old, mut new) = (old.clone(), new.clone());
        if let Some(extra) = extra {
            old["additionalProperties"] = extra.clone();
            new["additionalProperties"] = extra;
        }
        let exact = |compat| {
            vec![
                at("/properties/bar", Compatible),
                at("/properties/bar/type", compat),
            ]
        };
        assert_eq!(read(REQ, false, &old, &new), exact(Breaking), "{old}");
        assert_eq!(read(HDR, false, &old, &new), exact(Breaking), "{old}");
        assert_eq!(read(RESP, false, &old, &new), exact(Compatible), "{old}");
        assert_eq!(read(MSG, false, &old, &new), exact(Compatible), "{old}");
        for kind in ALL {
            assert_eq!(
                read(kind, true, &old, &new),
                [at("/properties/bar", Compatible)],
                "{kind} {old}"
            );
        }
    }
    // Under a mode: BACKWARD rejects it, FORWARD accepts it; leniently both accept it.
    let in_mode = |mode, lenient| {
        diff_schemas_with(
            "T",
            REQ,
            Options {
                mode: Some(mode),
                lenient,
            },
            &old,
            &new,
        )
        .iter()
        .all(|c| c.compat == Compatible)
    };
    assert!(!in_mode(Mode::Backward, false));
    assert!(in_mode(Mode::Forward, false));
    assert!(!in_mode(Mode::Full, false));
    assert!(in_mode(Mode::Backward, true));
    assert!(in_mode(Mode::Full, true));
    // Unconstrained, it changes nothing either way.
    let any = json!({ "properties": { "foo": { "type": "string" }, "bar": {} } });
    assert_eq!(verdicts(&old, &any), (true, true));
    // A required one narrows in both readings.
    let mut required = new.clone();
    required["required"] = json!(["bar"]);
    assert_eq!(
        read(REQ, true, &old, &required),
        [
            at("/properties/bar", Breaking),
            at("/properties/bar/type", Breaking)
        ]
    );
}

#[test]
fn optional_property_removed_from_an_open_object_widens_unless_read_leniently() {
    // `foo` may now hold any value: readers that relied on a string break.
    let old = json!({ "type": "object", "properties": { "id": {}, "foo": { "type": "string", "maxLength": 3 } } });
    let new = json!({ "type": "object", "properties": { "id": {} } });
    let exact = |compat| {
        vec![
            at("/properties/foo", Compatible),
            at("/properties/foo/type", compat),
            at("/properties/foo/maxLength", compat),
        ]
    };
    assert_eq!(read(REQ, false, &old, &new), exact(Compatible));
    assert_eq!(read(HDR, false, &old, &new), exact(Compatible));
    assert_eq!(read(RESP, false, &old, &new), exact(Breaking));
    assert_eq!(read(MSG, false, &old, &new), exact(Breaking));
    for kind in ALL {
        assert_eq!(
            read(kind, true, &old, &new),
            [at("/properties/foo", Compatible)],
            "{kind}"
        );
    }
    // The registry's "Detect changes to remove properties": foo removed, bar added.
    let renamed =
        json!({ "type": "object", "properties": { "id": {}, "bar": { "type": "string" } } });
    assert_eq!(verdicts(&old, &renamed), BOTH);
    let lenient = |kind| {
        read(kind, true, &old, &renamed)
            .iter()
            .all(|(_, c)| *c == Compatible)
    };
    assert!(lenient(REQ) && lenient(RESP));
    // An unconstrained one removed changes nothing, in a response too.
    let old_any = json!({ "type": "object", "properties": { "id": {}, "foo": {} } });
    assert_eq!(
        read(RESP, false, &old_any, &new),
        [at("/properties/foo", Compatible)]
    );
    // A required one removed widens in both readings.
    let mut required = old.clone();
    required["required"] = json!(["foo"]);
    assert_eq!(
        read(RESP, true, &required, &new),
        [
            at("/properties/foo", Breaking),
            at("/properties/foo/type", Breaking),
            at("/properties/foo/maxLength", Breaking)
        ]
    );
}

#[test]
fn the_lenient_reading_leaves_partly_open_and_closed_objects_exact() {
    // additionalProperties as a schema: compared with it in both readings.
    let old = json!({ "properties": { "foo": {} }, "additionalProperties": { "type": "string" } });
    let new = json!({ "properties": { "foo": {}, "bar": { "type": "number" } }, "additionalProperties": { "type": "string" } });
    for lenient in [false, true] {
        assert!(
            read(RESP, lenient, &old, &new)
                .iter()
                .any(|(p, c)| p == "/properties/bar/type" && *c == Breaking),
            "lenient {lenient}"
        );
    }
    // Closed: a property added is a widening, whatever the reading.
    let closed_old = json!({ "properties": { "foo": {} }, "additionalProperties": false });
    let closed_new = json!({ "properties": { "foo": {}, "bar": { "type": "number" } }, "additionalProperties": false });
    for lenient in [false, true] {
        assert_eq!(
            read(RESP, lenient, &closed_old, &closed_new),
            [at("/properties/bar", Breaking)]
        );
    }
    // A pattern governs the name: compared with it in both readings.
    let pat_old = json!({ "patternProperties": { "^b": { "type": "string" } } });
    let pat_new = json!({ "properties": { "bar": { "type": "number" } }, "patternProperties": { "^b": { "type": "string" } } });
    assert!(!verdicts_with(false, &pat_old, &pat_new).0);
    assert_eq!(
        verdicts_with(true, &pat_old, &pat_new),
        verdicts_with(false, &pat_old, &pat_new)
    );
}

/// [`verdicts`] under either reading.
fn verdicts_with(lenient: bool, old: &Value, new: &Value) -> (bool, bool) {
    let ok = |kind| {
        read(kind, lenient, old, new)
            .iter()
            .all(|(_, c)| *c == Compatible)
    };
    (ok(REQ), ok(RESP))
}

#[test]
fn diff_docs_with_reads_leniently() {
    let old = object(json!({ "id": {}, "note": { "type": "string" } }), &["id"]);
    let new = object(json!({ "id": {}, "tag": { "type": "string" } }), &["id"]);
    let (old_docs, new_docs) = ([doc("Order", 1, RESP, &old)], [doc("Order", 1, RESP, &new)]);
    assert_eq!(diff_docs(&old_docs, &new_docs).unbumped_breaking().len(), 1);
    assert!(
        diff_docs_with(&old_docs, &new_docs, LENIENT)
            .unbumped_breaking()
            .is_empty()
    );
    let backward = Options {
        mode: Some(Mode::Backward),
        lenient: true,
    };
    assert!(
        diff_docs_with(&old_docs, &new_docs, backward)
            .breaking()
            .is_empty()
    );
    assert_eq!(
        diff_docs_in_mode(&old_docs, &new_docs, Mode::Backward)
            .breaking()
            .len(),
        1
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
    let new =
        json!({ "type": "object", "additionalProperties": { "type": "string", "maxLength": 8 } });
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
    // Each position is compared with what governed it before: here no `items`, so
    // anything.
    assert_eq!(
        only(REQ, &one_item, &two_items),
        at("/prefixItems/1/type", Breaking)
    );
    assert_eq!(
        only(RESP, &two_items, &one_item),
        at("/prefixItems/1/type", Breaking)
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
            .all(|c| c.pointer == "/$defs/Node/properties/name/maxLength" && c.compat == Breaking),
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
    // Wallet, the closest branch, constrains `wallet`, which an Iban object could hold
    // with any value.
    assert_eq!(
        c.what,
        "`method` oneOf branch 1 (#/$defs/Iban) removed (closest: `method.wallet` type restricted to string (was unrestricted))"
    );
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
    // Branches that do not interfere are merged into one schema first.
    assert_eq!(only(REQ, &one_c, &two_c), at("/maxLength", Breaking));
    assert_eq!(only(RESP, &one_c, &two_c), at("/maxLength", Compatible));
    assert_eq!(only(RESP, &two_c, &one_c), at("/maxLength", Breaking));
}

#[test]
fn unanalysed_keywords_are_breaking_either_way_unless_equivalent() {
    let old = json!({ "type": "string", "if": { "const": "x" }, "then": { "minLength": 2 } });
    let new = json!({ "type": "string", "if": { "const": "y" }, "then": { "minLength": 2 } });
    for kind in ALL {
        assert_eq!(only(kind, &old, &new), at("/if", Breaking));
    }
    let annotated = json!({ "type": "string", "if": { "const": "x", "description": "x" }, "then": { "minLength": 2 } });
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
    let old = object(json!({ "id": {}, "reason": {} }), &["id", "reason"]);
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
        "BREAKING Order v1 -> v2 /properties/reason: `reason` removed (was required) (allowed: version bumped)\n\
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
                "Charge",
                Some(1),
                Some(1),
                "/properties/currency/type",
                Compatible
            ),
            (
                "Charge",
                Some(1),
                Some(1),
                "/properties/currency/enum",
                Compatible
            ),
            (
                "ChargeRequest",
                Some(1),
                Some(1),
                "/properties/currency",
                Breaking
            ),
            ("Order", Some(1), Some(2), "/properties/reason", Compatible),
            (
                "Order",
                Some(1),
                Some(2),
                "/properties/reason/type",
                Breaking
            ),
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
    assert!(matches!(err, ContractError::Io { .. }), "{err:?}");
    assert_eq!(err.path(), Some(dir.join("index.json").as_path()));
    assert!(
        err.to_string().starts_with(&format!(
            "{}: cannot read",
            dir.join("index.json").display()
        )),
        "{err}"
    );

    let nowhere = fixture("does-not-exist.json");
    let err = load_side(&nowhere, None).unwrap_err();
    assert_eq!(err.path(), Some(nowhere.as_path()));

    let err = load_side(&fixture("broken/missing-file"), None).unwrap_err();
    let ghost = fixture("broken/missing-file/Ghost.v1.json");
    assert!(matches!(err, ContractError::Listed { .. }), "{err:?}");
    assert_eq!(err.path(), Some(ghost.as_path()));
    assert!(err.to_string().contains("listed in"), "{err}");
    assert!(
        err.to_string().contains(&ghost.display().to_string()),
        "{err}"
    );

    let err = load_side(&fixture("broken/invalid-json"), None).unwrap_err();
    let bad = fixture("broken/invalid-json/Bad.v1.json");
    match &err {
        ContractError::Json { path, line, .. } => {
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
    assert_eq!(err.path(), Some(thing.as_path()));
    assert!(err.to_string().contains("has no version"), "{err}");
    assert!(
        err.to_string().contains(&thing.display().to_string()),
        "{err}"
    );

    let lonely = fixture("broken/no-index/Lonely.v1.json");
    let err = load_side(&lonely, None).unwrap_err();
    assert_eq!(err.path(), Some(lonely.as_path()));
    assert!(err.to_string().contains("kind unknown"), "{err}");
    assert_eq!(load_side(&lonely, Some(MSG)).unwrap()[0].name, "Lonely");

    let err = load_side(&fixture("broken/id-mismatch"), None).unwrap_err();
    assert_eq!(
        err.path(),
        Some(fixture("broken/id-mismatch/Thing.v1.json").as_path())
    );
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

#[test]
fn single_valued_keywords_keep_their_messages_and_effects() {
    // (keyword, old value, new value, kind, expected what, expected compat); "-" is absent.
    #[rustfmt::skip]
    let cases = [
        ("minLength", "1", "3", REQ, "minLength raised from 1 to 3", Breaking),
        ("minItems", "3", "2.0", REQ, "minItems lowered from 3 to 2", Compatible),
        ("minProperties", "-", "2", RESP, "minProperties 2 added", Compatible),
        ("minLength", "4", "-", RESP, "minLength 4 removed", Breaking),
        ("minLength", "0", "2", REQ, "minLength raised from 0 to 2", Breaking),
        ("maxLength", "64", "32", REQ, "maxLength lowered from 64 to 32", Breaking),
        ("maxItems", "10", "20", REQ, "maxItems raised from 10 to 20", Compatible),
        ("maxProperties", "-", "0", REQ, "maxProperties 0 added", Breaking),
        ("maxLength", "5", "-", RESP, "maxLength 5 removed", Breaking),
        ("pattern", r#""^a$""#, r#""^b$""#, RESP, r#"pattern changed from "^a$" to "^b$""#, Breaking),
        ("format", "-", r#""uuid""#, REQ, r#"format "uuid" added"#, Breaking),
        ("format", r#""uuid""#, "-", REQ, r#"format "uuid" removed"#, Compatible),
        ("multipleOf", "1", "5", RESP, "multipleOf changed from 1 to 5", Compatible),
        ("multipleOf", "5", "1", RESP, "multipleOf changed from 5 to 1", Breaking),
        ("multipleOf", "5", "3", REQ, "multipleOf changed from 5 to 3", Breaking),
        ("multipleOf", r#""x""#, "0.5", REQ, "multipleOf 0.5 added", Breaking),
        ("multipleOf", "2.5", "-", RESP, "multipleOf 2.5 removed", Breaking),
    ];
    let schema = |kw: &str, value: &str| match value {
        "-" => json!({}),
        text => json!({ kw: serde_json::from_str::<Value>(text).expect("json") }),
    };
    for (kw, old, new, kind, what, compat) in cases {
        let c = one(kind, &schema(kw, old), &schema(kw, new));
        assert_eq!(
            (c.what.as_str(), c.compat),
            (what, compat),
            "{kw}: {old} -> {new}"
        );
    }
    // No change: equal values, 0 and absent minimum counts, 1 and 1.0, unreadable counts.
    for (old, new) in [
        (json!({"minLength": 0}), json!({})),
        (json!({"maxItems": 3}), json!({"maxItems": 3.0})),
        (json!({"pattern": "^a$"}), json!({"pattern": "^a$"})),
        (json!({"multipleOf": 1}), json!({"multipleOf": 1.0})),
        (json!({"minLength": -1}), json!({})),
    ] {
        none(REQ, &old, &new);
    }
}

#[test]
fn a_side_may_carry_index_keys_this_version_does_not_know() {
    let dir = std::env::temp_dir().join(format!("qalens-diff-unknown-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.json"),
        r#"{"contracts": [{"name": "A", "version": 1, "kind": "request", "file": "A.v1.json",
            "owner": "qa"}], "generated": true}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("A.v1.json"),
        r#"{"$id": "urn:qalens:contract:A:v1"}"#,
    )
    .unwrap();
    let loaded = load_side(&dir, None);
    let registry = crate::schema::Registry::load_dir(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(loaded.unwrap()[0].name, "A");
    // The registry, which defines the format, refuses them.
    assert!(
        registry
            .unwrap_err()
            .to_string()
            .contains("unknown field `generated`")
    );
}

// ----- as a schema registry decides (issue 25) -----

/// Whether the request (BACKWARD) and response (FORWARD) verdicts are compatible.
#[track_caller]
fn verdicts(old: &Value, new: &Value) -> (bool, bool) {
    let ok = |kind| diff(kind, old, new).iter().all(|c| c.compat == Compatible);
    (ok(REQ), ok(RESP))
}

const WIDENS: (bool, bool) = (true, false);
const NARROWS: (bool, bool) = (false, true);
const BOTH: (bool, bool) = (false, false);

#[test]
fn a_type_that_becomes_one_branch_of_a_union_widens() {
    let old = json!({ "type": "string", "maxLength": 3 });
    for kw in ["oneOf", "anyOf"] {
        let new = json!({ kw: [ { "type": "number" }, { "type": "string" } ] });
        assert_eq!(verdicts(&old, &new), WIDENS, "{kw}");
        let c = one(REQ, &json!({ "type": "string" }), &new);
        assert_eq!(c.pointer, format!("/{kw}/0"));
        assert_eq!(c.what, format!("{kw} branch 0 (type number) added"));
        assert_eq!(verdicts(&new, &old), NARROWS, "{kw} back");
    }
    // No branch covers the old schema: both ways.
    let new = json!({ "oneOf": [ { "type": "number" }, { "type": "boolean" } ] });
    assert_eq!(verdicts(&old, &new), BOTH);
}

#[test]
fn singleton_one_of_and_all_of_are_the_schema_itself() {
    let plain = json!({ "type": "string", "minLength": 1 });
    for kw in ["oneOf", "anyOf", "allOf"] {
        let wrapped = json!({ kw: [ { "type": "string", "minLength": 1 } ] });
        none(REQ, &plain, &wrapped);
        none(RESP, &wrapped, &plain);
    }
    none(
        REQ,
        &json!({ "oneOf": [ { "type": "string" } ] }),
        &json!({ "allOf": [ { "type": "string" } ] }),
    );
}

#[test]
fn reordered_and_duplicated_branches_are_no_change() {
    let old = json!({ "oneOf": [ { "type": "string" }, { "type": "object", "required": ["a"] } ] });
    let reordered =
        json!({ "oneOf": [ { "type": "object", "required": ["a"] }, { "type": "string" } ] });
    let duplicated = json!({ "oneOf": [ { "type": "string" }, { "type": "object", "required": ["a"] }, { "type": "string" } ] });
    for kind in ALL {
        none(kind, &old, &reordered);
        none(kind, &old, &duplicated);
    }
    let all_old = json!({ "allOf": [ { "enum": ["a", "b", "c"] }, { "type": "string" }, { "maxLength": 5 } ] });
    let all_new = json!({ "allOf": [ { "maxLength": 5 }, { "type": "string" }, { "enum": ["a", "b", "c"] }, { "type": "string" } ] });
    none(REQ, &all_old, &all_new);
}

#[test]
fn branches_are_paired_by_what_they_accept_when_their_number_changes() {
    let old = json!({ "oneOf": [ { "type": "string", "maxLength": 5 } ] });
    let new = json!({ "oneOf": [ { "type": "boolean" }, { "type": "number" }, { "title": "s", "type": "string", "maxLength": 8 } ] });
    let changes = diff(REQ, &old, &new);
    let pointers: Vec<&str> = changes.iter().map(|c| c.pointer.as_str()).collect();
    assert_eq!(pointers, ["/oneOf/2/maxLength", "/oneOf/0", "/oneOf/1"]);
    assert_eq!(verdicts(&old, &new), WIDENS);
    // A branch that now accepts less is not covered: narrowing at that branch.
    let tighter =
        json!({ "oneOf": [ { "type": "boolean" }, { "type": "string", "maxLength": 2 } ] });
    assert_eq!(verdicts(&old, &tighter), BOTH);
    let c = diff(REQ, &old, &tighter)
        .into_iter()
        .find(|c| c.compat == Breaking)
        .unwrap();
    assert!(
        c.what.contains("maxLength lowered from 5 to 2"),
        "{}",
        c.what
    );
}

#[test]
fn a_branch_gaining_an_optional_property_still_pairs_with_its_old_self() {
    let old = payment(json!([{ "$ref": "#/$defs/Card" }, { "$ref": "#/$defs/Iban" }]));
    let mut new = old.clone();
    new["$defs"]["Card"]["properties"]["expiry"] = json!({});
    let c = one(REQ, &old, &new);
    assert_eq!(c.compat, Compatible);
    assert!(
        c.what
            .contains("`method.expiry` added as an optional property")
    );
    // Typed, it narrows the open branch: no new branch covers the old one.
    new["$defs"]["Card"]["properties"]["expiry"] = json!({ "type": "string" });
    let c = one(REQ, &old, &new);
    assert_eq!(c.compat, Breaking);
    assert_eq!(
        c.what,
        "`method` oneOf branch 0 (#/$defs/Card) removed (closest: `method.expiry` type restricted to string (was unrestricted))"
    );
    assert_eq!(verdicts(&old, &new), NARROWS);
    // Read leniently, it pairs.
    let lenient = Options {
        lenient: true,
        ..Options::default()
    };
    let changes = diff_schemas_with("T", REQ, lenient, &old, &new);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].compat, Compatible);
    assert!(
        changes[0]
            .what
            .contains("`method.expiry` added as an optional property")
    );
}

#[test]
fn one_of_and_any_of_exclusivity() {
    let any = json!({ "anyOf": [ { "type": "string" }, { "maxLength": 3 } ] });
    let one_of = json!({ "oneOf": [ { "type": "string" }, { "maxLength": 3 } ] });
    assert_eq!(only(REQ, &any, &one_of), at("/oneOf", Breaking));
    assert_eq!(only(RESP, &any, &one_of), at("/oneOf", Compatible));
    assert_eq!(only(REQ, &one_of, &any), at("/anyOf", Compatible));
}

#[test]
fn a_union_with_sibling_keywords_distributes_them_into_its_branches() {
    let base = json!({ "type": "object", "properties": { "a": { "type": "string" }, "b": { "type": "string" } } });
    let mut either = base.clone();
    either["oneOf"] = json!([ { "required": ["a"] }, { "required": ["b"] } ]);
    let mut only_a = base.clone();
    only_a["required"] = json!(["a"]);
    // Requiring a where a or b was enough narrows; the reverse widens.
    assert_eq!(verdicts(&either, &only_a), NARROWS);
    assert_eq!(verdicts(&only_a, &either), WIDENS);
}

#[test]
fn an_unsatisfiable_all_of_is_the_false_schema() {
    let nothing = json!({ "allOf": [ { "type": "number" }, { "type": "string" } ] });
    let strings = json!({ "anyOf": [ { "type": "string" } ] });
    let c = one(REQ, &nothing, &strings);
    assert_eq!(c.compat, Compatible);
    assert!(c.what.contains("it was the `false` schema"), "{}", c.what);
    // integer and number intersect in integer.
    none(
        REQ,
        &json!({ "allOf": [ { "type": "number" }, { "type": "integer" } ] }),
        &json!({ "type": "integer" }),
    );
}

#[test]
fn all_of_branches_that_cannot_merge_pair_in_any_order() {
    let defs = json!({ "A": { "type": "object", "properties": { "x": { "type": "string" } } } });
    let old = json!({ "$defs": defs, "allOf": [ { "$ref": "#/$defs/A" }, { "properties": { "y": { "type": "integer" } } } ] });
    let new = json!({ "$defs": defs, "allOf": [ { "properties": { "y": { "type": "integer" } } }, { "$ref": "#/$defs/A" } ] });
    for kind in ALL {
        none(kind, &old, &new);
    }
    let narrower = json!({ "$defs": defs, "allOf": [ { "properties": { "y": { "type": "integer", "maximum": 9 } } }, { "$ref": "#/$defs/A" } ] });
    // The `properties` branch merges into the schema; the `$ref` one stays a branch.
    assert_eq!(
        only(REQ, &old, &narrower),
        at("/properties/y/maximum", Breaking)
    );
    let defs_b = json!({ "A": { "type": "object", "properties": { "x": { "type": "string", "maxLength": 2 } } } });
    let mut inner = old.clone();
    inner["$defs"] = defs_b;
    assert_eq!(
        only(REQ, &old, &inner),
        at("/$defs/A/properties/x/maxLength", Breaking)
    );
}

#[test]
fn a_new_prefix_item_is_compared_with_the_items_that_governed_its_position() {
    let old = json!({ "type": "array", "prefixItems": [ { "type": "string" } ], "items": { "type": "number" } });
    let same = json!({ "type": "array", "prefixItems": [ { "type": "string" }, { "type": "number" } ], "items": { "type": "number" } });
    none(REQ, &old, &same);
    let narrower = json!({ "type": "array", "prefixItems": [ { "type": "string" }, { "type": "integer" } ], "items": { "type": "number" } });
    assert_eq!(
        only(REQ, &old, &narrower),
        at("/prefixItems/1/type", Breaking)
    );
    // `items: false` closed the array: a new position widens, a `false` one is no change.
    let closed = json!({ "prefixItems": [ { "type": "number" } ], "items": false });
    let one_more =
        json!({ "prefixItems": [ { "type": "number" }, { "type": "string" } ], "items": false });
    let with_false = json!({ "prefixItems": [ { "type": "number" }, false ], "items": false });
    assert_eq!(verdicts(&closed, &one_more), WIDENS);
    none(REQ, &closed, &with_false);
    none(RESP, &closed, &with_false);
    let open = json!({ "prefixItems": [ { "type": "number" } ], "items": true });
    let with_true = json!({ "prefixItems": [ { "type": "number" }, true ], "items": true });
    none(REQ, &open, &with_true);
}

#[test]
fn a_removed_prefix_item_falls_under_items() {
    let old = json!({ "prefixItems": [ { "type": "string" }, { "type": "number" } ], "items": { "type": "string" } });
    let new = json!({ "prefixItems": [ { "type": "string" } ], "items": { "type": "string" } });
    assert_eq!(only(REQ, &old, &new), at("/items/type", Breaking));
    let covered = json!({ "prefixItems": [ { "type": "string" } ], "items": { "type": ["string", "number"] } });
    assert_eq!(verdicts(&old, &covered), WIDENS);
}

#[test]
fn unevaluated_items_and_properties_govern_like_items_and_additional_properties() {
    let old = json!({ "prefixItems": [ { "type": "string" } ], "unevaluatedItems": { "type": "string" } });
    let new = json!({ "prefixItems": [ { "type": "string" }, { "type": "string" } ], "unevaluatedItems": { "type": "string" } });
    none(REQ, &old, &new);
    let old = json!({ "properties": { "foo": { "type": "string" } }, "unevaluatedProperties": { "type": "string" } });
    let new = json!({ "properties": { "foo": { "type": "string" }, "bar": { "type": "number" } }, "unevaluatedProperties": { "type": "string" } });
    assert_eq!(verdicts(&old, &new), BOTH);
    let old =
        json!({ "additionalProperties": true, "unevaluatedProperties": { "type": "string" } });
    let new = json!({ "additionalProperties": true, "unevaluatedProperties": false });
    assert_eq!(verdicts(&old, &new), NARROWS);
}

#[test]
fn a_property_leaving_a_closed_object_may_fall_under_pattern_properties() {
    let old = json!({ "properties": { "foo": { "type": "string" }, "I_1": { "type": "integer" } }, "additionalProperties": false });
    let covered = json!({ "properties": { "foo": { "type": "string" } }, "additionalProperties": false,
        "patternProperties": { "^S_": { "type": "string" }, "^I_": { "type": "number" } } });
    assert_eq!(verdicts(&old, &covered), WIDENS);
    let narrower = json!({ "properties": { "foo": { "type": "string" } }, "additionalProperties": false,
        "patternProperties": { "^I_": { "type": "integer", "maximum": 5 } } });
    assert!(!verdicts(&old, &narrower).0);
    // Not matched by any pattern: rejected now, which narrows (a reader never minds).
    let gone =
        json!({ "properties": { "foo": { "type": "string" } }, "additionalProperties": false });
    assert_eq!(verdicts(&old, &gone), NARROWS);
    // A property whose schema was `false` could not be sent before either.
    none(
        REQ,
        &json!({ "additionalProperties": false, "properties": { "foo": false } }),
        &json!({ "additionalProperties": false }),
    );
}

#[test]
fn dependent_schemas_and_dependent_required() {
    let old = json!({ "dependentSchemas": { "foo": { "required": ["a"] }, "bar": { "required": ["b"] } } });
    let fewer = json!({ "dependentSchemas": { "foo": { "required": ["a"] } } });
    assert_eq!(verdicts(&old, &fewer), WIDENS);
    assert_eq!(verdicts(&fewer, &old), NARROWS);
    let looser = json!({ "dependentSchemas": { "foo": {}, "bar": { "required": ["b"] } } });
    assert_eq!(verdicts(&old, &looser), WIDENS);
    let old = json!({ "dependentRequired": { "card": ["billing"] } });
    let more = json!({ "dependentRequired": { "card": ["billing", "cvc"] } });
    let c = one(REQ, &old, &more);
    assert_eq!(
        (c.pointer.as_str(), c.compat),
        ("/dependentRequired/card", Breaking)
    );
    assert_eq!(c.what, "when `card` is present, `cvc` is now required too");
    assert_eq!(verdicts(&more, &old), WIDENS);
}

#[test]
fn not_reverses_the_comparison_of_its_schema() {
    let old = json!({ "not": { "type": "number" } });
    let new = json!({ "not": { "type": "integer" } });
    assert_eq!(verdicts(&old, &new), WIDENS);
    assert_eq!(verdicts(&new, &old), NARROWS);
    assert_eq!(verdicts(&json!({}), &old), NARROWS);
    assert_eq!(verdicts(&old, &json!({})), WIDENS);
}

#[test]
fn contains_and_min_contains() {
    let old = json!({ "type": "array", "contains": { "type": "number" }, "minContains": 1 });
    let new = json!({ "type": "array", "contains": { "type": "number" } });
    for kind in ALL {
        none(kind, &old, &new);
    }
    let two = json!({ "type": "array", "contains": { "type": "number" }, "minContains": 2 });
    assert_eq!(only(REQ, &two, &old), at("/minContains", Compatible));
    assert_eq!(only(REQ, &old, &two), at("/minContains", Breaking));
    let ints = json!({ "type": "array", "contains": { "type": "integer" }, "minContains": 1 });
    assert_eq!(verdicts(&old, &ints), NARROWS);
    let at_most = json!({ "type": "array", "contains": { "type": "number" }, "maxContains": 3 });
    assert_eq!(verdicts(&new, &at_most), NARROWS);
}

#[test]
fn drafts_are_read_by_their_schema_keyword() {
    // The same constraints in draft-07 and 2020-12 are no change.
    let d7 = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "array", "items": [ { "type": "string" }, { "$ref": "#/definitions/N" } ],
        "additionalItems": false,
        "definitions": { "N": { "type": "number" } }
    });
    let d2020 = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array", "prefixItems": [ { "type": "string" }, { "$ref": "#/$defs/N" } ],
        "items": false,
        "$defs": { "N": { "type": "number" } }
    });
    for kind in ALL {
        none(kind, &d7, &d2020);
    }
    let deps7 = json!({ "$schema": "http://json-schema.org/draft-07/schema#",
        "dependencies": { "card": ["billing"], "iban": { "required": ["bic"] } } });
    let deps2020 = json!({ "dependentRequired": { "card": ["billing"] },
        "dependentSchemas": { "iban": { "required": ["bic"] } } });
    none(REQ, &deps7, &deps2020);
    let d4 = json!({ "$schema": "http://json-schema.org/draft-04/schema#", "minimum": 5, "exclusiveMinimum": true });
    none(REQ, &d4, &json!({ "exclusiveMinimum": 5 }));
    let d4_inclusive = json!({ "$schema": "http://json-schema.org/draft-04/schema#", "minimum": 5, "exclusiveMinimum": false });
    none(REQ, &d4_inclusive, &json!({ "minimum": 5 }));
    // Before 2019-09 a $ref's siblings are ignored; from 2019-09 they apply.
    let sibling = |schema: &str| {
        json!({ "$schema": schema, "properties": { "a": { "$ref": "#/definitions/S", "maxLength": 3 } },
            "definitions": { "S": { "type": "string" } } })
    };
    let plain = json!({ "properties": { "a": { "type": "string" } } });
    none(
        REQ,
        &plain,
        &sibling("http://json-schema.org/draft-07/schema#"),
    );
    assert_eq!(
        only(
            REQ,
            &plain,
            &sibling("https://json-schema.org/draft/2020-12/schema")
        ),
        at("/definitions/S/maxLength", Breaking)
    );
    // A draft-07 root that is a `$ref` into its own definitions.
    let root_ref = |max: u32| {
        json!({ "$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/T",
            "definitions": { "T": { "type": "string", "maxLength": max } } })
    };
    assert_eq!(
        only(REQ, &root_ref(5), &root_ref(3)),
        at("/definitions/T/maxLength", Breaking)
    );
    // A draft-07 schema does not know prefixItems.
    none(
        REQ,
        &json!({ "$schema": "http://json-schema.org/draft-07/schema#", "prefixItems": [ { "type": "string" } ] }),
        &json!({}),
    );
}

#[test]
fn a_schema_without_dollar_schema_reads_the_older_forms_too() {
    // Default 2020-12, where the tuple `items` and `dependencies` mean nothing: they keep
    // their draft-07 meaning.
    let old =
        json!({ "type": "array", "items": [ { "type": "string" } ], "additionalItems": false });
    let new = json!({ "type": "array", "items": [ { "type": "string" }, { "type": "boolean" } ], "additionalItems": false });
    assert_eq!(verdicts(&old, &new), WIDENS);
    // additionalItems without a tuple does nothing, as validators read it.
    none(
        REQ,
        &json!({ "additionalItems": true }),
        &json!({ "additionalItems": false }),
    );
}

// ----- compatibility modes -----

#[test]
fn modes_map_onto_the_kinds() {
    let old = json!({ "type": "object", "properties": { "a": { "type": "string" } } });
    let required =
        json!({ "type": "object", "properties": { "a": { "type": "string" } }, "required": ["a"] });
    let retyped = json!({ "type": "object", "properties": { "a": { "type": "integer" } } });
    let optional =
        json!({ "type": "object", "properties": { "a": { "type": "string" }, "b": {} } });
    let breaks = |mode, old: &Value, new: &Value| {
        diff_schemas_in_mode("T", mode, old, new)
            .iter()
            .any(|c| c.compat == Breaking)
    };
    for (mode, narrowing, widening, both) in [
        (Mode::Backward, true, false, true),
        (Mode::BackwardTransitive, true, false, true),
        (Mode::Forward, false, true, true),
        (Mode::ForwardTransitive, false, true, true),
        (Mode::Full, true, true, true),
        (Mode::FullTransitive, true, true, true),
        (Mode::None, false, false, false),
    ] {
        assert_eq!(breaks(mode, &old, &required), narrowing, "{mode} narrowing");
        assert_eq!(breaks(mode, &required, &old), widening, "{mode} widening");
        assert_eq!(breaks(mode, &old, &retyped), both, "{mode} both");
        assert!(!breaks(mode, &old, &optional), "{mode} neutral");
    }
    assert_eq!(
        "backward-transitive".parse::<Mode>(),
        Ok(Mode::BackwardTransitive)
    );
    assert_eq!("FULL".parse::<Mode>(), Ok(Mode::Full));
    assert!(
        "sideways"
            .parse::<Mode>()
            .unwrap_err()
            .contains("BACKWARD_TRANSITIVE")
    );
}

#[test]
fn transitive_modes_check_every_earlier_version() {
    // v1 -> v2 raises maxLength, v2 -> v3 lowers it but not back to v1's: readers of v2
    // read v3's data (FORWARD holds), readers of v1 do not (FORWARD_TRANSITIVE fails).
    let v1 = json!({ "type": "string", "maxLength": 3 });
    let v2 = json!({ "type": "string", "maxLength": 10 });
    let v3 = json!({ "type": "string", "maxLength": 5 });
    let history = [(1, &v1), (2, &v2)];
    let latest = check_history("T", Mode::Forward, &history, (3, &v3));
    assert!(latest.iter().all(|c| c.old_version == Some(2)));
    assert!(latest.iter().all(|c| c.compat == Compatible));
    let back = check_history("T", Mode::Backward, &history, (3, &v3));
    assert!(back.iter().any(|c| c.compat == Breaking));
    let fwd_t = check_history("T", Mode::ForwardTransitive, &history, (3, &v3));
    let against_v1: Vec<&Change> = fwd_t.iter().filter(|c| c.old_version == Some(1)).collect();
    assert_eq!(against_v1.len(), 1);
    assert_eq!(against_v1[0].compat, Breaking);
    // The same through whole sides: the old side holds v1 and v2, the new one v3.
    let old_side = [doc("T", 1, MSG, &v1), doc("T", 2, MSG, &v2)];
    let new_side = [
        doc("T", 1, MSG, &v1),
        doc("T", 2, MSG, &v2),
        doc("T", 3, MSG, &v3),
    ];
    let plain = diff_docs_in_mode(&old_side, &new_side, Mode::Forward);
    assert!(
        plain.breaking().is_empty(),
        "{}",
        plain.render_in_mode(Mode::Forward)
    );
    let transitive = diff_docs_in_mode(&old_side, &new_side, Mode::ForwardTransitive);
    let text = transitive.render_in_mode(Mode::ForwardTransitive);
    assert!(
        text.contains("BREAKING T v1 -> v3 /maxLength: maxLength raised from 3 to 5\n"),
        "{text}"
    );
    // A removed contract breaks under every mode but NONE.
    let gone: [SchemaDoc<'_>; 0] = [];
    for mode in Mode::ALL {
        let report = diff_docs_in_mode(&old_side, &gone, mode);
        assert_eq!(report.breaking().is_empty(), mode == Mode::None, "{mode}");
    }
    // A version bump excuses nothing under a mode.
    assert!(
        text.ends_with("1 change breaks FORWARD_TRANSITIVE compatibility: T"),
        "{text}"
    );
}

#[test]
fn then_and_else_are_compared_under_an_unchanged_if() {
    let cond = |then: Value, els: Value| json!({ "type": "object", "if": { "properties": { "s": { "const": "X" } } }, "then": then, "else": els });
    let old = cond(json!({ "required": ["r"] }), json!({ "maxProperties": 3 }));
    let looser_then = cond(json!({}), json!({ "maxProperties": 3 }));
    let tighter_else = cond(json!({ "required": ["r"] }), json!({ "maxProperties": 2 }));
    assert_eq!(verdicts(&old, &looser_then), WIDENS);
    assert_eq!(
        only(REQ, &old, &tighter_else),
        at("/else/maxProperties", Breaking)
    );
    // A changed `if` is still not analysed.
    let other_if = json!({ "type": "object", "if": { "required": ["s"] }, "then": { "required": ["r"] }, "else": { "maxProperties": 3 } });
    assert_eq!(only(RESP, &old, &other_if), at("/if", Breaking));
    // Without `if`, `then` and `else` do nothing.
    none(REQ, &json!({ "then": { "required": ["r"] } }), &json!({}));
}

#[test]
fn not_required_is_the_property_forbidden() {
    // The rewrite the repository's own Order schema went through: equivalent.
    let order = |els: Value| {
        json!({ "type": "object", "properties": { "status": { "enum": ["NEW", "CANCELLED"] }, "reason": { "type": "string" } },
            "if": { "properties": { "status": { "const": "CANCELLED" } } }, "then": { "required": ["reason"] }, "else": els })
    };
    let old = order(json!({ "not": { "required": ["reason"] } }));
    let new = order(json!({ "properties": { "reason": false } }));
    for kind in ALL {
        none(kind, &old, &new);
        none(kind, &new, &old);
    }
    // Forbidding a name an open object allowed narrows.
    let open = json!({ "type": "object" });
    let forbidding = json!({ "type": "object", "properties": { "x": false } });
    assert_eq!(only(REQ, &open, &forbidding), at("/properties/x", Breaking));
    assert_eq!(verdicts(&open, &forbidding), NARROWS);
}

#[test]
fn a_change_behind_a_recursive_union_is_not_masked() {
    // T0 -> T2 -> T0 is a cycle through singleton oneOfs; the root is oneOf [T0, T1].
    let schema = |t0_id: &str, t1_id: &str| {
        let object = |id: &str, next: &str| {
            json!({ "type": "object", "properties": { "id": { "type": id },
                "ref": { "oneOf": [ { "$ref": format!("#/definitions/{next}") } ] } } })
        };
        json!({ "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "definitions": { "T0": object(t0_id, "T2"), "T1": object(t1_id, "T2"), "T2": object("integer", "T0") },
            "properties": { "root": { "oneOf": [ { "$ref": "#/definitions/T0" }, { "$ref": "#/definitions/T1" } ] } } })
    };
    let old = schema("integer", "boolean");
    none(REQ, &old, &old.clone());
    let new = schema("boolean", "number");
    assert_eq!(verdicts(&old, &new), BOTH);
}
