//! Assertions over HTTP exchanges, shared by generic steps and packs: headers, JSON
//! fields, Retry-After.

use crate::world::Exchange;

/// A response header by case-insensitive name.
pub fn header<'a>(e: &'a Exchange, name: &str) -> Option<&'a str> {
    e.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Retry-After` of `e` as whole seconds of at least 1, or why not.
pub fn retry_after(e: &Exchange) -> Result<u64, String> {
    let v = header(e, "retry-after").ok_or_else(|| format!("no Retry-After header\n{e}"))?;
    match v.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "Retry-After: {v:?} is not a whole number of seconds of at least 1\n{e}"
        )),
    }
}

/// The value at a dotted `path` (`payment.status`; a number indexes an array) of `v`.
pub fn json_field<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |v, key| match v {
        serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => v.get(key),
    })
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
pub fn check_json_field(e: &Exchange, path: &str, expected: &str) -> Result<(), String> {
    let body: serde_json::Value = serde_json::from_str(&e.body)
        .map_err(|err| format!("the response body is not JSON ({err})\n{e}"))?;
    match json_field(&body, path) {
        Some(v) if json_is(v, expected) => Ok(()),
        Some(v) => Err(format!(
            "expected JSON field {path:?} to be {expected:?}, saw {v}\n{e}"
        )),
        None => Err(format!(
            "expected JSON field {path:?} to be {expected:?}; the body has no such field\n{e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "http://127.0.0.1/limited".into(),
            request_body: None,
            status,
            headers: vec![],
            body: String::new(),
            elapsed: std::time::Duration::ZERO,
            sent_at: std::time::Instant::now(),
        }
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
        let err = check_json_field(&e, "payment.status", "CHARGED").unwrap_err();
        assert!(err.contains("saw \"unavailable\""), "{err}");
        assert!(
            check_json_field(&e, "status", "partial")
                .unwrap_err()
                .contains("no such field")
        );
    }
}
