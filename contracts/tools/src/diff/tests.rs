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
