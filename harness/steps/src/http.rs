//! HTTP requests and responses: one request, N in a row, N at once, or spread over the
//! gateway replicas; exact counts of statuses; headers and problem bodies.

use std::time::Duration;

use cucumber::{then, when};
use futures::future::join_all;

use super::StepResult;
use crate::StepError;
use crate::batch::{describe_split, per_replica, sample};
use crate::world::{Exchange, QaWorld, hinted};
use qalens_engine::checks::exchange::{check_json_field, header};
use qalens_engine::clients::http::{Call, Target};

/// How a batch is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// One after another through the front door.
    Sequential,
    /// All at once through the front door.
    Concurrent,
    /// One after another, replica 1, 2, ..., K, 1, ...
    RoundRobin,
    /// All at once, request i to replica i mod K.
    ConcurrentAcrossReplicas,
    /// All at once to one replica.
    ConcurrentOn(usize),
}

async fn send_batch(
    world: &mut QaWorld,
    n: usize,
    method: &str,
    path: &str,
    spread: Spread,
) -> StepResult {
    if n == 0 || n > 100_000 {
        return Err(format!("send between 1 and 100000 requests, not {n}").into());
    }
    let replicas = world.ctx()?.endpoints.gateways.len().max(1);
    let calls = (0..n)
        .map(|i| {
            let target = match spread {
                Spread::Sequential | Spread::Concurrent => Target::FrontDoor,
                Spread::RoundRobin | Spread::ConcurrentAcrossReplicas => {
                    Target::Replica(i % replicas + 1)
                }
                Spread::ConcurrentOn(k) => Target::Replica(k),
            };
            world.call(method, target, path)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let exchanges = match spread {
        Spread::Sequential | Spread::RoundRobin => {
            let mut out = Vec::with_capacity(n);
            for c in &calls {
                out.push(c.send_kept().await?);
            }
            out
        }
        Spread::Concurrent | Spread::ConcurrentAcrossReplicas | Spread::ConcurrentOn(_) => {
            join_all(calls.iter().map(Call::send_kept))
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    world.last = exchanges.last().cloned();
    world.batch = exchanges;
    Ok(())
}

#[when(expr = "the client sends {word} {string}")]
async fn sends(world: &mut QaWorld, method: String, path: String) -> StepResult {
    let call = world.call(&method, Target::FrontDoor, &path)?;
    world.send_one(call).await
}

#[when(expr = "the client sends {word} {string} to gateway replica {int}")]
async fn sends_to_replica(
    world: &mut QaWorld,
    method: String,
    path: String,
    replica: usize,
) -> StepResult {
    let call = world.call(&method, Target::Replica(replica), &path)?;
    world.send_one(call).await
}

#[when(expr = "the client sends {word} {string} with the header {string} set to {string}")]
async fn sends_with_header(
    world: &mut QaWorld,
    method: String,
    path: String,
    name: String,
    value: String,
) -> StepResult {
    let call = world
        .call(&method, Target::FrontDoor, &path)?
        .header(&name, &value);
    world.send_one(call).await
}

#[when(expr = "the client sends {int} {word} requests to {string}")]
async fn sends_n(world: &mut QaWorld, n: usize, method: String, path: String) -> StepResult {
    send_batch(world, n, &method, &path, Spread::Sequential).await
}

#[when(expr = "the client sends {int} {word} requests to {string} at once")]
async fn sends_n_at_once(
    world: &mut QaWorld,
    n: usize,
    method: String,
    path: String,
) -> StepResult {
    send_batch(world, n, &method, &path, Spread::Concurrent).await
}

#[when(
    expr = "the client sends {int} {word} requests to {string} round-robin across the gateway replicas"
)]
async fn sends_n_round_robin(
    world: &mut QaWorld,
    n: usize,
    method: String,
    path: String,
) -> StepResult {
    send_batch(world, n, &method, &path, Spread::RoundRobin).await
}

#[when(
    expr = "the client sends {int} {word} requests to {string} at once across the gateway replicas"
)]
async fn sends_n_at_once_across(
    world: &mut QaWorld,
    n: usize,
    method: String,
    path: String,
) -> StepResult {
    send_batch(world, n, &method, &path, Spread::ConcurrentAcrossReplicas).await
}

fn last(world: &QaWorld) -> Result<&Exchange, StepError> {
    world
        .last
        .as_ref()
        .ok_or_else(|| "no request was sent before this step".into())
}

#[when(
    expr = "the client sends {int} {word} requests to {string} at once on gateway replica {int}"
)]
async fn sends_n_at_once_on(
    world: &mut QaWorld,
    n: usize,
    method: String,
    path: String,
    replica: usize,
) -> StepResult {
    send_batch(world, n, &method, &path, Spread::ConcurrentOn(replica)).await
}

