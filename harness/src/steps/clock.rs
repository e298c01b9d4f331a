//! Clock skew on one container (the mechanism and its heal: [`crate::nemesis::clock`]).

use cucumber::when;

use super::StepResult;
use crate::nemesis::Applied;
use crate::nemesis::clock::skew;
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
    let unit_secs = match unit.trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        _ => 3600,
    };
    let sign = if direction == "ahead" { 1 } else { -1 };
    let offset = sign * amount * unit_secs;
    skew(&component, offset).await?;
    report::fault_applied(&component, &format!("clock {amount} {unit} {direction}"));
    world.faults.push(Applied::Skewed(component));
    Ok(())
}
