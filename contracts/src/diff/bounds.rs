//! Numeric bounds and single-valued keywords: `minimum`/`maximum` and their exclusive
//! forms, the counts (`minLength` ... `maxProperties`), `pattern`, `format`,
//! `multipleOf` and `uniqueItems`.

use serde_json::{Map, Value};

use super::walk::{Effect, Walker, child, json_eq, type_set};

impl Walker<'_> {
    /// The effective lower (`minimum`/`exclusiveMinimum`) or upper bound.
    pub(super) fn cmp_bound(
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

    pub(super) fn cmp_min_count(
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

    pub(super) fn cmp_max_count(
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
    pub(super) fn cmp_string_keyword(
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

    pub(super) fn cmp_multiple_of(
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

    pub(super) fn cmp_unique_items(
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
}

pub(super) fn integer_only(m: &Map<String, Value>) -> bool {
    type_set(m).is_some_and(|t| t.len() == 1 && t.contains("integer"))
}

pub(super) fn show_opt(value: Option<&Value>) -> String {
    value.map_or_else(String::new, Value::to_string)
}

pub(super) fn count(m: &Map<String, Value>, kw: &str) -> Option<u64> {
    let v = m.get(kw)?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
            .map(|f| f as u64)
    })
}

pub(super) fn is_integral(x: f64) -> bool {
    x.is_finite() && x >= 1.0 && (x - x.round()).abs() < 1e-9
}

/// A numeric bound as written in the schema.
pub(super) struct Bound {
    value: f64,
    exclusive: bool,
    keyword: &'static str,
    shown: String,
}

impl Bound {
    /// (value, exclusive) for comparison; for integer-only schemas an exclusive or
    /// fractional bound becomes the inclusive integer bound it amounts to.
    pub(super) fn effective(&self, integer_only: bool, lower: bool) -> (f64, bool) {
        match (integer_only, lower, self.exclusive) {
            (false, _, _) => (self.value, self.exclusive),
            (true, true, true) => (self.value.floor() + 1.0, false),
            (true, true, false) => (self.value.ceil(), false),
            (true, false, true) => (self.value.ceil() - 1.0, false),
            (true, false, false) => (self.value.floor(), false),
        }
    }

    pub(super) fn show_op(&self, lower: bool) -> String {
        let op = match (lower, self.exclusive) {
            (true, false) => ">=",
            (true, true) => ">",
            (false, false) => "<=",
            (false, true) => "<",
        };
        format!("{op} {}", self.shown)
    }
}

pub(super) fn bound(m: &Map<String, Value>, lower: bool) -> Option<Bound> {
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
pub(super) fn tightness(a: (f64, bool), b: (f64, bool), lower: bool) -> std::cmp::Ordering {
    let by_value = if lower {
        a.0.total_cmp(&b.0)
    } else {
        b.0.total_cmp(&a.0)
    };
    by_value.then(a.1.cmp(&b.1))
}
