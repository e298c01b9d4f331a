//! Proptest strategies for valid wire values, within the services' domain rules (feature
//! `strategies`). Every value they generate validates against its contract in
//! [`crate::bundled::registry`]; this crate's property tests check that.
//!
//! Bounded values hit their limits often (a quarter of the cases each end), so a rule
//! that is off by one shows up in every run, not only in a lucky one.

use std::collections::HashMap;

use proptest::collection::{hash_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

use crate::services::{
    ChargeRequest, ChargeStatus, ChargeView, ReservationRequest, ReservationStatus, ReservationView,
};
use crate::{
    OrderCancelled, OrderConfirmed, OrderEvent, OrderPlaced, OrderStatus, OrderView,
    PlaceOrderRequest, Problem,
};

/// Largest quantity of one order or reservation.
pub const MAX_QUANTITY: u32 = 1000;
/// Largest single charge, in cents.
pub const MAX_AMOUNT_CENTS: u64 = 10_000_000;
/// Longest customer id, in characters.
pub const MAX_CUSTOMER_LEN: usize = 64;
/// Longest SKU, in characters.
pub const MAX_SKU_LEN: usize = 32;
/// Largest unit price [`order_view`] uses, in cents.
pub const MAX_UNIT_PRICE_CENTS: u64 = 100_000;

/// Any UUID, as the services print it (lower-case, hyphenated).
pub fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// `min..=max`, each bound in a quarter of the cases.
fn bounded<T>(min: T, max: T) -> impl Strategy<Value = T>
where
    T: Copy + std::fmt::Debug + 'static,
    std::ops::RangeInclusive<T>: Strategy<Value = T>,
{
    prop_oneof![1 => Just(min), 1 => Just(max), 2 => min..=max]
}

/// Characters of a customer id.
const CUSTOMER_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-";
/// Characters of a SKU.
const SKU_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";

/// Strings of 1 to `max` characters of `alphabet`, each length bound in a quarter of the
/// cases.
fn bounded_string(alphabet: &str, max: usize) -> impl Strategy<Value = String> + use<> {
    let chars: Vec<char> = alphabet.chars().collect();
    bounded(1, max)
        .prop_flat_map(move |len| vec(select(chars.clone()), len))
        .prop_map(String::from_iter)
}

/// A customer id: 1 to 64 characters of `[A-Za-z0-9._@-]`.
pub fn customer() -> impl Strategy<Value = String> {
    bounded_string(CUSTOMER_CHARS, MAX_CUSTOMER_LEN)
}

/// A SKU: 1 to 32 characters of `[A-Z0-9-]`.
pub fn sku() -> impl Strategy<Value = String> {
    bounded_string(SKU_CHARS, MAX_SKU_LEN)
}

/// Units: 1 to [`MAX_QUANTITY`].
pub fn quantity() -> impl Strategy<Value = u32> {
    bounded(1, MAX_QUANTITY)
}

/// A chargeable amount: 1 to [`MAX_AMOUNT_CENTS`] cents.
pub fn amount_cents() -> impl Strategy<Value = u64> {
    bounded(1, MAX_AMOUNT_CENTS)
}

/// A non-empty free text (any characters), such as a cancellation reason.
pub fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 1..120).prop_map(String::from_iter)
}

pub fn charge_request() -> impl Strategy<Value = ChargeRequest> {
    (uuid(), customer(), amount_cents()).prop_map(|(order_id, customer, amount_cents)| {
        ChargeRequest {
            order_id,
            customer,
            amount_cents,
        }
    })
}

pub fn charge_view() -> impl Strategy<Value = ChargeView> {
    let status = prop_oneof![Just(ChargeStatus::Charged), Just(ChargeStatus::Refunded)];
    (uuid(), uuid(), customer(), amount_cents(), status).prop_map(
        |(id, order_id, customer, amount_cents, status)| ChargeView {
            id,
            order_id,
            customer,
            amount_cents,
            status,
        },
    )
}

/// The charges of one order: none or one.
pub fn charge_list() -> impl Strategy<Value = Vec<ChargeView>> {
    vec(charge_view(), 0..=1)
}

pub fn reservation_request() -> impl Strategy<Value = ReservationRequest> {
    (uuid(), sku(), quantity()).prop_map(|(order_id, sku, quantity)| ReservationRequest {
        order_id,
        sku,
        quantity,
    })
}

