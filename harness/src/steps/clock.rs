//! Clock skew on one container (the mechanism and its heal: [`crate::nemesis::clock`]).

use cucumber::when;

use super::StepResult;
use crate::nemesis::Applied;
use crate::nemesis::clock::{skew, skew_seconds};
use crate::report;
use crate::world::QaWorld;

#[when(
    regex = r"^the clock of the (\S+) container is (\d+) (seconds?|minutes?|hours?) (ahead|behind)$"
)]
async fn clock_skew(
    world: &mut QaWorld,
    component: String,
    amount: i64,
    unit: String,
    direction: String,
) -> StepResult {
    let offset = skew_seconds(amount, &unit, &direction)?;
    skew(&component, offset).await?;
    report::fault_applied(&component, &format!("clock {amount} {unit} {direction}"));
    world.faults.push(Applied::Skewed(component));
    Ok(())
}
