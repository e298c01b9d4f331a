//! OpenAPI 3.0 schema objects to JSON Schema draft 2020-12, so that the diff and the
//! validator read them as JSON Schema.
//!
//! OpenAPI 3.0's schema object is an extended subset of draft 05: `nullable: true` adds
//! `null` to the accepted values, `exclusiveMinimum`/`exclusiveMaximum` are booleans
//! that make `minimum`/`maximum` exclusive, and keywords next to a `$ref` are ignored.
//! `example`, `discriminator`, `xml`, `externalDocs` and `x-` extensions are
//! annotations and are dropped. OpenAPI 3.1 schemas are already draft 2020-12 and are
//! used as written.

use serde_json::{Map, Value};

/// Keywords whose value is one subschema.
const ONE: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "additionalItems",
    "contains",
    "propertyNames",
];
/// Keywords whose value is a map of subschemas.
const MAP: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];
/// Keywords whose value is a list of subschemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf"];
/// OpenAPI 3.0 annotations that JSON Schema does not define.
const DROPPED: &[&str] = &[
    "example",
    "discriminator",
    "xml",
    "externalDocs",
    "nullable",
];

/// Converts one OpenAPI 3.0 schema object, recursively.
pub fn schema_30(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    if let Some(reference) = map.get("$ref") {
        // In 3.0 a `$ref` replaces the whole object: its siblings are ignored.
        return Value::Object(Map::from_iter([("$ref".to_owned(), reference.clone())]));
    }
    let mut out = Map::new();
    for (key, value) in map {
        if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let converted = if ONE.contains(&key.as_str()) {
            schema_30(value)
        } else if MAP.contains(&key.as_str()) {
            match value {
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), schema_30(v))).collect())
                }
                other => other.clone(),
            }
        } else if LIST.contains(&key.as_str()) {
            match value {
                Value::Array(items) => Value::Array(items.iter().map(schema_30).collect()),
                other => other.clone(),
            }
        } else {
            value.clone()
        };
        out.insert(key.clone(), converted);
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match out.get(exclusive) {
            Some(Value::Bool(true)) => {
                out.remove(exclusive);
                if let Some(limit) = out.remove(bound) {
                    out.insert(exclusive.to_owned(), limit);
                }
            }
            Some(Value::Bool(false)) => {
                out.remove(exclusive);
            }
            _ => {}
        }
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        return nullable(out);
    }
    Value::Object(out)
}

/// A converted schema that also accepts `null`.
fn nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match out.get("type").cloned() {
        Some(Value::String(t)) if t != "null" => {
            out.insert("type".to_owned(), Value::from(vec![t, "null".to_owned()]));
            Value::Object(out)
        }
        Some(Value::Array(mut types)) => {
            if !types.contains(&Value::from("null")) {
                types.push(Value::from("null"));
            }
            out.insert("type".to_owned(), Value::Array(types));
            Value::Object(out)
        }
        Some(_) => Value::Object(out),
        None if LIST.iter().any(|k| out.contains_key(*k)) => {
            // `nullable` next to a combinator: null, or what the combinator accepts.
            Value::Object(Map::from_iter([(
                "anyOf".to_owned(),
                Value::Array(vec![
                    serde_json::json!({ "type": "null" }),
                    Value::Object(out),
                ]),
            )]))
        }
        None => Value::Object(out),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nullable_adds_null_to_the_type_and_the_enum() {
        assert_eq!(
            schema_30(&json!({"type": "string", "nullable": true, "enum": ["a"]})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
        assert_eq!(
            schema_30(&json!({"nullable": true, "oneOf": [{"type": "string"}]})),
            json!({"anyOf": [{"type": "null"}, {"oneOf": [{"type": "string"}]}]})
        );
        assert_eq!(
            schema_30(&json!({"type": "string", "nullable": false})),
            json!({"type": "string"})
        );
    }

    #[test]
    fn boolean_exclusive_bounds_become_numbers() {
        assert_eq!(
            schema_30(
                &json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true,
                "maximum": 9, "exclusiveMaximum": false})
            ),
            json!({"type": "integer", "exclusiveMinimum": 1, "maximum": 9})
        );
    }

    #[test]
    fn siblings_of_a_ref_and_annotations_are_dropped_at_every_depth() {
        assert_eq!(
            schema_30(&json!({"type": "object", "example": {}, "x-internal": true,
            "properties": {
                "a": {"$ref": "#/components/schemas/A", "nullable": true},
                "b": {"type": "array", "items": {"type": "number", "nullable": true}}
            }})),
            json!({"type": "object", "properties": {
                "a": {"$ref": "#/components/schemas/A"},
                "b": {"type": "array", "items": {"type": ["number", "null"]}}
            }})
        );
    }
}
