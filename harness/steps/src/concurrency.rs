//! Concurrency: N requests at one resource, released together, and conservation rules
//! on what the system reports afterwards. A race on shared state (two buyers of the last
//! unit, one request retried at once, a balance spent twice) shows only when the writes
//! really overlap, so the requests are built first, wait at a barrier, and are sent in
//! the same instant; every answer is kept.
//!
//! The steps know HTTP and JSON only. What a resource means (an order, its stock) is for
//! the feature to say, with the placeholders `{client}` (the sending client's id) and any
//! value an earlier step named for the scenario ([`QaWorld::fill`], e.g. `{product}`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use contract_tools::jwt::Tier;
use cucumber::gherkin::Step;
use cucumber::{then, when};
use futures::future::join_all;
use tokio::sync::Barrier;

use super::StepResult;
use crate::StepError;
use crate::batch::{describe_split, per_replica, sample};
use crate::packs::default_scopes;
use crate::world::{Client, Credentials, Exchange, Mark, QaWorld, Race, SentLog, hinted};
use qalens_engine::checks::exchange::{created, json_field};
use qalens_engine::clients::ClientError;
use qalens_engine::clients::http::{Call, Target};
use qalens_engine::context::RunContext;
use qalens_engine::tokens::{TOKEN_TTL, now};
use qalens_engine::wait;

/// The most requests one step sends at once.
const MAX_AT_ONCE: usize = 200;

/// Placeholder in paths and bodies for the id of the client that sends the request.
const CLIENT: &str = "{client}";

fn docstring(step: &Step) -> Result<String, StepError> {
    step.docstring
        .as_ref()
        .map(|d| d.trim().to_string())
        .ok_or_else(|| {
            "this step needs the request body as a doc string (\"\"\" ... \"\"\")".into()
        })
}

fn check_count(n: usize) -> StepResult {
    if (1..=MAX_AT_ONCE).contains(&n) {
        Ok(())
    } else {
        Err(format!("send between 1 and {MAX_AT_ONCE} requests at once, not {n}").into())
    }
}

/// `method path` with a JSON `body` as `client`, not sent yet.
fn json_call(
    ctx: &RunContext,
    sent: &SentLog,
    mark: &Mark,
    client: &Client,
    method: &str,
    path: &str,
    body: &str,
) -> Result<Call, StepError> {
    let mut call = Call::as_client(ctx, sent, mark, client, method, Target::FrontDoor, path)?
        .header("content-type", "application/json");
    call.body = Some(body.to_string());
    Ok(call)
}

/// Sends every call at the same instant: each waits at one barrier until all are built
/// and polled, then all go. Answers come back in the order of `calls`.
pub(crate) async fn release_together(calls: Vec<Call>) -> Result<Vec<Exchange>, ClientError> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    join_all(calls.into_iter().map(|call| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            call.send().await
        }
    }))
    .await
    .into_iter()
    .collect()
}

/// Records the answers (as the batch the status checks read, and as the race).
fn record(world: &mut QaWorld, path: String, senders: Vec<String>, answers: Vec<Exchange>) {
    world.last = answers.last().cloned();
    world.batch = answers.clone();
    world.race = Race {
        path,
        answers: senders.into_iter().zip(answers).collect(),
    };
}

/// Gets a valid token of `client` ready before the barrier (a token command runs here),
/// so that fetching it does not spread the requests out.
async fn fetch_token(ctx: &RunContext, client: &Client) -> StepResult {
    let issuer = ctx.endpoints.identity.clone();
    issuer.valid(&client.who(), now() + TOKEN_TTL).await?;
    Ok(())
}

#[when(expr = "{int} clients {string} each send {word} {string} at once with the body:")]
async fn clients_send_at_once(
    world: &mut QaWorld,
    step: &Step,
    n: usize,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    check_count(n)?;
    let template = docstring(step)?;
    let ctx = world.ctx()?;
    let scopes = default_scopes(&ctx.system);
    let (mut calls, mut senders) = (vec![], vec![]);
    for i in 1..=n {
        let sender = format!("{name}-{i}");
        let client = Client {
            id: world.scoped(&sender),
            tier: Tier::Free,
            scope: scopes.clone(),
            credentials: Credentials::Valid,
        };
        fetch_token(&ctx, &client).await?;
        let fill = |t: &str| world.fill(t).replace(CLIENT, &client.id);
        let (path, body) = (fill(&path), fill(&template));
        calls.push(json_call(
            &ctx,
            &world.sent,
            &world.mark,
            &client,
            &method,
            &path,
            &body,
        )?);
        world.clients.insert(sender.clone(), client);
        senders.push(sender);
    }
    let answers = release_together(calls).await?;
    record(world, world.fill(&path), senders, answers);
    Ok(())
}