pub fn reservation_view() -> impl Strategy<Value = ReservationView> {
    let status = prop_oneof![
        Just(ReservationStatus::Reserved),
        Just(ReservationStatus::Released)
    ];
    (uuid(), sku(), quantity(), status).prop_map(|(order_id, sku, quantity, status)| {
        ReservationView {
            order_id,
            sku,
            quantity,
            status,
        }
    })
}

pub fn place_order_request() -> impl Strategy<Value = PlaceOrderRequest> {
    (customer(), sku(), quantity()).prop_map(|(customer, sku, quantity)| PlaceOrderRequest {
        customer,
        sku,
        quantity,
    })
}

/// An order: the amount is the quantity times a unit price of 0 to
/// [`MAX_UNIT_PRICE_CENTS`]; a reason exactly when CANCELLED.
pub fn order_view() -> impl Strategy<Value = OrderView> {
    let status = prop_oneof![
        Just(OrderStatus::Pending),
        Just(OrderStatus::Confirmed),
        Just(OrderStatus::Cancelled)
    ];
    (
        uuid(),
        customer(),
        sku(),
        quantity(),
        bounded(0, MAX_UNIT_PRICE_CENTS),
        status,
        text(),
    )
        .prop_map(
            |(id, customer, sku, quantity, unit_price, status, reason)| OrderView {
                id,
                customer,
                sku,
                quantity,
                amount_cents: u64::from(quantity) * unit_price,
                status,
                reason: (status == OrderStatus::Cancelled).then_some(reason),
            },
        )
}

pub fn order_placed() -> impl Strategy<Value = OrderPlaced> {
    (uuid(), uuid(), customer(), sku(), quantity()).prop_map(
        |(event_id, order_id, customer, sku, quantity)| OrderPlaced {
            event_id,
            order_id,
            customer,
            sku,
            quantity,
        },
    )
}

/// A confirmation: the amount was charged, so it is 1 to [`MAX_AMOUNT_CENTS`].
pub fn order_confirmed() -> impl Strategy<Value = OrderConfirmed> {
    (
        uuid(),
        uuid(),
        customer(),
        sku(),
        quantity(),
        amount_cents(),
    )
        .prop_map(
            |(event_id, order_id, customer, sku, quantity, amount_cents)| OrderConfirmed {
                event_id,
                order_id,
                customer,
                sku,
                quantity,
                amount_cents,
            },
        )
}

pub fn order_cancelled() -> impl Strategy<Value = OrderCancelled> {
    (uuid(), uuid(), customer(), text()).prop_map(|(event_id, order_id, customer, reason)| {
        OrderCancelled {
            event_id,
            order_id,
            customer,
            reason,
        }
    })
}

/// Any of the three order events.
pub fn order_event() -> impl Strategy<Value = OrderEvent> {
    prop_oneof![
        order_placed().prop_map(OrderEvent::OrderPlaced),
        order_confirmed().prop_map(OrderEvent::OrderConfirmed),
        order_cancelled().prop_map(OrderEvent::OrderCancelled),
    ]
}

/// An RFC 9457 error body with a 4xx or 5xx status.
pub fn problem() -> impl Strategy<Value = Problem> {
    let kind = prop_oneof![
        Just("about:blank".to_string()),
        "https://qalens\\.test/problems/[a-z-]{1,20}"
    ];
    (
        kind,
        "[A-Z][A-Za-z -]{0,30}",
        bounded(400u16, 599),
        proptest::option::of(text()),
    )
        .prop_map(|(kind, title, status, detail)| Problem {
            kind,
            title,
            status,
            detail,
        })
}

/// Headers the gateway forwards: the identity headers, maybe `x-request-id`, and other
/// lower-case headers.
pub fn identity_headers() -> impl Strategy<Value = HashMap<String, String>> {
    let scope = "[a-z]{1,12}(:[a-z]{1,8})?";
    (
        "[\t -~]{0,40}",
        prop_oneof![Just("free"), Just("paid")],
        vec(scope, 1..4),
        proptest::option::of("[!-~]{1,128}"),
        hash_map("[a-z][a-z0-9-]{0,20}", "[\t -~]{0,40}", 0..4),
    )
        .prop_map(|(client_id, tier, scopes, request_id, mut headers)| {
            headers.insert("x-client-id".into(), client_id);
            headers.insert("x-client-tier".into(), tier.into());
            headers.insert("x-client-scopes".into(), scopes.join(" "));
            match request_id {
                Some(id) => headers.insert("x-request-id".into(), id),
                None => headers.remove("x-request-id"),
            };
            headers
        })
}

#[cfg(test)]
mod tests;
