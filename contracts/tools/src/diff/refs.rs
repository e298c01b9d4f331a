//! Local `$ref` resolution (`#/...`), with sibling keywords laid over the target.

use serde_json::{Map, Value};

/// How many `$ref`s may be chained before the walk gives up.
pub(super) const MAX_REF_CHAIN: usize = 32;

/// A schema with its `$ref`s resolved.
pub(super) struct Resolved {
    pub(super) schema: Value,
    /// Where it lives in its document.
    pub(super) pointer: String,
    pub(super) via_ref: bool,
}

/// Follows `$ref`s (local ones only) from `schema`, which sits at `pointer` in `root`.
pub(super) fn resolve(root: &Value, schema: &Value, pointer: &str) -> Result<Resolved, String> {
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

pub(super) fn percent_decode(s: &str) -> String {
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
