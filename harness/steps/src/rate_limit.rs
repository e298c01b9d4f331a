//! Rate limits: the headers of limited answers and waiting as long as the server says.

use std::time::Duration;

use cucumber::{given, then, when};
use tokio::time::Instant;

use super::StepResult;
use crate::StepError;
use futures::future::join_all;

use crate::world::{Exchange, QaWorld};
use qalens_engine::checks::exchange::{header, param, retry_after, sf_params};
use qalens_engine::clients::http::Target;

#[then(expr = "the response has a Retry-After of at least 1 whole second")]
async fn has_retry_after(world: &mut QaWorld) -> StepResult {
    let last = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    retry_after(last)?;
    Ok(())
}

#[then(expr = "every 429 response had a Retry-After between {int} and {int} seconds")]
async fn every_retry_after_within(world: &mut QaWorld, min: u64, max: u64) -> StepResult {
    let refused: Vec<&Exchange> = world.batch.iter().filter(|e| e.status == 429).collect();
    if refused.is_empty() {
        return Err("no response of the last batch was a 429".into());
    }
    for e in refused {
        let secs = retry_after(e)?;
        if !(min..=max).contains(&secs) {
            return Err(format!(
                "Retry-After: {secs} is outside {min} to {max} seconds (a client would wait too \
                 long, or retry too soon)\n{e}"
            )
            .into());
        }
    }
    Ok(())
}

#[then(
    expr = "the response has well-formed RateLimit headers for a limit of {int} per {int} seconds"
)]
async fn ratelimit_headers(world: &mut QaWorld, limit: u64, window: u64) -> StepResult {
    let e = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    let policy =
        header(e, "ratelimit-policy").ok_or_else(|| format!("no RateLimit-Policy header\n{e}"))?;
    let (pname, pparams) = sf_params(policy)
        .ok_or_else(|| format!("RateLimit-Policy: {policy:?} is not `\"name\";q=N;w=S`\n{e}"))?;
    if param(&pparams, "q") != Some(limit) || param(&pparams, "w") != Some(window) {
        return Err(StepError::expected_of(
            format!("RateLimit-Policy with q={limit};w={window}"),
            format!("{policy:?}"),
            e,
        ));
    }
    let current = header(e, "ratelimit").ok_or_else(|| format!("no RateLimit header\n{e}"))?;
    let (name, params) = sf_params(current)
        .ok_or_else(|| format!("RateLimit: {current:?} is not `\"name\";r=N;t=S`\n{e}"))?;
    let (Some(r), Some(t)) = (param(&params, "r"), param(&params, "t")) else {
        return Err(format!("RateLimit: {current:?} lacks integer r and t\n{e}").into());
    };
    if name != pname || r > limit || t > window {
        return Err(
            format!("RateLimit {current:?} does not fit RateLimit-Policy {policy:?}\n{e}").into(),
        );
    }
    Ok(())
}

/// The seconds until the window of `path` resets, as the server's `RateLimit` header
/// (`"name";r=N;t=S`) tells a client that has sent nothing to it yet, so asking costs the
/// scenario's own client nothing.
async fn seconds_left(world: &mut QaWorld, path: &str, probe: usize) -> Result<u64, StepError> {
    let client = world
        .client
        .clone()
        .ok_or("no client: say `Given a free client \"name\"` first")?;
    let mut stranger = client.clone();
    stranger.id = format!("{}-window-probe-{probe}", client.id);
    world.client = Some(stranger);
    let call = world.call("GET", Target::FrontDoor, path);
    world.client = Some(client);
    let e = call?.send().await?;
    let current = header(&e, "ratelimit").ok_or_else(|| format!("no RateLimit header\n{e}"))?;
    sf_params(current)
        .and_then(|(_, params)| param(&params, "t"))
        .ok_or_else(|| format!("RateLimit: {current:?} lacks an integer t\n{e}").into())
}

/// Waits, when needed, for the next window of `path` so that at least `secs` seconds of
/// it remain: a scenario whose steps must land in one window (a count that must survive
/// a restart, say) cannot then straddle a window boundary, however the clock falls.
#[given(expr = "the current window of {string} has at least {int} seconds left")]
async fn window_has_time_left(world: &mut QaWorld, path: String, secs: u64) -> StepResult {
    for probe in 1..=2 {
        let left = seconds_left(world, &path, probe).await?;
        if left >= secs {
            return Ok(());
        }
        if left > 120 {
            return Err(
                format!("the window resets in {left} s, longer than a scenario may wait").into(),
            );
        }
        // The server said when its window ends; what follows needs the next one.
        tokio::time::sleep_until(
            Instant::now() + Duration::from_secs(left) + Duration::from_millis(200),
        )
        .await;
    }
    Err(
        format!("the window of {path} never had {secs} s left (is {secs} longer than the window?)")
            .into(),
    )
}

