//! Orders and their effects across services.

use std::time::Duration;

use contracts::{EmailRecord, OrderView, PlaceOrderRequest};
use cucumber::{given, then, when};

use super::StepResult;
use super::http::send;
use crate::context;
use crate::wait;
use crate::world::QaWorld;

#[given(expr = "a customer {string}")]
async fn a_customer(world: &mut QaWorld, name: String) -> StepResult {
    world.customer = Some(world.scoped(&name));
    Ok(())
}

#[when(expr = "the customer places an order for {int} of {string} through the gateway")]
async fn place_order(world: &mut QaWorld, quantity: u32, sku: String) -> StepResult {
    let customer = world
        .customer
        .clone()
        .ok_or("no customer yet: start with `Given a customer \"alice\"`")?;
    let ctx = context::current()?;
    let body = PlaceOrderRequest {
        customer,
        sku,
        quantity,
    };
    let url = format!("{}/orders", ctx.endpoints.gateway);
    send(world, reqwest::Method::POST, url, &[], Some(&body)).await?;
    let last = world.last.as_ref().expect("send records the exchange");
    world.order = if (200..300).contains(&last.status) {
        Some(serde_json::from_str::<OrderView>(&last.body).map_err(|e| {
            format!(
                "the order reply is not an order ({e})\n{}",
                world.last_exchange()
            )
        })?)
    } else {
        None
    };
    Ok(())
}

async fn emails_for(order: &OrderView) -> Result<Vec<EmailRecord>, String> {
    let ctx = context::current()?;
    let url = format!(
        "{}/internal/emails?order_id={}",
        ctx.endpoints.email, order.id
    );
    let res = ctx
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("GET {url} answered {}", res.status()));
    }
    res.json().await.map_err(|e| format!("GET {url}: {e}"))
}

#[then(expr = "within {int} second(s) exactly {int} confirmation email(s) exist(s) for the order")]
async fn emails_within(world: &mut QaWorld, seconds: u64, expected: usize) -> StepResult {
    let order = world
        .order
        .clone()
        .ok_or_else(|| format!("no order was created\n{}", world.last_exchange()))?;
    let deadline = Duration::from_secs(seconds);
    if expected == 0 {
        // Nothing may appear during the whole window.
        let appeared = wait::until(deadline, || {
            let order = order.clone();
            async move {
                let emails = emails_for(&order).await?;
                if emails.is_empty() {
                    Err("0 emails".to_string())
                } else {
                    Ok(Some(emails))
                }
            }
        })
        .await;
        return match appeared {
            Ok(emails) => Err(format!(
                "expected no email for order {}, saw {emails:?}",
                order.id
            )),
            Err(_) => Ok(()),
        };
    }
    let seen = wait::until(deadline, || {
        let order = order.clone();
        async move {
            let emails = emails_for(&order).await?;
            if emails.len() >= expected {
                Ok(Some(emails))
            } else {
                Err(format!("{} email(s): {emails:?}", emails.len()))
            }
        }
    })
    .await
    .map_err(|seen| {
        format!(
            "expected {expected} confirmation email(s) for order {} within {seconds} s, saw {seen}",
            order.id
        )
    })?;
    if seen.len() != expected {
        return Err(format!(
            "expected exactly {expected} confirmation email(s) for order {}, saw {}: {seen:?}",
            order.id,
            seen.len()
        ));
    }
    let wrong: Vec<_> = seen
        .iter()
        .filter(|e| Some(&e.to) != world.customer.as_ref())
        .collect();
    if !wrong.is_empty() {
        return Err(format!(
            "emails for order {} went to the wrong recipient (expected {:?}): {wrong:?}",
            order.id, world.customer
        ));
    }
    Ok(())
}