#[then(expr = "the response status is {int}")]
async fn response_status_is(world: &mut QaWorld, expected: u16) -> StepResult {
    let last = last(world)?;
    if last.status == expected {
        return Ok(());
    }
    let hint = match (200..300).contains(&expected) {
        true => world.refused_hint(world.client.as_ref(), std::slice::from_ref(last)),
        false => None,
    };
    Err(StepError::expected_after(
        format!("status {expected}"),
        hinted(last.status.to_string(), hint),
        world.last.as_ref(),
    ))
}

/// Whatever refusal a system chooses (401, 403 or 404 for a route a client may not see),
/// the last response had one of these statuses.
#[then(regex = r"^the response status is one of (\d{3}(?:(?:,| or|, or) \d{3})+)$")]
async fn response_status_is_one_of(world: &mut QaWorld, statuses: String) -> StepResult {
    let allowed = statuses_in(&statuses)?;
    let last = last(world)?;
    if allowed.contains(&last.status) {
        return Ok(());
    }
    let hint = match allowed.iter().any(|s| (200..300).contains(s)) {
        true => world.refused_hint(world.client.as_ref(), std::slice::from_ref(last)),
        false => None,
    };
    Err(StepError::expected_after(
        format!("a status of {statuses}"),
        hinted(last.status.to_string(), hint),
        world.last.as_ref(),
    ))
}

/// The statuses of `401, 403 or 404`.
fn statuses_in(list: &str) -> Result<Vec<u16>, StepError> {
    list.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            _ => Err(format!("{s} is not an HTTP status (100 to 599)").into()),
        })
        .collect()
}

/// The last response's status is not in this class: `2xx` for "not let through".
#[then(regex = r"^the response status is not ([1-5])xx$")]
async fn response_status_is_not_class(world: &mut QaWorld, class: u16) -> StepResult {
    let last = last(world)?;
    if last.status / 100 != class {
        return Ok(());
    }
    Err(StepError::expected_after(
        format!("a status other than {class}xx"),
        last.status.to_string(),
        world.last.as_ref(),
    ))
}

