//! Scheduling steps: a scenario gives back components it no longer uses before it ends,
//! so scenarios that disrupt them may start ([`qalens_engine::scheduler`]). A broker outage that
//! has placed and confirmed its order no longer needs the services the order went through
//! while it waits for the broker to come back.

use std::collections::BTreeSet;

use cucumber::when;

use super::StepResult;
use crate::world::QaWorld;

/// The components of a list written `gateway, redis, api and ledger`.
fn names(list: &str) -> BTreeSet<String> {
    list.split(',')
        .flat_map(|part| part.split(" and "))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

#[when(regex = r"^the scenario no longer uses (.+)$")]
async fn no_longer_uses(world: &mut QaWorld, list: String) -> StepResult {
    let grant = world
        .grant
        .as_ref()
        .ok_or("the scenario holds no claim (it runs outside the scheduler)")?;
    grant
        .no_longer_uses(&names(&list))
        .map_err(|e| format!("cannot give back {list}: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_like_prose() {
        let expected: BTreeSet<String> = ["gateway", "redis", "api", "ledger"]
            .map(String::from)
            .into();
        assert_eq!(names("gateway, redis, api and ledger"), expected);
        assert_eq!(names("gateway,redis,api,ledger"), expected);
        assert_eq!(names("ledger").len(), 1);
    }
}
