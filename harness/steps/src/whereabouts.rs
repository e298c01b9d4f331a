//! Where a queue's messages are, for failure messages: a step that waited in vain for a
//! message to be dead-lettered, for a queue to drain or for a consumer's effect says what
//! it saw in the queue instead. How many messages wait and how many consumers hold, what
//! sits at its head, how often the broker redelivered while the step waited, and where
//! each message the scenario put there is: still ready, dead-lettered, or held by a
//! consumer.

use std::fmt::Write as _;
use std::time::Instant;

use qalens_engine::clients::amqp::{self, Peeked};
use qalens_engine::clients::broker;
use qalens_engine::context::RunContext;
use qalens_model::input::shorten;

use crate::world::{QaWorld, Queued};

/// The most messages a description reads from a queue's head (each put back).
const PEEK: usize = 200;

/// The most of the scenario's own messages a description follows.
const MINE: usize = 5;

/// What a step noted about a queue when it began to wait, so its failure can say what
/// changed meanwhile.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    started: Instant,
    /// The broker's redelivery count then (the management API's statistics), if any.
    redeliveries: Option<u64>,
}

impl Watch {
    /// What was noted of `q`'s queue when `q` was published into it, if the broker's
    /// redeliveries were counted then: a longer view than the step's own.
    pub(crate) fn since_published(q: &Queued) -> Option<Self> {
        q.redeliveries_before.map(|before| Self {
            started: q.at,
            redeliveries: Some(before),
        })
    }

    /// Notes `queue` as it is now.
    pub(crate) async fn start(ctx: &RunContext, queue: &str) -> Self {
        let redeliveries = if broker::has_management(ctx) {
            broker::redeliveries(ctx, queue).await.ok()
        } else {
            None
        };
        Self {
            started: Instant::now(),
            redeliveries,
        }
    }
}

/// `peeked`'s body as a failure message quotes it.
fn quoted(body: &str) -> String {
    format!("{:?}", shorten(body, 60).to_string())
}

/// Whose a message is: the scenario's own (by its key) or another's.
fn whose(key: Option<&str>, mine: &[&Queued]) -> &'static str {
    match key {
        Some(k) if mine.iter().any(|q| q.key == k) => "this scenario's",
        _ => "not this scenario's",
    }
}

/// Where the scenario's message `q` is, given what was seen in its queue and its
/// dead-letter queue.
fn place(
    q: &Queued,
    ready: &[Peeked],
    dead: &[Peeked],
    dlq: Option<&str>,
    held: Option<u32>,
) -> String {
    let at = |list: &[Peeked]| list.iter().position(|p| p.key.as_deref() == Some(&q.key));
    if let Some(i) = at(ready) {
        let again = if ready[i].redelivered {
            ", delivered before and put back"
        } else {
            ""
        };
        return format!(
            "still ready in the queue, at position {} of {}{again}",
            i + 1,
            ready.len()
        );
    }
    if let (Some(i), Some(dlq)) = (at(dead), dlq) {
        let reason = dead[i]
            .death
            .as_ref()
            .map_or(String::new(), |(r, _)| format!(" (x-death reason {r})"));
        return format!("in the dead-letter queue {dlq}{reason}");
    }
    let dead_lettered = if dlq.is_some() {
        "not in the dead-letter queue"
    } else {
        "the queue has no dead-letter queue"
    };
    match held {
        Some(0) => format!(
            "not ready, {dead_lettered}, and no consumer holds a message: a consumer took it and acknowledged it (or rejected it, dropped)"
        ),
        Some(n) => format!(
            "not ready and {dead_lettered}: taken by a consumer, which may still hold it (the queue has {n} message(s) delivered and not acknowledged)"
        ),
        None => format!("not ready and {dead_lettered}: a consumer took it"),
    }
}

