//! Orders and their effects across services: order state, emails, and the cross-service
//! invariants (no charge without a confirmed order, stock conserved, nothing PENDING).

use std::time::Duration;

use contracts::services::{ChargeStatus, ChargeView, ReservationStatus, ReservationView};
use contracts::{EmailRecord, OrderStatus, OrderView, PlaceOrderRequest};
use cucumber::{then, when};
use serde::de::DeserializeOwned;

use crate::domain::{current_order, emails_for, peek, require, sentinel_handled, set_order, state};
use qalens_engine::checks::exchange::check_json_field;
use qalens_engine::clients::ClientError;
use qalens_engine::clients::http::{Call, Target};
use qalens_engine::clients::inspect::get_json as inspect;
use qalens_engine::context::RunContext;
use qalens_engine::wait;
use qalens_steps::world::QaWorld;
use qalens_steps::{StepError, StepResult};

async fn place(world: &mut QaWorld, quantity: u32, sku: String, key: Option<String>) -> StepResult {
    let customer = world.client()?.id.clone();
    let body = PlaceOrderRequest {
        customer,
        sku,
        quantity,
    };
    let mut call = world
        .call("POST", Target::FrontDoor, "/orders")?
        .json(&body)?;
    if let Some(k) = key {
        call = call.header("idempotency-key", &k);
    }
    world.send_one(call).await?;
    let last = world.last.as_ref().expect("send_one records the exchange");
    if (200..300).contains(&last.status) {
        let order: OrderView = serde_json::from_str(&last.body).map_err(|e| {
            format!(
                "the order reply is not an order ({e})\n{}",
                world.last_exchange()
            )
        })?;
        state(world).orders.push(order.clone());
        set_order(world, Some(order));
    } else {
        set_order(world, None);
    }
    Ok(())
}

#[when(expr = "the client places an order for {int} of {string}")]
async fn place_order(world: &mut QaWorld, quantity: u32, sku: String) -> StepResult {
    require(world)?;
    place(world, quantity, sku, None).await
}

#[when(expr = "the client places an order for {int} of {string} with idempotency key {string}")]
async fn place_order_keyed(
    world: &mut QaWorld,
    quantity: u32,
    sku: String,
    key: String,
) -> StepResult {
    require(world)?;
    let key = world.scoped(&key);
    place(world, quantity, sku, Some(key)).await
}

async fn read_order(ctx: &RunContext, id: uuid::Uuid) -> Result<OrderView, StepError> {
    Ok(inspect(
        ctx,
        format!(
            "{}/internal/orders/{id}",
            ctx.endpoints.inspection("orders")?
        ),
    )
    .await?)
}

#[then(expr = "within {int} seconds the order is {word}")]
async fn order_becomes(world: &mut QaWorld, seconds: u64, status: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let want: OrderStatus = status.parse()?;
    let order = current_order(world)?;
    let seen = wait::until(Duration::from_secs(seconds), || async move {
        let o = read_order(ctx, order.id).await.map_err(|e| e.to_string())?;
        if o.status == want {
            Ok(Some(o))
        } else {
            Err(format!("{o:?}"))
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| {
            format!(
                "expected order {} to be {status} within {seconds} s; last seen: {seen}",
                order.id
            )
        })
    })?;
    set_order(world, Some(seen));
    Ok(())
}

/// `GET /orders/{id}/summary` of the scenario's order as its client.
fn summary_call(world: &QaWorld) -> Result<Call, StepError> {
    let order = current_order(world)?;
    world.call(
        "GET",
        Target::FrontDoor,
        &format!("/orders/{}/summary", order.id),
    )
}

#[when(expr = "the client reads the order's summary")]
async fn read_summary(world: &mut QaWorld) -> StepResult {
    require(world)?;
    let call = summary_call(world)?;
    world.send_one(call).await
}

#[then(expr = "within {int} seconds the order's summary is complete")]
async fn summary_complete(world: &mut QaWorld, seconds: u64) -> StepResult {
    require(world)?;
    let call = summary_call(world)?;
    let ex = wait::until(Duration::from_secs(seconds), || {
        let call = call.clone();
        async move {
            let ex = call.send().await.map_err(|e| e.to_string())?;
            let complete = ex.status == 200
                && check_json_field(&ex, "status", "complete").is_ok()
                && ["order", "payment", "reservation"].iter().all(|part| {
                    check_json_field(&ex, &format!("{part}.status"), "unavailable")
                        .is_err()
                });
            if complete { Ok(Some(ex)) } else { Err(ex.to_string()) }
        }
    })
    .await
    .map_err(|waited| waited.map(|seen| {
        format!("the summary was not complete (200, status complete, no part unavailable) within {seconds} s; last answer:\n{seen}")
    }))?;
    world.last = Some(ex);
    Ok(())
}

