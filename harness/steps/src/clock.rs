//! Clock skew on one container (the mechanism and its heal: [`qalens_engine::nemesis::clock`]).

use cucumber::when;

use super::StepResult;
use crate::world::QaWorld;
use qalens_engine::nemesis::Applied;
use qalens_engine::nemesis::clock::{skew, skew_seconds};

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
    let run = world.run()?;
    skew(&run.context(), &component, offset).await?;
    run.faults()
        .applied(&component, &format!("clock {amount} {unit} {direction}"));
    world.faults.push(Applied::Skewed(component));
    Ok(())
}
