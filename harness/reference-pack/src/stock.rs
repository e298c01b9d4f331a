//! Stock conservation: inventory's units of a SKU are available or held by a reservation,
//! so `available + reserved` never changes however orders reserve and release. A release
//! repeated (a retry after a lost answer, the recovery loop) must not put units back
//! twice; checks that only look for "nothing stays reserved" do not see the extra units.

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::services::StockView;
use cucumber::{given, then};

use crate::domain::require;
use qalens_engine::clients::inspect::get_json as inspect;
use qalens_engine::context::RunContext;
use qalens_engine::wait;
use qalens_steps::world::QaWorld;
use qalens_steps::{StepError, StepResult};

/// `available + reserved` of every SKU when the scenario noted it.
#[derive(Default)]
struct Noted(Option<BTreeMap<String, u64>>);

/// `available + reserved` of every SKU, read in one query by inventory.
async fn totals(ctx: &RunContext) -> Result<BTreeMap<String, u64>, StepError> {
    let url = format!("{}/internal/stock", ctx.endpoints.inspection("inventory")?);
    let stock: Vec<StockView> = inspect(ctx, url).await?;
    Ok(stock
        .into_iter()
        .map(|s| (s.sku, u64::from(s.available) + u64::from(s.reserved)))
        .collect())
}

/// The noted SKUs whose total differs now, described. A SKU stocked since the note (a
/// concurrent scenario's own product) is not this scenario's to judge.
fn differences(noted: &BTreeMap<String, u64>, now: &BTreeMap<String, u64>) -> Vec<String> {
    noted
        .keys()
        .filter(|sku| noted.get(*sku) != now.get(*sku))
        .map(|sku| {
            let show = |t: Option<&u64>| t.map_or("none".to_string(), u64::to_string);
            format!(
                "{sku}: {} units noted, {} now",
                show(noted.get(sku)),
                show(now.get(sku))
            )
        })
        .collect()
}

#[given(expr = "the total stock of every SKU is noted")]
async fn note_totals(world: &mut QaWorld) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    // Inventory may still be coming back from another scenario's fault.
    let totals = wait::until(Duration::from_secs(10), || async {
        totals(ctx).await.map(Some)
    })
    .await
    .map_err(|waited| waited.map(|seen| format!("inventory's stock could not be read: {seen}")))?;
    world.ext.get_or_default::<Noted>().0 = Some(totals);
    Ok(())
}

/// The SKU of the scenario's own product: `P-` and the scenario id, upper case (SKUs are
/// A-Z, 0-9 and `-`).
fn product_sku(world: &QaWorld) -> String {
    format!("P-{}", world.scenario_id.to_ascii_uppercase())
}

/// Stocks a product no other scenario knows, so the scenario knows every unit of it; its
/// SKU is the scenario value `{product}`.
#[given(expr = "a new product with {int} unit(s) in stock")]
async fn new_product(world: &mut QaWorld, units: u32) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let sku = product_sku(world);
    let url = format!("{}/internal/stock", ctx.endpoints.inspection("inventory")?);
    let body = serde_json::json!({ "sku": sku, "units": units });
    let added = wait::until(Duration::from_secs(10), || async {
        // Inventory may still be coming back from another scenario's fault.
        let res = world
            .ctx()
            .map_err(|e| e.to_string())?
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST {url} failed: {e}"))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if status.as_u16() == 201 {
            serde_json::from_str::<StockView>(&text)
                .map(Some)
                .map_err(|e| format!("POST {url} answered 201 without a stock ({e}): {text}"))
        } else {
            Err(format!("POST {url} {body} answered {status}: {text}"))
        }
    })
    .await
    .map_err(|waited| waited.map(|seen| format!("inventory did not stock the product: {seen}")))?;
    if added.available != units || added.reserved != 0 {
        return Err(format!(
            "the new product {sku} should have {units} units available and none reserved, saw {added:?}"
        ).into());
    }
    world.values.insert("product".into(), sku);
    Ok(())
}

#[then(expr = "within {int} seconds the total stock of every SKU is what was noted")]
async fn totals_as_noted(world: &mut QaWorld, seconds: u64) -> StepResult {
    require(world)?;
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let noted = world
        .ext
        .get::<Noted>()
        .and_then(|n| n.0.clone())
        .ok_or("no stock was noted: add `Given the total stock of every SKU is noted`")?;
    wait::until(Duration::from_secs(seconds), || async {
        let diff = differences(&noted, &totals(ctx).await.map_err(|e| e.to_string())?);
        if diff.is_empty() {
            Ok(Some(()))
        } else {
            Err(format!(
                "available plus reserved changed: {}",
                diff.join("; ")
            ))
        }
    })
    .await
    .map_err(|waited| waited.map(|seen| format!("not within {seconds} s: {seen}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_changed_and_missing_skus_not_ones_stocked_since() {
        let map = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let noted = map(&[("A", 10), ("B", 5)]);
        assert!(differences(&noted, &noted).is_empty());
        assert_eq!(
            differences(&noted, &map(&[("A", 11), ("C", 1)])),
            ["A: 10 units noted, 11 now", "B: 5 units noted, none now"]
        );
        // A SKU stocked after the note (another scenario's product) is no difference.
        assert!(differences(&noted, &map(&[("A", 10), ("B", 5), ("P-S1", 3)])).is_empty());
    }
}