#[then(expr = "the order was cancelled because {string}")]
async fn cancelled_because(world: &mut QaWorld, reason: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let order = read_order(ctx, current_order(world)?.id).await?;
    match (&order.status, &order.reason) {
        (OrderStatus::Cancelled, Some(r)) if r.contains(&reason) => Ok(()),
        _ => Err(StepError::expected(
            format!("a CANCELLED order with a reason containing {reason:?}"),
            format!("{order:?}"),
        )),
    }
}

/// Every order of the scenario: those its order steps placed, and any other that one of
/// its clients placed (requests sent at once, resources created with generic steps).
async fn scenario_orders(world: &QaWorld) -> Result<Vec<uuid::Uuid>, StepError> {
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let mut ids: Vec<_> = peek(world).orders.iter().map(|o| o.id).collect();
    let clients: std::collections::BTreeSet<&str> =
        world.clients.values().map(|c| c.id.as_str()).collect();
    if !clients.is_empty() {
        for o in all_orders(ctx).await? {
            if clients.contains(o.customer.as_str()) && !ids.contains(&o.id) {
                ids.push(o.id);
            }
        }
    }
    if ids.is_empty() {
        return Err("the scenario created no order".into());
    }
    Ok(ids)
}

/// Every order orders knows.
async fn all_orders(ctx: &RunContext) -> Result<Vec<OrderView>, StepError> {
    Ok(inspect(
        ctx,
        format!("{}/internal/orders", ctx.endpoints.inspection("orders")?),
    )
    .await?)
}

#[then(expr = "every order of the scenario is CONFIRMED or CANCELLED within {int} seconds")]
async fn none_pending(world: &mut QaWorld, seconds: u64) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let ids = scenario_orders(world).await?;
    wait::until(Duration::from_secs(seconds), || {
        let ids = ids.clone();
        async move {
            let mut pending = vec![];
            for id in ids {
                let o = read_order(ctx, id).await.map_err(|e| e.to_string())?;
                if o.status == OrderStatus::Pending {
                    pending.push(o);
                }
            }
            if pending.is_empty() {
                Ok(Some(()))
            } else {
                Err(format!("still PENDING: {pending:?}"))
            }
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| format!("orders left PENDING after {seconds} s: {seen}"))
    })?;
    Ok(())
}

/// The first few emails of a list, and how many more there are (a burst has hundreds).
fn shown(emails: &[EmailRecord]) -> String {
    const SHOWN: usize = 3;
    let first = format!("{:?}", &emails[..emails.len().min(SHOWN)]);
    match emails.len().saturating_sub(SHOWN) {
        0 => first,
        more => format!("{first} and {more} more"),
    }
}

#[then(expr = "within {int} second(s) exactly {int} confirmation email(s) exist(s) for the order")]
async fn emails_within(world: &mut QaWorld, seconds: u64, expected: usize) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let order = current_order(world)?;
    let deadline = Duration::from_secs(seconds);
    if expected == 0 {
        // Nothing may appear during the whole window, and the window only counts while
        // the emails can be read: a read that fails ends the wait as a failure.
        let appeared = wait::until(deadline, || {
            let order = order.clone();
            async move {
                match emails_for(ctx, &order).await {
                    Err(e) => Ok(Some(Err(e.to_string()))),
                    Ok(emails) if emails.is_empty() => Err("0 emails".to_string()),
                    Ok(emails) => Ok(Some(Ok(emails))),
                }
            }
        })
        .await;
        return match appeared {
            Ok(Ok(emails)) => Err(StepError::expected(
                format!("no email for order {}", order.id),
                format!("{emails:?}"),
            )),
            Ok(Err(unreadable)) => Err(format!(
                "could not read the confirmation emails of order {}: {unreadable}",
                order.id
            )
            .into()),
            Err(waited) if waited.is_cancelled() => Err(waited.into()),
            Err(_) => Ok(()),
        };
    }
    if let Some(sentinel) = peek(world).sentinel.clone() {
        // Every message published before the sentinel is handled once its email exists.
        sentinel_handled(ctx, &sentinel, deadline)
            .await
            .map_err(|waited| {
                waited.map(|seen| {
                    format!(
                        "the consumer did not reach the sentinel message within {seconds} s: {seen}"
                    )
                })
            })?;
    }
    // After the sentinel the emails are final: one look instead of the whole deadline.
    let patience = if peek(world).sentinel.is_some() {
        Duration::ZERO
    } else {
        deadline
    };
    let seen = wait::until(patience, || {
        let order = order.clone();
        async move {
            let emails = emails_for(ctx, &order).await.map_err(|e| e.to_string())?;
            if emails.len() >= expected {
                Ok(Some(emails))
            } else {
                Err(format!("{} email(s): {}", emails.len(), shown(&emails)))
            }
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| {
        format!(
            "expected {expected} confirmation email(s) for order {} within {seconds} s, saw {seen}",
            order.id
        )
    })
    })?;
    if seen.len() != expected {
        return Err(StepError::expected(
            format!(
                "exactly {expected} confirmation email(s) for order {}",
                order.id
            ),
            format!("{}: {}", seen.len(), shown(&seen)),
        ));
    }
    let customer = world.client()?.id.clone();
    let wrong: Vec<_> = seen.iter().filter(|e| e.to != customer).collect();
    if !wrong.is_empty() {
        return Err(format!(
            "emails for order {} went to the wrong recipient (expected {customer:?}): {wrong:?}",
            order.id
        )
        .into());
    }
    Ok(())
}

