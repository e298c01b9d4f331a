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

    /// A single-valued keyword compared by its [`Order`]: one entry of [`SCALARS`].
    pub(super) fn cmp_scalar(
        &mut self,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
        (kw, order): (&str, Order),
        ptr: &str,
        inst: &str,
    ) {
        if let Some((desc, effect)) = scalar_change(kw, order, o.get(kw), n.get(kw)) {
            self.emit(child(ptr, kw), inst, desc, effect);
        }
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

/// A count keyword's value (`2` and `2.0` alike); `None` when it is not a count.
fn count(v: &Value) -> Option<u64> {
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

/// How a single-valued keyword orders its values, which decides what a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// A count whose higher value narrows (`minLength`); absent is 0.
    AtLeast,
    /// A count whose lower value narrows (`maxLength`); absent is unbounded.
    AtMost,
    /// `multipleOf`: a multiple of the old divisor narrows, a divisor of it widens.
    Divisor,
    /// No order (`pattern`, `format`): a replacement narrows and widens.
    Unordered,
}

/// The single-valued keywords, in the order their changes are reported.
pub(super) const SCALARS: &[(&str, Order)] = &[
    ("minLength", Order::AtLeast),
    ("minItems", Order::AtLeast),
    ("minProperties", Order::AtLeast),
    ("maxLength", Order::AtMost),
    ("maxItems", Order::AtMost),
    ("maxProperties", Order::AtMost),
    ("maxContains", Order::AtMost),
    ("pattern", Order::Unordered),
    ("format", Order::Unordered),
    ("multipleOf", Order::Divisor),
];

/// A keyword's value as its [`Order`] reads it.
enum Level<'v> {
    Count(u64),
    Number(f64, &'v Value),
    Any(&'v Value),
}

impl std::fmt::Display for Level<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Level::Count(c) => write!(f, "{c}"),
            Level::Number(_, v) | Level::Any(v) => write!(f, "{v}"),
        }
    }
}

impl Order {
    /// `None` when the value does not count (a count that is not a whole number, a
    /// `multipleOf` that is not a number): it is then treated as absent.
    fn read(self, value: Option<&Value>) -> Option<Level<'_>> {
        let value = value?;
        match self {
            Order::AtLeast | Order::AtMost => count(value).map(Level::Count),
            Order::Divisor => value.as_f64().map(|x| Level::Number(x, value)),
            Order::Unordered => Some(Level::Any(value)),
        }
    }

    /// The verb and effect of a change from `old` to `new`; `None` when they accept the
    /// same values.
    fn change(self, old: &Level<'_>, new: &Level<'_>) -> Option<(&'static str, Effect)> {
        let by_count = |a: u64, b: u64, higher_narrows: bool| {
            let verb = if b > a { "raised" } else { "lowered" };
            (a != b).then_some((
                verb,
                if (b > a) == higher_narrows {
                    Effect::Narrows
                } else {
                    Effect::Widens
                },
            ))
        };
        match (self, old, new) {
            (Order::AtLeast, Level::Count(a), Level::Count(b)) => by_count(*a, *b, true),
            (Order::AtMost, Level::Count(a), Level::Count(b)) => by_count(*a, *b, false),
            (Order::Divisor, Level::Number(x, _), Level::Number(y, _)) => {
                let effect = if x == y {
                    return None;
                } else if is_integral(y / x) {
                    Effect::Narrows
                } else if is_integral(x / y) {
                    Effect::Widens
                } else {
                    Effect::Both
                };
                Some(("changed", effect))
            }
            (_, Level::Any(a), Level::Any(b)) if json_eq(a, b) => None,
            _ => Some(("changed", Effect::Both)),
        }
    }

    /// Whether a present value constrains nothing (`minLength: 0`), so adding or removing
    /// it is no change.
    fn unconstrained(self, level: &Level<'_>) -> bool {
        self == Order::AtLeast && matches!(level, Level::Count(0))
    }
}

/// What a change of the single-valued keyword `kw` says and does; `None` for no change.
/// Added narrows, removed widens, and a changed value is classified by `order`.
pub(super) fn scalar_change(
    kw: &str,
    order: Order,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Option<(String, Effect)> {
    match (order.read(old), order.read(new)) {
        (None, None) => None,
        (Some(a), Some(b)) => {
            let (verb, effect) = order.change(&a, &b)?;
            Some((format!("{kw} {verb} from {a} to {b}"), effect))
        }
        (None, Some(b)) => {
            (!order.unconstrained(&b)).then(|| (format!("{kw} {b} added"), Effect::Narrows))
        }
        (Some(a), None) => {
            (!order.unconstrained(&a)).then(|| (format!("{kw} {a} removed"), Effect::Widens))
        }
    }
}
