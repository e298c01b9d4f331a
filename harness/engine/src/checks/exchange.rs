//! Assertions over HTTP exchanges, shared by generic steps and packs: headers, JSON
//! fields, Retry-After, the resource a creation answered.

use super::CheckError;
use crate::clients::{Exchange, Resource};

/// A response header by case-insensitive name.
pub fn header<'a>(e: &'a Exchange, name: &str) -> Option<&'a str> {
    e.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Retry-After` of `e` as whole seconds of at least 1, or why not.
pub fn retry_after(e: &Exchange) -> Result<u64, CheckError> {
    let v = header(e, "retry-after").ok_or_else(|| CheckError::NoRetryAfter {
        exchange: Box::new(e.clone()),
    })?;
    match v.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(CheckError::BadRetryAfter {
            value: v.to_string(),
            exchange: Box::new(e.clone()),
        }),
    }
}

/// The parameters of a structured header item `"name";k=v;k=v`.
pub fn sf_params(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut parts = value.split(';');
    let name = parts.next()?.trim();
    let name = name.strip_prefix('"')?.strip_suffix('"')?.to_string();
    let params = parts
        .map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((name, params))
}

/// The integer parameter `key` of parsed structured header parameters.
pub fn param(params: &[(String, String)], key: &str) -> Option<u64> {
    params.iter().find(|(k, _)| k == key)?.1.parse().ok()
}

/// The value at a dotted `path` (`payment.status`; a number indexes an array) of `v`.
pub fn json_field<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |v, key| match v {
        serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => v.get(key),
    })
}

/// The value at `field` of `v`: a JSON pointer (RFC 6901: `/count`, `/items/0/id`) when
/// it starts with `/`, else a dotted path ([`json_field`]).
pub fn json_at<'a>(v: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
    if field.starts_with('/') {
        v.pointer(field)
    } else {
        json_field(v, field)
    }
}

/// Whether `v` is `expected`: a string equal to it, or another value whose JSON text is
/// it (`3`, `true`, `null`).
pub fn json_is(v: &serde_json::Value, expected: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s == expected,
        other => serde_json::from_str::<serde_json::Value>(expected).is_ok_and(|e| e == *other),
    }
}

/// Checks that the JSON body of `e` has `expected` at `path`.
pub fn check_json_field(e: &Exchange, path: &str, expected: &str) -> Result<(), CheckError> {
    let body: serde_json::Value =
        serde_json::from_str(&e.body).map_err(|cause| CheckError::NotJson {
            cause,
            exchange: Box::new(e.clone()),
        })?;
    let (path, expected, exchange) = (path.to_string(), expected.to_string(), Box::new(e.clone()));
    match json_field(&body, &path) {
        Some(v) if json_is(v, &expected) => Ok(()),
        Some(v) => Err(CheckError::FieldDiffers {
            seen: v.clone(),
            path,
            expected,
            exchange,
        }),
        None => Err(CheckError::NoSuchField {
            path,
            expected,
            exchange,
        }),
    }
}

/// The created resource's path: its `Location` header, else `POST path` + `/` + body `id`.
pub fn created(path: &str, ex: &Exchange) -> Result<Resource, CheckError> {
    let body: Option<serde_json::Value> = serde_json::from_str(&ex.body).ok();
    let body_id = body.as_ref().and_then(|b| match &b["id"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    if let Some(location) = header(ex, "location") {
        let location = location
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .unwrap_or_else(|| location.to_string());
        let id = body_id
            .or_else(|| location.rsplit('/').next().map(str::to_string))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| CheckError::LocationWithoutId {
                location: location.clone(),
                exchange: Box::new(ex.clone()),
            })?;
        return Ok(Resource { path: location, id });
    }
    let id = body_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| CheckError::NothingCreated {
            exchange: Box::new(ex.clone()),
        })?;
    Ok(Resource {
        path: format!("{}/{id}", path.trim_end_matches('/')),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_structured_header_item_needs_a_quoted_name_and_key_value_parameters() {
        let (name, params) = sf_params("\"per-client\";q=5;w=60").unwrap();
        assert_eq!(name, "per-client");
        assert_eq!(
            (param(&params, "q"), param(&params, "w")),
            (Some(5), Some(60))
        );
        assert_eq!(param(&params, "r"), None);
        for bad in ["garbage;q=5;w=60", "\"p\";q", "\"p;q=5", ""] {
            assert!(sf_params(bad).is_none(), "{bad:?} was accepted");
        }
    }

    fn exchange(status: u16) -> Exchange {
        Exchange::get_answered("http://127.0.0.1/limited", status)
    }

    #[test]
    fn a_field_starting_with_a_slash_is_a_json_pointer() {
        let v = serde_json::json!({"count": 1, "a.b": {"c": [5]}, "m~n": true});
        assert!(json_is(json_at(&v, "/count").unwrap(), "1"));
        assert!(json_is(json_at(&v, "/a.b/c/0").unwrap(), "5"));
        assert!(json_is(json_at(&v, "/m~0n").unwrap(), "true"));
        assert!(json_is(json_at(&v, "count").unwrap(), "1"));
        assert!(json_at(&v, "/missing").is_none());
    }

    #[test]
    fn json_fields_are_found_by_dotted_path() {
        let v =
            serde_json::json!({"payment": {"status": "unavailable"}, "n": 3, "a": [{"b": true}]});
        assert!(json_is(
            json_field(&v, "payment.status").unwrap(),
            "unavailable"
        ));
        assert!(json_is(json_field(&v, "n").unwrap(), "3"));
        assert!(json_is(json_field(&v, "a.0.b").unwrap(), "true"));
        assert!(json_field(&v, "payment.reason").is_none());
        assert!(json_field(&v, "a.x").is_none());
        let mut e = exchange(200);
        e.body = v.to_string();
        assert!(check_json_field(&e, "payment.status", "unavailable").is_ok());
        let err = check_json_field(&e, "payment.status", "CHARGED")
            .unwrap_err()
            .to_string();
        assert!(err.contains("saw \"unavailable\""), "{err}");
        assert!(
            check_json_field(&e, "status", "partial")
                .unwrap_err()
                .to_string()
                .contains("no such field")
        );
    }
}