/// Checks, for every order of the scenario, that `holds(order, items)` is fine, where
/// `items` is what `fetch` returns; waits up to `seconds` for it to become true.
async fn invariant_within<T, Fut>(
    world: &QaWorld,
    seconds: u64,
    fetch: impl Fn() -> Fut,
    holds: impl Fn(&OrderView, &[T]) -> Result<(), StepError>,
) -> StepResult
where
    Fut: std::future::Future<Output = Result<Vec<T>, ClientError>>,
{
    let ids = scenario_orders(world).await?;
    wait::until(Duration::from_secs(seconds), || async {
        let items = fetch().await?;
        for id in &ids {
            let o = read_order(&*world.ctx()?, *id).await?;
            holds(&o, &items)?;
        }
        Ok::<_, StepError>(Some(()))
    })
    .await
    .map_err(|waited| waited.map(|seen| format!("not within {seconds} s: {seen}")))?;
    Ok(())
}

#[then(expr = "within {int} seconds no charge of the scenario stands without a confirmed order")]
async fn no_charge_without_confirmed(world: &mut QaWorld, seconds: u64) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let url = format!("{}/internal/charges", ctx.endpoints.inspection("payments")?);
    invariant_within(
        world,
        seconds,
        || inspect::<Vec<ChargeView>>(ctx, url.clone()),
        |o, charges| {
            let standing: Vec<_> = charges
                .iter()
                .filter(|c| c.order_id == o.id && c.status == ChargeStatus::Charged)
                .collect();
            match o.status {
                OrderStatus::Confirmed if standing.len() != 1 => Err(format!(
                    "CONFIRMED order {} has {} standing charges: {standing:?}",
                    o.id,
                    standing.len()
                )
                .into()),
                OrderStatus::Cancelled | OrderStatus::Pending if !standing.is_empty() => {
                    Err(format!(
                        "{:?} order {} still has a charge: {standing:?} ({o:?})",
                        o.status, o.id
                    )
                    .into())
                }
                _ => Ok(()),
            }
        },
    )
    .await
}

#[then(
    expr = "within {int} seconds no stock of the scenario stays reserved for an order that is not confirmed"
)]
async fn reservations_match(world: &mut QaWorld, seconds: u64) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let url = format!(
        "{}/internal/reservations",
        ctx.endpoints.inspection("inventory")?
    );
    invariant_within(
        world,
        seconds,
        || inspect::<Vec<ReservationView>>(ctx, url.clone()),
        |o, reservations| {
            let held: Vec<_> = reservations
                .iter()
                .filter(|r| r.order_id == o.id && r.status == ReservationStatus::Reserved)
                .collect();
            match o.status {
                OrderStatus::Confirmed if held.len() != 1 => Err(format!(
                    "CONFIRMED order {} holds {} reservations: {held:?}",
                    o.id,
                    held.len()
                )
                .into()),
                OrderStatus::Cancelled | OrderStatus::Pending if !held.is_empty() => Err(format!(
                    "{:?} order {} still holds stock: {held:?} ({o:?})",
                    o.status, o.id
                )
                .into()),
                _ => Ok(()),
            }
        },
    )
    .await
}

/// Whether the records another service keeps for `order` (`mine`, with their states) are
/// what a step expects: `NONE` (no record at all) or exactly one, in state `want`.
fn one_in_state<T: std::fmt::Debug>(
    what: &str,
    order: &OrderView,
    mine: &[(&T, String)],
    want: &str,
) -> Result<(), StepError> {
    let records: Vec<_> = mine.iter().map(|(r, _)| r).collect();
    match (want, mine) {
        ("NONE", []) => Ok(()),
        ("NONE", _) => Err(StepError::expected(
            format!("no {what} for order {}", order.id),
            format!("{records:?}"),
        )),
        (_, [(_, state)]) if state == want => Ok(()),
        _ => Err(StepError::expected(
            format!("one {what} for order {} in state {want}", order.id),
            format!("{records:?}"),
        )),
    }
}

