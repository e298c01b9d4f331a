//! What a consumer did, read over HTTP through the entry point: a GET polled until a JSON
//! field of its answer has a value (a ledger answering `{"count": 0}` until the job it
//! counts is applied), for one path or once per message of the scenario's burst. A field
//! that starts with `/` is a JSON pointer (`/count`), else a dotted path. When the value
//! never comes, the failure says what the queues the scenario published to hold: the
//! effect may be missing because a message the consumer cannot handle sits at the head.

use std::time::Duration;

use cucumber::then;
use futures::StreamExt as _;

use super::StepResult;
use crate::StepError;
use crate::whereabouts;
use crate::world::{Exchange, MESSAGE_ID, QaWorld};
use qalens_engine::checks::exchange::{json_at, json_is};
use qalens_engine::clients::http::{Call, Target};
use qalens_engine::wait;

/// How many GETs of a burst's check are in flight at once.
const IN_FLIGHT: usize = 16;

/// Why `ex` does not have `expected` at `field`, if it does not.
fn field_fault(ex: &Exchange, field: &str, expected: &str) -> Option<String> {
    if !(200..300).contains(&ex.status) {
        return Some(format!("status {}", ex.status));
    }
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&ex.body) else {
        return Some("a body that is not JSON".into());
    };
    match json_at(&body, field) {
        Some(v) if json_is(v, expected) => None,
        Some(v) => Some(format!("{field} = {v}")),
        None => Some(format!("no field {field}")),
    }
}

/// `calls` (each with the path it GETs) sent until each answers `expected` at `field`,
/// or `seconds` pass. The last exchange seen, and on failure how many calls never
/// answered so, with an example.
async fn poll(
    calls: Vec<(String, Call)>,
    seconds: u64,
    field: &str,
    expected: &str,
) -> (Option<Exchange>, Result<(), wait::Waited>) {
    let total = calls.len();
    let pending = std::sync::Mutex::new(calls);
    let last = std::sync::Mutex::new(None::<Exchange>);
    let outcome = wait::until(Duration::from_secs(seconds), || async {
        let now: Vec<(String, Call)> = pending.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let answers: Vec<((String, Call), Result<Exchange, String>)> = futures::stream::iter(now)
            .map(|call| async move {
                let ex = call.1.send().await.map_err(|e| e.to_string());
                (call, ex)
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let mut still = vec![];
        let mut example = None;
        for (call, answer) in answers {
            let fault = match &answer {
                Ok(ex) => field_fault(ex, field, expected),
                Err(e) => Some(e.clone()),
            };
            if let Ok(ex) = answer {
                *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(ex.clone());
                if fault.is_some() && example.is_none() {
                    example = Some(format!(
                        "GET {} answered {}",
                        call.0,
                        fault.clone().unwrap_or_default()
                    ));
                }
            } else if example.is_none() {
                example = fault.clone().map(|f| format!("GET {}: {f}", call.0));
            }
            if fault.is_some() {
                still.push(call);
            }
        }
        let left = still.len();
        *pending.lock().unwrap_or_else(|e| e.into_inner()) = still;
        match (left, example) {
            (0, _) => Ok(Some(())),
            (1, Some(e)) if total == 1 => Err(e),
            (n, e) => Err(format!("{n} of {total} not yet; {}", e.unwrap_or_default())),
        }
    })
    .await;
    let last = last.into_inner().unwrap_or_else(|e| e.into_inner());
    (last, outcome)
}

/// Fails with `waited`, saying what the queues the scenario published to hold (unless
/// the early stop cut the wait short).
async fn missing(
    world: &QaWorld,
    waited: wait::Waited,
    message: impl FnOnce(String) -> String,
) -> StepError {
    let queues = match (&waited, world.ctx()) {
        (w, Ok(ctx)) if !w.is_cancelled() => whereabouts::describe_mine(&ctx, world).await,
        _ => String::new(),
    };
    let last = world.last_exchange();
    waited
        .map(|seen| format!("{}\n{last}{queues}", message(seen)))
        .into()
}

#[then(expr = "within {int} seconds the JSON field {string} of GET {string} is {string}")]
async fn field_becomes(
    world: &mut QaWorld,
    seconds: u64,
    field: String,
    path: String,
    expected: String,
) -> StepResult {
    let shown = world.fill(&path);
    let call = world.call("GET", Target::FrontDoor, &shown)?;
    let (last, outcome) = poll(vec![(shown.clone(), call)], seconds, &field, &expected).await;
    if let Some(ex) = last {
        world.batch = vec![ex.clone()];
        world.last = Some(ex);
    }
    let Err(waited) = outcome else {
        return Ok(());
    };
    Err(missing(world, waited, |seen| {
        format!(
            "expected the JSON field {field} of GET {shown} to be {expected:?} within {seconds} s, last saw {seen}"
        )
    })
    .await)
}

#[then(
    expr = "within {int} seconds the JSON field {string} of GET {string} is {string} for every message of the burst"
)]
async fn field_becomes_for_burst(
    world: &mut QaWorld,
    seconds: u64,
    field: String,
    path: String,
    expected: String,
) -> StepResult {
    if world.burst.is_empty() {
        return Err("no burst was published before this step".into());
    }
    let placeholder = format!("{{{MESSAGE_ID}}}");
    if !path.contains(&placeholder) {
        return Err(format!(
            "the path {path:?} names no message: put {placeholder} where each message's id goes"
        )
        .into());
    }
    // A burst message's id is its key.
    let calls = world
        .burst
        .iter()
        .map(|id| {
            let one = path.replace(&placeholder, id);
            Ok::<_, StepError>((one.clone(), world.call("GET", Target::FrontDoor, &one)?))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let n = calls.len();
    let (last, outcome) = poll(calls, seconds, &field, &expected).await;
    if let Some(ex) = last {
        world.last = Some(ex);
    }
    let Err(waited) = outcome else {
        return Ok(());
    };
    Err(missing(world, waited, |seen| {
        format!(
            "expected the JSON field {field} of GET {path} to be {expected:?} for each of the burst's {n} messages within {seconds} s: {seen}"
        )
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(status: u16, body: &str) -> Exchange {
        Exchange {
            body: body.into(),
            ..Exchange::get_answered("http://127.0.0.1:1/ledger/jobs/m-1", status)
        }
    }

    #[test]
    fn the_field_must_hold_the_value_in_a_2xx_json_answer() {
        assert_eq!(
            field_fault(&ex(200, r#"{"count": 1}"#), "/count", "1"),
            None
        );
        assert_eq!(
            field_fault(&ex(200, r#"{"count": 2}"#), "/count", "1").as_deref(),
            Some("/count = 2")
        );
        assert_eq!(
            field_fault(&ex(200, r#"{"total": 1}"#), "/count", "1").as_deref(),
            Some("no field /count")
        );
        assert_eq!(
            field_fault(&ex(404, r#"{"count": 1}"#), "/count", "1").as_deref(),
            Some("status 404")
        );
        assert_eq!(
            field_fault(&ex(200, "count=1"), "/count", "1").as_deref(),
            Some("a body that is not JSON")
        );
        // A dotted path still works.
        assert_eq!(
            field_fault(&ex(200, r#"{"a": {"b": "x"}}"#), "a.b", "x"),
            None
        );
    }
}
