//! Properties of the contracts: generated valid values validate and round-trip through
//! serde; mutated requests are rejected by the schema (and, where serde can tell, by the
//! Rust type too). The case count comes from `PROPTEST_CASES` (default 256).

use std::collections::HashMap;
use std::fmt::Debug;

use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value, json};

use super::*;
use crate::bundled::registry;
use contract_tools::schema::{Contract, Kind};

fn contract(name: &str) -> Result<&'static Contract, TestCaseError> {
    registry()
        .latest(name)
        .ok_or_else(|| TestCaseError::fail(format!("no contract {name}")))
}

/// `value` serialises to an instance of `name` that deserialises back to `value`.
fn valid_and_round_trips<T>(name: &str, value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_value(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let Err(violations) = contract(name)?.validate(&json) {
        return Err(TestCaseError::fail(format!(
            "{name} rejects a generated value:\n{violations}\n{json}"
        )));
    }
    let back: T = serde_json::from_value(json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, value);
    Ok(())
}

proptest! {
    #[test]
    fn charge_requests_are_valid(v in charge_request()) {
        valid_and_round_trips("ChargeRequest", &v)?;
    }

    #[test]
    fn charges_are_valid(v in charge_view()) {
        valid_and_round_trips("Charge", &v)?;
    }

    #[test]
    fn charge_lists_are_valid(v in charge_list()) {
        valid_and_round_trips("ChargeList", &v)?;
    }

    #[test]
    fn reservation_requests_are_valid(v in reservation_request()) {
        valid_and_round_trips("ReservationRequest", &v)?;
    }

    #[test]
    fn reservations_are_valid(v in reservation_view()) {
        valid_and_round_trips("Reservation", &v)?;
    }

    #[test]
    fn place_order_requests_are_valid(v in place_order_request()) {
        valid_and_round_trips("PlaceOrderRequest", &v)?;
    }

    #[test]
    fn orders_are_valid(v in order_view()) {
        valid_and_round_trips("Order", &v)?;
    }

    #[test]
    fn order_events_are_valid_under_their_type(v in order_event()) {
        valid_and_round_trips(v.type_name(), &v)?;
        let c = contract(v.type_name())?;
        prop_assert_eq!(c.routing_key.as_deref(), Some(v.routing_key()));
    }

    #[test]
    fn problems_are_valid(v in problem()) {
        valid_and_round_trips("Problem", &v)?;
    }

    #[test]
    fn identity_headers_are_valid(v in identity_headers()) {
        valid_and_round_trips::<HashMap<String, String>>("IdentityHeaders", &v)?;
    }
}

/// A valid request of each request contract, as JSON, with its contract name.
fn request() -> impl Strategy<Value = (&'static str, Value)> {
    fn json<T: Serialize>(v: T) -> Value {
        serde_json::to_value(v).unwrap_or_default()
    }
    prop_oneof![
        charge_request().prop_map(|r| ("ChargeRequest", json(r))),
        reservation_request().prop_map(|r| ("ReservationRequest", json(r))),
        place_order_request().prop_map(|r| ("PlaceOrderRequest", json(r))),
    ]
}

/// Whether serde accepts `value` as the Rust type of request contract `name`.
fn serde_accepts(name: &str, value: &Value) -> bool {
    let v = value.clone();
    match name {
        "ChargeRequest" => serde_json::from_value::<ChargeRequest>(v).is_ok(),
        "ReservationRequest" => serde_json::from_value::<ReservationRequest>(v).is_ok(),
        "PlaceOrderRequest" => serde_json::from_value::<PlaceOrderRequest>(v).is_ok(),
        other => panic!("no Rust type for request {other}"),
    }
}

/// The contract's properties with their declared `type`, in schema order.
fn fields(c: &Contract) -> Vec<(String, String)> {
    c.schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(k, v)| (k.clone(), v["type"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn object(value: &mut Value) -> Result<&mut Map<String, Value>, TestCaseError> {
    value
        .as_object_mut()
        .ok_or_else(|| TestCaseError::fail("a request is an object"))
}

/// Validation fails, and some violation line starts with `prefix` and contains `needle`.
fn rejected(c: &Contract, value: &Value, prefix: &str, needle: &str) -> Result<(), TestCaseError> {
    match c.validate(value) {
        Ok(()) => Err(TestCaseError::fail(format!(
            "{} accepts the mutated {value}",
            c.id()
        ))),
        Err(v)
            if v.0
                .iter()
                .any(|l| l.starts_with(prefix) && l.contains(needle)) =>
        {
            Ok(())
        }
        Err(v) => Err(TestCaseError::fail(format!(
            "{}: no violation at {prefix:?} mentioning {needle:?} for {value}:\n{v}",
            c.id()
        ))),
    }
}

/// The domain's range of an integer request field.
fn domain_range(field: &str) -> Option<(i128, i128)> {
    match field {
        "amount_cents" => Some((1, i128::from(MAX_AMOUNT_CENTS))),
        "quantity" => Some((1, i128::from(MAX_QUANTITY))),
        _ => None,
    }
}

/// The domain's longest value of a string request field, in characters, and the
/// characters it allows.
fn domain_string(field: &str) -> Option<(usize, &'static str)> {
    match field {
        "customer" => Some((MAX_CUSTOMER_LEN, CUSTOMER_CHARS)),
        "sku" => Some((MAX_SKU_LEN, SKU_CHARS)),
        "order_id" => Some((36, "0123456789abcdefABCDEF-")),
        _ => None,
    }
}

/// A JSON value whose type is not `ty` ("string" or "integer").
fn wrong_value(ty: &str, pick: usize) -> Value {
    let candidates = match ty {
        "string" => vec![
            json!(7),
            json!(true),
            Value::Null,
            json!(["x"]),
            json!({"v": "x"}),
        ],
        _ => vec![
            json!("12"),
            json!(1.5),
            json!(false),
            Value::Null,
            json!([1]),
        ],
    };
    candidates[pick % candidates.len()].clone()
}

proptest! {
    #[test]
    fn a_request_without_a_required_field_is_invalid((name, mut value) in request(), pick in any::<Index>()) {
        let c = contract(name)?;
        let required: Vec<&str> = c.schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        prop_assert!(!required.is_empty());
        let field = *pick.get(&required);
        object(&mut value)?.remove(field);
        rejected(c, &value, "(root)", &format!("\"{field}\" is a required property"))?;
        prop_assert!(!serde_accepts(name, &value));
    }

    #[test]
    fn a_request_field_of_the_wrong_type_is_invalid(
        (name, mut value) in request(),
        pick in any::<Index>(),
        which in 0usize..5,
    ) {
        let c = contract(name)?;
        let fields = fields(c);
        let (field, ty) = pick.get(&fields);
        object(&mut value)?.insert(field.clone(), wrong_value(ty, which));
        rejected(c, &value, &format!("/{field}:"), "")?;
        prop_assert!(!serde_accepts(name, &value));
    }

    #[test]
    fn a_request_number_outside_the_domain_is_invalid(
        (name, mut value) in request(),
        pick in any::<Index>(),
        above in any::<bool>(),
        distance in bounded(1u64, u64::MAX / 4),
    ) {
        let c = contract(name)?;
        let numbers: Vec<(String, i128, i128)> = fields(c)
            .into_iter()
            .filter(|(_, ty)| ty == "integer")
            .map(|(f, _)| domain_range(&f).map(|(min, max)| (f, min, max)))
            .collect::<Option<_>>()
            .ok_or_else(|| TestCaseError::fail(format!("{}: an integer field has no domain range", c.id())))?;
        prop_assert!(!numbers.is_empty());
        let (field, min, max) = pick.get(&numbers);
        let (n, keyword) = if above {
            (max + i128::from(distance), "maximum")
        } else {
            (min - i128::from(distance), "minimum")
        };
        let n = match (u64::try_from(n), i64::try_from(n)) {
            (Ok(u), _) => Number::from(u),
            (_, Ok(i)) => Number::from(i),
            _ => return Err(TestCaseError::fail(format!("{n} is no JSON integer"))),
        };
        object(&mut value)?.insert(field.clone(), Value::Number(n));
        rejected(c, &value, &format!("/{field}:"), keyword)?;
    }

    #[test]
    fn a_request_with_an_unknown_field_is_invalid(
        (name, mut value) in request(),
        extra in "[a-z_]{1,16}",
        extra_value in prop_oneof![Just(json!(1)), Just(json!("EUR")), Just(Value::Null)],
    ) {
        let c = contract(name)?;
        prop_assume!(c.schema["properties"].get(&extra).is_none());
        object(&mut value)?.insert(extra.clone(), extra_value);
        rejected(c, &value, "(root)", &format!("'{extra}' was unexpected"))?;
        prop_assert!(!serde_accepts(name, &value));
    }

    #[test]
    fn a_request_string_outside_the_domain_is_invalid(
        (name, mut value) in request(),
        pick in any::<Index>(),
        at in any::<Index>(),
        bad in any::<Index>(),
        how in 0..3,
    ) {
        let c = contract(name)?;
        let strings: Vec<String> = fields(c)
            .into_iter()
            .filter(|(_, ty)| ty == "string")
            .map(|(f, _)| f)
            .collect();
        let field = pick.get(&strings);
        let (max_len, allowed) = domain_string(field)
            .ok_or_else(|| TestCaseError::fail(format!("{}: no domain rule for {field}", c.id())))?;
        // Every printable ASCII character the field does not allow, and a few others.
        let forbidden: Vec<char> = (' '..='~')
            .chain(['\n', '\t', '\u{0}', '\u{e9}', '\u{1f600}'])
            .filter(|ch| !allowed.contains(*ch))
            .collect();
        let fields = object(&mut value)?;
        let mut chars: Vec<char> = fields[field].as_str().unwrap_or_default().chars().collect();
        let mutated: String = match how {
            // A character the field does not allow, anywhere.
            0 => {
                chars.insert(at.index(chars.len() + 1), *bad.get(&forbidden));
                chars.into_iter().collect()
            }
            1 => String::new(),
            // One character too long, made of the value's own (allowed) characters.
            _ => chars.iter().cycle().take(max_len + 1).collect(),
        };
        fields.insert(field.clone(), Value::String(mutated));
        rejected(c, &value, &format!("/{field}:"), "")?;
    }
}

/// The characters a uuid field allows: requests accept either case, the services print
/// lower case.
fn uuid_chars(kind: Kind) -> &'static str {
    if kind == Kind::Request {
        "0123456789abcdefABCDEF-"
    } else {
        "0123456789abcdef-"
    }
}

/// Printable ASCII and a few others that `allowed` does not contain.
fn forbidden(allowed: &str) -> Vec<char> {
    (' '..='~')
        .chain(['\n', '\t', '\u{0}', '\u{e9}', '\u{1f600}'])
        .filter(|ch| !allowed.contains(*ch))
        .collect()
}

/// Every object contract (and the items of ChargeList) enforces the domain rules of the
/// fields it has: each forbidden character, each length and number bound, tried
/// exhaustively on a valid example.
#[test]
fn every_contract_enforces_the_domain_rules_exactly() {
    let mut checked = 0;
    for c in registry().contracts() {
        let (example, prefix) = match &c.examples[0] {
            Value::Array(_) => match c.examples.iter().find_map(|e| e.get(0)) {
                Some(item) => (item.clone(), "/0"),
                None => continue,
            },
            other => (other.clone(), ""),
        };
        let Value::Object(fields) = &example else {
            continue;
        };
        let wrap = |v: Value| {
            if prefix.is_empty() {
                v
            } else {
                Value::Array(vec![v])
            }
        };
        let with = |field: &str, v: Value| {
            let mut e = example.clone();
            e[field] = v;
            wrap(e)
        };
        for (field, value) in fields {
            let at = format!("{} {field}", c.id());
            let pointer = format!("{prefix}/{field}:");
            let string_rule = match field.as_str() {
                "customer" => Some((1, MAX_CUSTOMER_LEN, CUSTOMER_CHARS)),
                "sku" => Some((1, MAX_SKU_LEN, SKU_CHARS)),
                "id" | "order_id" | "event_id" => Some((36, 36, uuid_chars(c.kind))),
                _ => None,
            };
            if let Some((min, max, allowed)) = string_rule {
                let text: Vec<char> = value.as_str().expect("a string").chars().collect();
                for bad in forbidden(allowed) {
                    let mut t = text.clone();
                    t[0] = bad;
                    let v = with(field, Value::String(t.into_iter().collect()));
                    assert!(
                        c.validate(&v)
                            .is_err_and(|e| e.0.iter().any(|l| l.starts_with(&pointer))),
                        "{at} accepts {bad:?}"
                    );
                }
                let sized = |n: usize| Value::String(text.iter().cycle().take(n).collect());
                assert!(
                    c.validate(&with(field, sized(max + 1))).is_err(),
                    "{at}: {} chars",
                    max + 1
                );
                assert!(
                    c.validate(&with(field, sized(min - 1))).is_err(),
                    "{at}: {} chars",
                    min - 1
                );
                if min < max {
                    assert_eq!(
                        c.validate(&with(field, sized(max))),
                        Ok(()),
                        "{at}: {max} chars"
                    );
                    assert_eq!(
                        c.validate(&with(field, sized(min))),
                        Ok(()),
                        "{at}: {min} chars"
                    );
                }
                checked += 1;
            }
            let number_rule = match (c.name.as_str(), field.as_str()) {
                ("Order", "amount_cents") => Some((0, None)),
                (_, "amount_cents") => Some((1, Some(MAX_AMOUNT_CENTS))),
                (_, "quantity") => Some((1, Some(u64::from(MAX_QUANTITY)))),
                _ => None,
            };
            if let Some((min, max)) = number_rule {
                assert_eq!(c.validate(&with(field, json!(min))), Ok(()), "{at} = {min}");
                if min == 0 {
                    assert!(c.validate(&with(field, json!(-1))).is_err(), "{at} = -1");
                } else {
                    assert!(
                        c.validate(&with(field, json!(min - 1))).is_err(),
                        "{at} = {}",
                        min - 1
                    );
                }
                match max {
                    Some(max) => {
                        assert_eq!(c.validate(&with(field, json!(max))), Ok(()), "{at} = {max}");
                        assert!(
                            c.validate(&with(field, json!(max + 1))).is_err(),
                            "{at} = {}",
                            max + 1
                        );
                    }
                    None => assert_eq!(
                        c.validate(&with(field, json!(u64::MAX))),
                        Ok(()),
                        "{at} unbounded"
                    ),
                }
                checked += 1;
            }
        }
    }
    // The fields of ChargeRequest 3, Charge 4, ChargeList 4, ReservationRequest 3,
    // Reservation 3, PlaceOrderRequest 3, Order 5, OrderPlaced 5, OrderConfirmed 6 and
    // OrderCancelled 3: a field left out of the rules above shows here.
    assert_eq!(checked, 39);
}