/// The state names a step may ask for, from the contract's serialization of `states`.
fn state_names<S: serde::Serialize>(states: &[S]) -> Vec<String> {
    states
        .iter()
        .map(state_of)
        .chain(["NONE".to_string()])
        .collect()
}

/// Fails with the valid names unless `want` is one of them.
fn check_state(want: &str, names: &[String]) -> StepResult {
    if names.iter().any(|n| n == want) {
        Ok(())
    } else {
        Err(format!("unknown state {want:?}: use {}", names.join(", ")).into())
    }
}

/// Waits until the records at `url` for the last order are what `want` says (see
/// [`one_in_state`]) and the one record, if any, `fits` the order.
async fn order_record_within<T: DeserializeOwned + std::fmt::Debug>(
    world: &QaWorld,
    seconds: u64,
    want: &str,
    what: &str,
    url: String,
    (order_of, state, fits): (
        impl Fn(&T) -> uuid::Uuid,
        impl Fn(&T) -> String,
        impl Fn(&T, &OrderView) -> Result<(), StepError>,
    ),
) -> StepResult {
    let order = current_order(world)?;
    wait::until(Duration::from_secs(seconds), || async {
        let records = inspect::<Vec<T>>(&*world.ctx()?, url.clone()).await?;
        let mine: Vec<_> = records
            .iter()
            .filter(|r| order_of(r) == order.id)
            .map(|r| (r, state(r)))
            .collect();
        one_in_state(what, &order, &mine, want)?;
        match mine.first() {
            Some((r, _)) => fits(r, &order).map(Some),
            None => Ok::<_, StepError>(Some(())),
        }
    })
    .await
    .map_err(|waited| waited.map(|seen| format!("not within {seconds} s: {seen}")))?;
    Ok(())
}

#[then(expr = "within {int} seconds the order's charge is {word}")]
async fn charge_is(world: &mut QaWorld, seconds: u64, want: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    check_state(
        &want,
        &state_names(&[ChargeStatus::Charged, ChargeStatus::Refunded]),
    )?;
    let url = format!("{}/internal/charges", ctx.endpoints.inspection("payments")?);
    order_record_within(
        world,
        seconds,
        &want,
        "charge",
        url,
        (
            |c: &ChargeView| c.order_id,
            |c: &ChargeView| state_of(&c.status),
            |c: &ChargeView, o: &OrderView| match c.amount_cents == o.amount_cents {
                true => Ok(()),
                false => Err(format!(
                    "the charge for order {} is {} cents, the order {}: {c:?}",
                    o.id, c.amount_cents, o.amount_cents
                )
                .into()),
            },
        ),
    )
    .await
}

#[then(expr = "within {int} seconds the order's reservation is {word}")]
async fn reservation_is(world: &mut QaWorld, seconds: u64, want: String) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    check_state(
        &want,
        &state_names(&[ReservationStatus::Reserved, ReservationStatus::Released]),
    )?;
    let url = format!(
        "{}/internal/reservations",
        ctx.endpoints.inspection("inventory")?
    );
    order_record_within(
        world,
        seconds,
        &want,
        "reservation",
        url,
        (
            |r: &ReservationView| r.order_id,
            |r: &ReservationView| state_of(&r.status),
            |r: &ReservationView, o: &OrderView| match r.quantity == o.quantity && r.sku == o.sku {
                true => Ok(()),
                false => Err(format!(
                    "the reservation for order {} is not the order's {} of {}: {r:?}",
                    o.id, o.quantity, o.sku
                )
                .into()),
            },
        ),
    )
    .await
}

/// A contract state as written in feature files (its serialized name, `CHARGED`).
fn state_of<S: serde::Serialize>(s: &S) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Fails unless orders knows exactly `expected` orders of client `name`.
async fn orders_of_client(world: &QaWorld, name: &str, expected: usize) -> StepResult {
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let customer = world
        .clients
        .get(name)
        .map(|c| c.id.clone())
        .ok_or_else(|| format!("no client {name:?} in this scenario"))?;
    let all = all_orders(ctx).await?;
    let theirs: Vec<&OrderView> = all.iter().filter(|o| o.customer == customer).collect();
    if theirs.len() == expected {
        Ok(())
    } else {
        Err(format!(
            "expected {expected} order(s) of client {name:?} ({customer}), saw {}: {theirs:?}\n{}",
            theirs.len(),
            world.last_exchange()
        )
        .into())
    }
}

#[then(expr = "no order exists for client {string}")]
async fn no_order_for(world: &mut QaWorld, name: String) -> StepResult {
    require(world)?;
    orders_of_client(world, &name, 0).await
}

#[then(expr = "exactly {int} order(s) exist(s) for client {string}")]
async fn n_orders_for(world: &mut QaWorld, expected: usize, name: String) -> StepResult {
    require(world)?;
    orders_of_client(world, &name, expected).await
}

#[cfg(test)]
mod tests;
