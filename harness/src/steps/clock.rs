//! Clock skew on one container (the mechanism and its heal: [`crate::nemesis::clock`]).

use cucumber::when;

use super::StepResult;
use crate::nemesis::Applied;
use crate::nemesis::clock::skew;
use crate::report;
use crate::world::QaWorld;

/// The largest clock skew a step applies, in seconds: about 100 years, far inside what
/// the arithmetic and libfaketime can hold.
pub const MAX_SKEW_SECONDS: u64 = 100 * 366 * 24 * 3600;

/// The offset in seconds of a clock `amount` `unit`s `direction` (`ahead` or `behind`),
/// or why it cannot be applied (beyond [`MAX_SKEW_SECONDS`]).
pub fn skew_seconds(amount: i64, unit: &str, direction: &str) -> Result<i64, String> {
    let unit_secs: i64 = match unit.trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        _ => 3600,
    };
    let sign = if direction == "ahead" { 1 } else { -1 };
    amount
        .checked_mul(unit_secs)
        .and_then(|o| o.checked_mul(sign))
        .filter(|o| o.unsigned_abs() <= MAX_SKEW_SECONDS)
        .ok_or_else(|| {
            format!(
                "a clock {amount} {unit} {direction} is too far: at most {MAX_SKEW_SECONDS} seconds (about 100 years) either way"
            )
        })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_skew_is_an_error_not_an_overflow() {
        assert_eq!(skew_seconds(2, "hours", "behind"), Ok(-7200));
        assert_eq!(skew_seconds(90, "seconds", "ahead"), Ok(90));
        let e = skew_seconds(i64::MAX, "hours", "ahead").unwrap_err();
        assert!(e.contains("too far"), "{e}");
        assert!(skew_seconds(1_000_000, "hours", "behind").is_err());
    }
}