fn status_counts(batch: &[Exchange]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for e in batch {
        *counts.entry(e.status).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| match s {
            0 => format!("{n}× no response"),
            s => format!("{n}×{s}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[then(expr = "exactly {int} of the responses had status {int}")]
async fn exactly_n_had(world: &mut QaWorld, n: usize, status: u16) -> StepResult {
    if world.batch.is_empty() {
        return Err("no requests were sent before this step".into());
    }
    let had = |e: &Exchange| e.status == status;
    let seen = world.batch.iter().filter(|e| had(e)).count();
    if seen == n {
        return Ok(());
    }
    let replicas = &world.ctx()?.endpoints.gateways;
    let split = per_replica(replicas, &world.batch, had)
        .map(|s| format!("; {}", describe_split(&s, Some(n))))
        .unwrap_or_default();
    let (which, example) = match sample(&world.batch, n, had) {
        Some(e) if seen > n && had(e) => (format!("response {} with status {status}", n + 1), e),
        Some(e) => ("the first response with another status".to_string(), e),
        None => return Err("no requests were sent before this step".into()),
    };
    let hint = match (200..300).contains(&status) && seen < n {
        true => world.refused_hint(world.client.as_ref(), &world.batch),
        false => None,
    };
    let message = format!(
        "expected exactly {n} of {} responses with status {status}, saw {seen} ({}){split}\n{which}:\n{example}",
        world.batch.len(),
        status_counts(&world.batch),
    );
    Err(hinted(message, hint).into())
}

#[then(expr = "at least {int} of the responses had status {int}")]
async fn at_least_n_had(world: &mut QaWorld, n: usize, status: u16) -> StepResult {
    let seen = world.batch.iter().filter(|e| e.status == status).count();
    if seen >= n {
        Ok(())
    } else {
        Err(StepError::expected(
            format!(
                "at least {n} of {} responses with status {status}",
                world.batch.len()
            ),
            format!("{seen} ({})", status_counts(&world.batch)),
        ))
    }
}

#[then(expr = "the first {int} responses had status {int} and the rest {int}")]
async fn first_n_then_rest(world: &mut QaWorld, n: usize, first: u16, rest: u16) -> StepResult {
    let replicas = world.ctx()?.endpoints.gateways.clone();
    first_then_rest(&world.batch, n, first, rest, &replicas).map_err(|e| {
        let refused = world.batch.iter().take(n).any(|e| e.status == 401);
        let hint = match (200..300).contains(&first) && refused {
            true => world.refused_hint(
                world.client.as_ref(),
                &world.batch[..n.min(world.batch.len())],
            ),
            false => None,
        };
        hinted(e.to_string(), hint).into()
    })
}

/// The first `n` of `batch` had status `first` and the others, at least one, `rest`. A
/// failure on a batch sent to the gateway `replicas` one by one shows how the `first`
/// answers split over them.
fn first_then_rest(
    batch: &[Exchange],
    n: usize,
    first: u16,
    rest: u16,
    replicas: &[String],
) -> StepResult {
    if batch.len() <= n {
        return Err(format!(
            "expected the first {n} responses and at least one more, but the batch had {} \
             ({})",
            batch.len(),
            status_counts(batch)
        )
        .into());
    }
    for (i, e) in batch.iter().enumerate() {
        let expected = if i < n { first } else { rest };
        if e.status != expected {
            let got = if e.answered() {
                e.status.to_string()
            } else {
                "no response".to_string()
            };
            let split = per_replica(replicas, batch, |e| e.status == first)
                .map(|s| format!("; status {first}: {}", describe_split(&s, Some(n))))
                .unwrap_or_default();
            return Err(format!(
                "request {} of {} should have got {expected}, got {got} ({} overall){split}\n{e}",
                i + 1,
                batch.len(),
                status_counts(batch)
            )
            .into());
        }
    }
    Ok(())
}

#[then(expr = "the responses came from all {int} gateway replicas")]
async fn from_all_replicas(world: &mut QaWorld, k: usize) -> StepResult {
    let replicas: std::collections::BTreeSet<String> = world
        .batch
        .iter()
        .filter_map(|e| header(e, "x-gateway-replica").map(str::to_string))
        .collect();
    if replicas.len() == k {
        Ok(())
    } else {
        Err(StepError::expected(
            format!("answers from {k} replicas"),
            format!("replicas {replicas:?}"),
        ))
    }
}

#[then(expr = "the response has no header {string}")]
async fn has_no_header(world: &mut QaWorld, name: String) -> StepResult {
    let last = last(world)?;
    match header(last, &name) {
        None => Ok(()),
        Some(v) => Err(StepError::expected_after(
            format!("no {name} header"),
            format!("{name}: {v}"),
            world.last.as_ref(),
        )),
    }
}

#[then(expr = "the response header {string} is {string}")]
async fn header_is(world: &mut QaWorld, name: String, value: String) -> StepResult {
    let last = last(world)?;
    match header(last, &name) {
        Some(v) if v == value => Ok(()),
        other => Err(StepError::expected_after(
            format!("{name}: {value}"),
            format!("{other:?}"),
            world.last.as_ref(),
        )),
    }
}

#[then(expr = "the response is a problem with status {int}")]
async fn is_problem(world: &mut QaWorld, status: u16) -> StepResult {
    let last = last(world)?;
    let ctype = header(last, "content-type").unwrap_or_default();
    problem_fault(status, last.status, ctype, &last.body).map_or(Ok(()), |fault| {
        Err(format!(
            "expected an RFC 9457 problem with status {status}: {fault}\n{}",
            world.last_exchange()
        )
        .into())
    })
}

/// What keeps an answer (`seen` status, content type, body) from being an RFC 9457
/// problem with `status`, if anything. Every member is optional (`type` defaults to
/// `about:blank`); those present must have their types, and a `status` member must be
/// the answer's status.
fn problem_fault(status: u16, seen: u16, ctype: &str, body: &str) -> Option<String> {
    if seen != status {
        return Some(format!("the status is {seen}"));
    }
    let media = ctype.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/problem+json") {
        return Some(format!(
            "the content type is {ctype:?}, not application/problem+json"
        ));
    }
    let Ok(serde_json::Value::Object(members)) = serde_json::from_str(body) else {
        return Some("the body is not a JSON object".into());
    };
    match members.get("status") {
        None => {}
        Some(s) if s.as_u64() == Some(u64::from(status)) => {}
        Some(s) => return Some(format!("its \"status\" member is {s}")),
    }
    ["type", "title", "detail", "instance"]
        .into_iter()
        .find_map(|name| match members.get(name) {
            Some(v) if !v.is_string() => Some(format!("its {name:?} member is {v}, not a string")),
            _ => None,
        })
}

#[then(expr = "the response's JSON field {string} is {string}")]
async fn json_field_is(world: &mut QaWorld, path: String, expected: String) -> StepResult {
    Ok(check_json_field(last(world)?, &path, &expected)?)
}

#[then(expr = "every response arrived within {int} milliseconds")]
async fn all_within(world: &mut QaWorld, ms: u64) -> StepResult {
    if world.batch.is_empty() {
        return Err("no requests were sent before this step".into());
    }
    let limit = Duration::from_millis(ms);
    match world.batch.iter().max_by_key(|e| e.elapsed) {
        Some(slowest) if slowest.elapsed > limit => Err(format!(
            "expected every response within {ms} ms; the slowest took {} ms\n{slowest}",
            slowest.elapsed.as_millis()
        )
        .into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_a_response_is_counted_as_such() {
        let answered = |status| Exchange {
            method: "GET".into(),
            url: "http://door/x".into(),
            request_body: None,
            status,
            headers: vec![],
            body: String::new(),
            elapsed: Duration::from_millis(3),
            sent_at: std::time::Instant::now(),
        };
        let cause = std::io::Error::other("connection closed before message completed");
        let lost = Exchange::no_response(
            "GET",
            "http://door/x",
            None,
            &cause,
            std::time::Instant::now(),
        );
        let batch = [answered(200), lost.clone(), answered(200), answered(502)];
        assert_eq!(status_counts(&batch), "1× no response, 2×200, 1×502");
        let e = first_then_rest(&batch, 1, 200, 200, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("request 2 of 4 should have got 200, got no response"),
            "{e}"
        );
        assert!(e.contains("-> no response after"), "{e}");
        assert!(
            e.contains("connection closed before message completed"),
            "{e}"
        );
    }

    #[test]
    fn a_problem_needs_no_type_but_its_members_must_be_well_typed() {
        let pj = "application/problem+json";
        // RFC 9457: every member optional, `type` defaults to about:blank.
        assert_eq!(
            problem_fault(429, 429, pj, r#"{"title": "Too Many Requests"}"#),
            None
        );
        assert_eq!(
            problem_fault(429, 429, "application/problem+json; charset=utf-8", "{}"),
            None
        );
        assert_eq!(
            problem_fault(429, 429, pj, r#"{"type": "about:blank", "status": 429}"#),
            None
        );
        let fault = |seen, ctype, body| problem_fault(429, seen, ctype, body).unwrap();
        assert_eq!(fault(500, pj, "{}"), "the status is 500");
        assert_eq!(
            fault(429, "application/json", "{}"),
            "the content type is \"application/json\", not application/problem+json"
        );
        assert_eq!(fault(429, pj, "[]"), "the body is not a JSON object");
        assert_eq!(
            fault(429, pj, r#"{"status": 503}"#),
            "its \"status\" member is 503"
        );
        assert_eq!(
            fault(429, pj, r#"{"type": 7}"#),
            "its \"type\" member is 7, not a string"
        );
    }

    #[test]
    fn a_list_of_statuses_reads_with_commas_and_or() {
        assert_eq!(statuses_in("401, 403, 404").unwrap(), [401, 403, 404]);
        assert_eq!(statuses_in("401, 403 or 404").unwrap(), [401, 403, 404]);
        assert_eq!(statuses_in("401 or 403").unwrap(), [401, 403]);
        assert!(statuses_in("401, 999").is_err());
    }

    fn batch(statuses: &[u16]) -> Vec<Exchange> {
        statuses
            .iter()
            .map(|s| Exchange {
                method: "GET".into(),
                url: "http://127.0.0.1/limited".into(),
                request_body: None,
                status: *s,
                headers: vec![],
                body: String::new(),
                elapsed: std::time::Duration::ZERO,
                sent_at: std::time::Instant::now(),
            })
            .collect()
    }

    #[test]
    fn first_n_then_rest_needs_the_split_and_a_rest() {
        assert!(first_then_rest(&batch(&[200, 200, 429]), 2, 200, 429, &[]).is_ok());
        // A 429 too early, a 200 too late, no rest at all, an empty batch: all fail.
        assert!(first_then_rest(&batch(&[200, 429, 429]), 2, 200, 429, &[]).is_err());
        assert!(first_then_rest(&batch(&[200, 200, 200]), 2, 200, 429, &[]).is_err());
        assert!(first_then_rest(&batch(&[200, 200]), 2, 200, 429, &[]).is_err());
        // Sent round-robin to three replicas, all 12 granted: the failure shows 4/4/4.
        let replicas: Vec<String> = (1..=3).map(|k| format!("http://127.0.0.1:{k}")).collect();
        let mut spread = batch(&[200; 12]);
        for (i, e) in spread.iter_mut().enumerate() {
            e.url = format!("{}/limited", replicas[i % 3]);
        }
        let e = first_then_rest(&spread, 5, 200, 429, &replicas)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "request 6 of 12 should have got 429, got 200 (12×200 overall); status 200: \
                 4/4/4 per replica (of 4/4/4 sent); no replica let more than 5 through on its \
                 own, together they let 12"
            ),
            "{e}"
        );
        let empty = first_then_rest(&[], 5, 200, 429, &[])
            .unwrap_err()
            .to_string();
        assert!(empty.contains("the batch had 0"), "{empty}");
    }
}