#[when(expr = "the client waits as long as Retry-After says")]
async fn wait_retry_after(world: &mut QaWorld) -> StepResult {
    let last = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    let secs = retry_after(last)?;
    if secs > 120 {
        return Err(
            format!("Retry-After: {secs} is longer than a scenario may wait (120 s)").into(),
        );
    }
    // The wait is what is under test: the server promised that a retry after it succeeds.
    tokio::time::sleep_until(Instant::now() + Duration::from_secs(secs)).await;
    Ok(())
}

#[when(expr = "the client sends {int} GET requests to {string} one every {int} milliseconds")]
async fn paced(world: &mut QaWorld, n: usize, path: String, every_ms: u64) -> StepResult {
    if n == 0 || n > 1000 || every_ms == 0 {
        return Err("send 1 to 1000 requests, at least 1 ms apart".into());
    }
    let call = world.call("GET", Target::FrontDoor, &path)?;
    // The pacing is the traffic pattern under test, not a wait for a condition.
    let mut ticks = tokio::time::interval(Duration::from_millis(every_ms));
    // A slow response must not make the next requests go out in a catch-up burst: the
    // gaps may only grow, never shrink, so a loaded machine cannot fake a stricter limiter.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(n);
    for _ in 0..n {
        ticks.tick().await;
        batch.push(call.send().await?);
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

/// Milliseconds since the Unix epoch on this machine's clock, which containers share.
fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sleeps until the epoch clock reads `at_ms`.
async fn until_epoch_ms(at_ms: u64) {
    let wait = at_ms.saturating_sub(epoch_ms());
    // Placing traffic at a point of the clock is the pattern under test, not a wait for a
    // condition.
    tokio::time::sleep_until(Instant::now() + Duration::from_millis(wait)).await;
}

#[when(
    expr = "the client sends {int} GET requests to {string} at once just before a {int}-second clock boundary and {int} more just after it"
)]
async fn edge_burst(
    world: &mut QaWorld,
    before: usize,
    path: String,
    seconds: u64,
    after: usize,
) -> StepResult {
    if !(1..=60).contains(&seconds) || before == 0 || after == 0 || before + after > 1000 {
        return Err("use a 1 to 60 second boundary and 1 to 1000 requests in all".into());
    }
    // Fixed windows start at multiples of their length on the Unix clock. The first burst
    // goes out 700 ms before such a boundary, the second 150 ms after it: far apart
    // enough that clock jitter cannot move a burst across the boundary, close enough that
    // both lie inside one window-long span.
    let window = seconds * 1000;
    let boundary = (epoch_ms() + 800).div_ceil(window) * window;
    let call = world.call("GET", Target::FrontDoor, &path)?;
    until_epoch_ms(boundary - 700).await;
    let mut batch: Vec<Exchange> = join_all((0..before).map(|_| call.send()))
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    if epoch_ms() >= boundary {
        return Err(format!(
            "the first burst took {} ms and did not finish before the boundary; the machine is too loaded for this traffic pattern",
            epoch_ms() + 700 - boundary
        ).into());
    }
    until_epoch_ms(boundary + 150).await;
    for r in join_all((0..after).map(|_| call.send())).await {
        batch.push(r?);
    }
    world.last = batch.last().cloned();
    world.batch = batch;
    Ok(())
}

#[then(expr = "no {int}-second span held more than {int} successful responses")]
async fn no_span_over(world: &mut QaWorld, seconds: u64, limit: usize) -> StepResult {
    // Client-side send times differ from the limiter's clock by network jitter: spans are
    // measured 150 ms shorter than the window so jitter cannot cause a false alarm.
    let span = Duration::from_secs(seconds).saturating_sub(Duration::from_millis(150));
    let ok: Vec<&Exchange> = world
        .batch
        .iter()
        .filter(|e| (200..300).contains(&e.status))
        .collect();
    for (i, first) in ok.iter().enumerate() {
        let inside: Vec<&&Exchange> = ok[i..]
            .iter()
            .take_while(|e| e.sent_at.duration_since(first.sent_at) < span)
            .collect();
        if inside.len() > limit {
            let start = world.batch[0].sent_at;
            let times: Vec<String> = inside
                .iter()
                .map(|e| format!("{} ms", e.sent_at.duration_since(start).as_millis()))
                .collect();
            return Err(format!(
                "{} requests succeeded within {} ms (sent at {}), more than the {limit} allowed per {seconds} s",
                inside.len(),
                span.as_millis(),
                times.join(", ")
            ).into());
        }
    }
    Ok(())
}
