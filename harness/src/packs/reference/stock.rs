//! Stock conservation: inventory's units of a SKU are available or held by a reservation,
//! so `available + reserved` never changes however orders reserve and release. A release
//! repeated (a retry after a lost answer, the recovery loop) must not put units back
//! twice; checks that only look for "nothing stays reserved" do not see the extra units.

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::services::StockView;
use cucumber::{given, then};

use super::domain::require;
use crate::clients::inspect::get_json as inspect;
use crate::context;
use crate::steps::StepResult;
use crate::wait;
use crate::world::QaWorld;

/// `available + reserved` of every SKU when the scenario noted it.
#[derive(Default)]
struct Noted(Option<BTreeMap<String, u64>>);

/// `available + reserved` of every SKU, read in one query by inventory.
async fn totals() -> Result<BTreeMap<String, u64>, String> {
    let url = format!(
        "{}/internal/stock",
        context::current()?.endpoints.inspection("inventory")?
    );
    let stock: Vec<StockView> = inspect(url).await?;
    Ok(stock
        .into_iter()
        .map(|s| (s.sku, u64::from(s.available) + u64::from(s.reserved)))
        .collect())
}

/// The SKUs whose total differs from the noted one, described.
fn differences(noted: &BTreeMap<String, u64>, now: &BTreeMap<String, u64>) -> Vec<String> {
    let skus: std::collections::BTreeSet<&String> = noted.keys().chain(now.keys()).collect();
    skus.into_iter()
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
    require()?;
    // Inventory may still be coming back from another scenario's fault.
    let totals = wait::until(Duration::from_secs(10), || async {
        totals().await.map(Some)
    })
    .await
    .map_err(|seen| format!("inventory's stock could not be read: {seen}"))?;
    world.ext.get_or_default::<Noted>().0 = Some(totals);
    Ok(())
}

#[then(expr = "within {int} seconds the total stock of every SKU is what was noted")]
async fn totals_as_noted(world: &mut QaWorld, seconds: u64) -> StepResult {
    require()?;
    let noted = world
        .ext
        .get::<Noted>()
        .and_then(|n| n.0.clone())
        .ok_or("no stock was noted: add `Given the total stock of every SKU is noted`")?;
    wait::until(Duration::from_secs(seconds), || async {
        let diff = differences(&noted, &totals().await?);
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
    .map_err(|seen| format!("not within {seconds} s: {seen}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_changed_added_and_missing_skus() {
        let map = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let noted = map(&[("A", 10), ("B", 5)]);
        assert!(differences(&noted, &noted).is_empty());
        assert_eq!(
            differences(&noted, &map(&[("A", 11), ("C", 1)])),
            [
                "A: 10 units noted, 11 now",
                "B: 5 units noted, none now",
                "C: none units noted, 1 now"
            ]
        );
    }
}