#[when(
    expr = "the client sends {int} copies of {word} {string} at once, with the header {string} set to {string} and the body:"
)]
async fn copies_at_once(
    world: &mut QaWorld,
    step: &Step,
    n: usize,
    method: String,
    path: String,
    header: String,
    value: String,
) -> StepResult {
    check_count(n)?;
    let client = world.client()?.clone();
    let sender = world
        .clients
        .iter()
        .find(|(_, c)| c.id == client.id)
        .map(|(name, _)| name.clone())
        .ok_or("the scenario's client has no name: start with `Given a free client \"alice\"`")?;
    // Unique to the scenario, the same for every copy: one request retried.
    let value = world.scoped(&value);
    let fill = |t: &str| world.fill(t).replace(CLIENT, &client.id);
    let (path, body) = (fill(&path), fill(&docstring(step)?));
    let call = json_call(
        &*world.ctx()?,
        &world.sent,
        &world.mark,
        &client,
        &method,
        &path,
        &body,
    )?
    .header(&header, &value);
    let answers = release_together(vec![call; n]).await?;
    record(world, path, vec![sender; n], answers);
    Ok(())
}

/// Counts of each status in `answers`, e.g. `1×201, 9×200`.
fn status_counts<'a>(answers: impl Iterator<Item = &'a Exchange>) -> String {
    let mut counts = BTreeMap::new();
    for e in answers {
        *counts.entry(e.status).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n}×{s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn race(world: &QaWorld) -> Result<&Race, StepError> {
    if world.race.answers.is_empty() {
        return Err("no requests were sent at once before this step: start with `When N clients \"buyer\" each send ... at once with the body:`".into());
    }
    Ok(&world.race)
}

#[then(expr = "exactly {int} of the responses was/were 2xx")]
async fn exactly_n_2xx(world: &mut QaWorld, n: usize) -> StepResult {
    if world.batch.is_empty() {
        return Err("no requests were sent before this step".into());
    }
    let ok = |e: &Exchange| (200..300).contains(&e.status);
    let seen = world.batch.iter().filter(|e| ok(e)).count();
    if seen == n {
        return Ok(());
    }
    let split = per_replica(&world.ctx()?.endpoints.gateways, &world.batch, ok)
        .map(|s| format!("; {}", describe_split(&s, Some(n))))
        .unwrap_or_default();
    let which = match seen > n {
        true => format!("response {} that was 2xx", n + 1),
        false => "the first response that was not 2xx".to_string(),
    };
    let message = format!(
        "expected exactly {n} of {} responses to be 2xx, saw {seen} ({}){split}\n{which}:\n{}",
        world.batch.len(),
        status_counts(world.batch.iter()),
        sample(&world.batch, n, ok)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    let hint = match seen < n {
        // The requests sent at once came from their own clients: the first sender's.
        true => {
            let sender = world
                .race
                .answers
                .first()
                .and_then(|(n, _)| world.clients.get(n));
            world.refused_hint(sender.or(world.client.as_ref()), &world.batch)
        }
        false => None,
    };
    Err(hinted(message, hint).into())
}

/// The JSON value at `field` of `e`'s body, as text (`null` when it has none).
fn field_of(e: &Exchange, field: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&e.body)
        .ok()
        .and_then(|body| json_field(&body, field).cloned())
        .map_or_else(
            || "null".to_string(),
            |v| v.as_str().map_or_else(|| v.to_string(), str::to_string),
        )
}

/// Each distinct value in `values` with how many times it came, most frequent first.
fn tally(values: impl Iterator<Item = String>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn shown(tally: &[(String, usize)]) -> String {
    tally
        .iter()
        .map(|(v, n)| format!("{n}×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every answer names one and the same thing: its JSON `field` (an id) is present and
/// equal in all of them.
#[then(expr = "every response has the same JSON field {string}")]
async fn same_field(world: &mut QaWorld, field: String) -> StepResult {
    let race = race(world)?;
    let values = tally(race.answers.iter().map(|(_, e)| field_of(e, &field)));
    match values.as_slice() {
        [(v, _)] if v != "null" => Ok(()),
        _ => Err(StepError::expected(
            format!(
                "all {} responses to have one and the same JSON field {field:?}",
                race.answers.len()
            ),
            format!(
                "{} ({})",
                shown(&values),
                status_counts(race.answers.iter().map(|(_, e)| e))
            ),
        )),
    }
}

/// What to read for every resource a 2xx answer of the race created (its `Location`,
/// else the path plus the body's `id`): a GET as the client that created it.
fn created_reads(world: &QaWorld) -> Result<Vec<(String, Call)>, StepError> {
    let race = race(world)?;
    let mut reads = vec![];
    for (sender, answer) in race
        .answers
        .iter()
        .filter(|(_, e)| (200..300).contains(&e.status))
    {
        let resource = created(&race.path, answer)?;
        let client = world
            .clients
            .get(sender)
            .ok_or_else(|| format!("no client {sender:?} in this scenario"))?;
        let call = Call::as_client(
            &*world.ctx()?,
            &world.sent,
            &world.mark,
            client,
            "GET",
            Target::FrontDoor,
            &resource.path,
        )?;
        reads.push((resource.path, call));
    }
    if reads.is_empty() {
        return Err(format!(
            "none of the {} responses created anything (no 2xx: {})",
            race.answers.len(),
            status_counts(race.answers.iter().map(|(_, e)| e))
        )
        .into());
    }
    Ok(reads)
}

/// Reads every created resource now: (its path, its JSON `field` as text), or an error
/// when its creator cannot read it.
async fn read_field(
    reads: &[(String, Call)],
    field: &str,
) -> Result<Vec<(String, String)>, StepError> {
    let mut out = vec![];
    for (path, call) in reads {
        let ex = call.send().await?;
        if !(200..300).contains(&ex.status) {
            return Err(format!("the client that created {path} could not read it\n{ex}").into());
        }
        out.push((path.clone(), field_of(&ex, field)));
    }
    Ok(out)
}

/// The created resources settle: waits until none has `field` = `value` any more (a
/// PENDING state), so the counts that follow are final.
#[then(
    expr = "within {int} seconds none of the created resources has the JSON field {string} set to {string}"
)]
async fn none_still(world: &mut QaWorld, seconds: u64, field: String, value: String) -> StepResult {
    let reads = created_reads(world)?;
    wait::until(Duration::from_secs(seconds), || async {
        let seen = read_field(&reads, &field)
            .await
            .map_err(|e| e.to_string())?;
        let still: Vec<&str> = seen
            .iter()
            .filter(|(_, v)| *v == value)
            .map(|(path, _)| path.as_str())
            .collect();
        if still.is_empty() {
            Ok(Some(()))
        } else {
            Err(format!(
                "{} of {} created resources still have {field:?} = {value:?}: {}",
                still.len(),
                seen.len(),
                still.join(", ")
            ))
        }
    })
    .await
    .map_err(|waited| waited.map(|seen| format!("not within {seconds} s: {seen}")))?;
    Ok(())
}

/// Exactly `n` of the created resources have `field` = `value` now.
#[then(
    expr = "exactly {int} of the created resources have the JSON field {string} set to {string}"
)]
async fn exactly_n_created_with(
    world: &mut QaWorld,
    n: usize,
    field: String,
    value: String,
) -> StepResult {
    let seen = read_field(&created_reads(world)?, &field).await?;
    let matching = seen.iter().filter(|(_, v)| *v == value).count();
    if matching == n {
        return Ok(());
    }
    Err(StepError::expected(
        format!(
            "exactly {n} of the {} created resources to have the JSON field {field:?} set to {value:?}",
            seen.len()
        ),
        format!(
            "{matching} ({})",
            shown(&tally(seen.into_iter().map(|(_, v)| v)))
        ),
    ))
}

/// The number at `field` of the JSON `GET path` answers as the scenario's client.
async fn number_at(world: &QaWorld, path: &str, field: &str) -> Result<i64, StepError> {
    let ex = world.call("GET", Target::FrontDoor, path)?.send().await?;
    if !(200..300).contains(&ex.status) {
        return Err(format!("GET {path} answered {}\n{ex}", ex.status).into());
    }
    let text = field_of(&ex, field);
    text.parse().map_err(|_| {
        format!("the JSON field {field:?} of GET {path} is {text}, not a whole number\n{ex}").into()
    })
}

/// Waits until the sum of `fields` at `GET path` is `expected`.
async fn sum_within(
    world: &QaWorld,
    seconds: u64,
    fields: &[&str],
    path: &str,
    expected: i64,
) -> StepResult {
    let path = world.fill(path);
    let path = path.as_str();
    wait::until(Duration::from_secs(seconds), || async {
        let mut parts = vec![];
        for field in fields {
            let n = number_at(world, path, field)
                .await
                .map_err(|e| e.to_string())?;
            parts.push((*field, n));
        }
        let sum: i64 = parts.iter().map(|(_, v)| v).sum();
        if sum == expected {
            Ok(Some(()))
        } else {
            let shown: Vec<String> = parts.iter().map(|(f, v)| format!("{f:?} = {v}")).collect();
            Err(format!("{sum} ({})", shown.join(", ")))
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| {
            let fields: Vec<String> = fields.iter().map(|f| format!("{f:?}")).collect();
            format!(
                "GET {path}: {} did not come to {expected} within {seconds} s; last seen: {seen}",
                fields.join(" + ")
            )
        })
    })?;
    Ok(())
}

#[then(expr = "within {int} seconds the JSON field {string} of GET {string} is {int}")]
async fn field_of_get_is(
    world: &mut QaWorld,
    seconds: u64,
    field: String,
    path: String,
    expected: i64,
) -> StepResult {
    sum_within(world, seconds, &[&field], &path, expected).await
}

/// A conservation rule: two counters of one resource (units available and units held)
/// always add up to what there was.
#[then(
    expr = "within {int} seconds the JSON fields {string} and {string} of GET {string} add up to {int}"
)]
async fn fields_add_up(
    world: &mut QaWorld,
    seconds: u64,
    first: String,
    second: String,
    path: String,
    expected: i64,
) -> StepResult {
    sum_within(world, seconds, &[&first, &second], &path, expected).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            body: body.into(),
            ..Exchange::get_answered("http://127.0.0.1/items", status)
        }
    }

    #[test]
    fn a_field_reads_as_its_text_and_a_missing_one_as_null() {
        let e = answer(
            201,
            r#"{"id": "a1", "n": 3, "part": {"status": "PENDING"}}"#,
        );
        assert_eq!(field_of(&e, "id"), "a1");
        assert_eq!(field_of(&e, "n"), "3");
        assert_eq!(field_of(&e, "part.status"), "PENDING");
        assert_eq!(field_of(&e, "absent"), "null");
        assert_eq!(field_of(&answer(500, "not json"), "id"), "null");
    }

    #[test]
    fn a_tally_counts_each_value_most_frequent_first() {
        let t = tally(["b", "a", "b", "c", "b", "a"].map(String::from).into_iter());
        assert_eq!(shown(&t), "3×b, 2×a, 1×c");
        assert!(tally(std::iter::empty()).is_empty());
    }

    #[test]
    fn statuses_are_counted_in_order() {
        let answers = [answer(201, ""), answer(200, ""), answer(200, "")];
        assert_eq!(status_counts(answers.iter()), "2×200, 1×201");
    }

    #[test]
    fn scenario_values_fill_paths_and_bodies() {
        let mut world = QaWorld::new();
        world.values.insert("product".into(), "P-S1".into());
        assert_eq!(
            world.fill(r#"{"sku": "{product}", "customer": "{client}"}"#),
            r#"{"sku": "P-S1", "customer": "{client}"}"#
        );
        assert_eq!(world.fill("/stock/{product}"), "/stock/P-S1");
    }

    #[test]
    fn counts_outside_the_bounds_are_refused() {
        assert!(check_count(0).is_err());
        assert!(check_count(1).is_ok());
        assert!(check_count(MAX_AT_ONCE).is_ok());
        assert!(check_count(MAX_AT_ONCE + 1).is_err());
    }
}