/// How `queue` stands now, and where the scenario's messages in it are. `watch` is what
/// the step noted when it began to wait.
pub(crate) async fn describe(
    ctx: &RunContext,
    world: &QaWorld,
    queue: &str,
    watch: Option<&Watch>,
) -> String {
    let mut out = String::new();
    let holding = broker::holding(ctx, queue).await;
    match &holding {
        Ok(h) => {
            let _ = write!(
                out,
                "the queue {queue:?} has {} message(s) ready and {} delivered to its {} consumer(s) and not acknowledged",
                h.ready, h.unacknowledged, h.consumers
            );
        }
        Err(e) => match amqp::depth(ctx, queue).await {
            Ok(d) => {
                let _ = write!(
                    out,
                    "the queue {queue:?} has {} message(s) ready and {} consumer(s) (how many they hold is unknown: {e})",
                    d.ready, d.consumers
                );
            }
            Err(e) => return format!("the queue {queue:?} cannot be read: {e}"),
        },
    }
    if let Some(w) = watch
        && let Some(before) = w.redeliveries
        && let Ok(now) = broker::redeliveries(ctx, queue).await
        && (now > before || w.started.elapsed().as_secs() > 0)
    {
        let _ = write!(
            out,
            "; the broker redelivered {} message(s) from it in {} s (the management API's statistics, which lag by up to 5 s)",
            now.saturating_sub(before),
            w.started.elapsed().as_secs()
        );
    }
    let ready = amqp::peek(ctx, queue, PEEK).await.unwrap_or_default();
    let dlq = ctx.endpoints.queues.get(queue).cloned().flatten();
    let dead = match &dlq {
        Some(d) => amqp::peek(ctx, d, PEEK).await.unwrap_or_default(),
        None => vec![],
    };
    let mine: Vec<&Queued> = {
        let mut seen: Vec<&Queued> = vec![];
        for q in world.queued.iter().filter(|q| q.queue == queue) {
            if !seen.iter().any(|s| s.key == q.key) {
                seen.push(q);
            }
        }
        seen
    };
    match ready.first() {
        Some(head) => {
            let again = if head.redelivered {
                ", delivered before and put back"
            } else {
                ""
            };
            let _ = write!(
                out,
                "\n  at its head: {} ({}{again})",
                quoted(&head.body),
                whose(head.key.as_deref(), &mine)
            );
        }
        None => out.push_str("\n  nothing is ready at its head"),
    }
    let held = holding.as_ref().ok().map(|h| h.unacknowledged);
    let is_ready = |q: &Queued| ready.iter().any(|p| p.key.as_deref() == Some(&q.key));
    // The scenario's messages that left the ready list first: the ones a consumer holds
    // or took are what a failure is about; the ones still waiting are summed up.
    let (waiting, gone): (Vec<&Queued>, Vec<&Queued>) = mine.iter().partition(|q| is_ready(q));
    for q in gone.iter().take(MINE) {
        let _ = write!(
            out,
            "\n  this scenario's {} (published {} s ago): {}",
            q.body,
            q.at.elapsed().as_secs(),
            place(q, &ready, &dead, dlq.as_deref(), held)
        );
    }
    if gone.len() > MINE {
        let _ = write!(
            out,
            "\n  and {} more of this scenario's messages not ready",
            gone.len() - MINE
        );
    }
    match waiting.as_slice() {
        [] => {}
        [q] => {
            let _ = write!(
                out,
                "\n  this scenario's {} (published {} s ago): {}",
                q.body,
                q.at.elapsed().as_secs(),
                place(q, &ready, &dead, dlq.as_deref(), held)
            );
        }
        [first, ..] => {
            let _ = write!(
                out,
                "\n  {} of this scenario's messages still ready, the first of them ({}) {}",
                waiting.len(),
                first.body,
                place(first, &ready, &dead, dlq.as_deref(), held)
            );
        }
    }
    out
}

/// The descriptions of every declared queue the scenario published to, each on its own
/// lines; empty when it published to none.
pub(crate) async fn describe_mine(ctx: &RunContext, world: &QaWorld) -> String {
    let mut queues: Vec<&str> = vec![];
    for q in &world.queued {
        if !queues.contains(&q.queue.as_str()) {
            queues.push(&q.queue);
        }
    }
    let mut out = String::new();
    for queue in queues {
        let _ = write!(out, "\n{}", describe(ctx, world, queue, None).await);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peeked(key: &str, redelivered: bool) -> Peeked {
        Peeked {
            key: Some(key.into()),
            body: format!("job {key}"),
            redelivered,
            death: None,
        }
    }

    fn queued(key: &str) -> Queued {
        Queued {
            queue: "jobs".into(),
            key: key.into(),
            body: format!("\"job {key}\""),
            at: Instant::now(),
            redeliveries_before: None,
        }
    }

    #[test]
    fn a_message_is_ready_dead_lettered_or_held() {
        let ready = [peeked("a", false), peeked("b", true)];
        let dead = [Peeked {
            death: Some(("rejected".into(), 1)),
            ..peeked("c", false)
        }];
        let place_of = |k: &str, held| place(&queued(k), &ready, &dead, Some("jobs.dlq"), held);
        assert_eq!(
            place_of("b", Some(0)),
            "still ready in the queue, at position 2 of 2, delivered before and put back"
        );
        assert_eq!(
            place_of("c", Some(1)),
            "in the dead-letter queue jobs.dlq (x-death reason rejected)"
        );
        let held = place_of("d", Some(1));
        assert!(
            held.contains("taken by a consumer, which may still hold it"),
            "{held}"
        );
        assert!(held.contains("not in the dead-letter queue"), "{held}");
        let gone = place(&queued("d"), &ready, &[], None, Some(0));
        assert!(
            gone.contains("the queue has no dead-letter queue"),
            "{gone}"
        );
        assert!(gone.contains("acknowledged it"), "{gone}");
    }

    #[test]
    fn the_head_is_told_apart_as_the_scenario_s_or_another_s() {
        let a = queued("a");
        assert_eq!(whose(Some("a"), &[&a]), "this scenario's");
        assert_eq!(whose(Some("z"), &[&a]), "not this scenario's");
        assert_eq!(whose(None, &[&a]), "not this scenario's");
        assert_eq!(quoted("this is not a job"), "\"this is not a job\"");
    }
}
