//! Queue isolation end to end, on a broker alone: a scenario that holds the broker
//! (`@disrupts:rabbitmq`) starts from empty declared queues, whatever the scenario before
//! it left there; the consumer side is counted (consumers, messages held); and `Given the
//! queue ... is empty` fails, saying why, when a consumer holds a message no purge can
//! remove. The scenarios run in file order, one at a time: all three claim the broker.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use common::*;

#[test]
fn a_scenario_that_holds_the_broker_starts_from_empty_queues() {
    let dir = fixtures("queues");
    let system = dir.join("system.yml");
    let features = dir.join("features");
    let child = qalens(&[
        "run",
        "--system",
        system.to_str().unwrap(),
        features.to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let pid = child.id();
    let (status, output) = finish(child);
    assert_nothing_left(pid, &output);
    assert_eq!(status.code(), Some(1), "{output}");
    // What the first scenario left in `idle` is gone when the second starts: it ran
    // first (one at a time, so the console shows them in the order they ran).
    assert!(
        output.contains("3 scenario(s): 2 passed, 1 failed"),
        "{output}"
    );
    let at = |name: &str| {
        output
            .find(name)
            .unwrap_or_else(|| panic!("no {name:?} in:\n{output}"))
    };
    assert!(
        at(
            "PASS [queues] Scenarios that hold the broker start from empty queues › A scenario leaves a message"
        ) < at(
            "PASS [queues] Scenarios that hold the broker start from empty queues › The next scenario"
        ),
        "{output}"
    );
    for part in [
        "FAIL [queues] Scenarios that hold the broker start from empty queues › A message a consumer holds cannot be purged",
        "the queue \"held\" is not empty 5 s after it was purged",
        "1 message(s) of held are delivered to its 1 consumer(s) and neither acknowledged nor rejected",
        "a purge removes only the messages that wait",
    ] {
        assert!(output.contains(part), "no {part:?} in:\n{output}");
    }
}
