//! Queues and messages: publish a raw message to any exchange, deliver the same message
//! twice, find a message in a dead-letter queue. (Queue depths: [`super::backlog`]; a
//! pack's domain events: `packs`.)

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{then, when};
use uuid::Uuid;

use super::StepResult;
use crate::world::QaWorld;
use qalens_engine::clients::amqp::{Outgoing, await_taken, publish};

/// The rows of a step's optional table of message properties: `message-id` (made unique
/// to the scenario; `(none)` publishes without one), `content-type`, `header NAME`.
fn apply_properties(scope: &QaWorld, msg: &mut Outgoing, rows: &[Vec<String>]) -> StepResult {
    for row in rows {
        let [name, value] = row.as_slice() else {
            return Err(format!(
                "each row of the table is | property | value |, got {} cell(s): {row:?}",
                row.len()
            )
            .into());
        };
        match name.trim() {
            "message-id" if value.trim() == "(none)" => msg.message_id = None,
            "message-id" => msg.message_id = Some(scope.scoped(value.trim())),
            "content-type" => msg.content_type = Some(value.trim().to_string()),
            other => match other.strip_prefix("header ") {
                Some(header) if !header.trim().is_empty() => msg
                    .headers
                    .push((header.trim().to_string(), value.to_string())),
                _ => {
                    return Err(format!(
                        "unknown message property {other:?}: use message-id, content-type or header NAME"
                    ).into());
                }
            },
        }
    }
    Ok(())
}

#[when(
    expr = "the message {string} is published to the exchange {string} with routing key {string}"
)]
async fn publish_raw_to(
    world: &mut QaWorld,
    step: &Step,
    body: String,
    exchange: String,
    routing_key: String,
) -> StepResult {
    let key = world.scoped(&format!("message-{}", Uuid::now_v7().simple()));
    let mut msg = Outgoing {
        exchange,
        content_type: None,
        ..Outgoing::json("", &routing_key, &key, body.into_bytes())
    };
    let rows = step.table.as_ref().map_or(&[][..], |t| &t.rows[..]);
    apply_properties(world, &mut msg, rows)?;
    world.publish_as_last(msg).await
}

#[when(expr = "the last message is published again")]
async fn publish_again(world: &mut QaWorld) -> StepResult {
    let msg = world
        .message
        .clone()
        .ok_or("no message was published before this step")?;
    Ok(publish(&*world.ctx()?, &msg).await?)
}

#[then(
    expr = "within {int} seconds the message is in the dead-letter queue {string} with reason {string}"
)]
async fn in_dlq(world: &mut QaWorld, seconds: u64, queue: String, reason: String) -> StepResult {
    let id = world
        .message
        .as_ref()
        .map(|m| m.key.clone())
        .ok_or("no message was published before this step")?;
    let (seen_reason, count) =
        await_taken(&*world.ctx()?, &queue, &id, Duration::from_secs(seconds))
            .await
            .map_err(|waited| {
                waited.map(|seen| {
                    format!("expected message {id} in {queue} within {seconds} s: {seen}")
                })
            })?;
    if seen_reason != reason || count != 1 {
        return Err(format!(
            "message {id} was dead-lettered with x-death reason {seen_reason:?} count {count}, expected reason {reason:?} count 1"
        ).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qalens_engine::clients::amqp::key_of;

    fn rows(cells: &[[&str; 2]]) -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    fn raw() -> Outgoing {
        Outgoing {
            exchange: "shop.events".into(),
            routing_key: "order.confirmed".into(),
            message_id: Some("fresh".into()),
            content_type: None,
            headers: vec![],
            body: b"x".to_vec(),
            key: "k-1".into(),
        }
    }

    #[test]
    fn the_table_sets_message_id_content_type_and_headers() {
        let world = QaWorld::new();
        let mut msg = raw();
        apply_properties(
            &world,
            &mut msg,
            &rows(&[
                ["message-id", " dup-1 "],
                ["content-type", "text/plain"],
                ["header x-producer ", "legacy billing"],
            ]),
        )
        .unwrap();
        assert_eq!(msg.message_id, Some(world.scoped("dup-1")));
        assert_eq!(msg.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            msg.headers,
            vec![("x-producer".to_string(), "legacy billing".to_string())]
        );
        let props = msg.properties();
        assert_eq!(key_of(&props).as_deref(), Some("k-1"));
        assert_eq!(
            props.message_id().as_ref().map(|m| m.as_str().to_string()),
            Some(world.scoped("dup-1"))
        );

        apply_properties(&world, &mut msg, &rows(&[["message-id", "(none)"]])).unwrap();
        assert_eq!(msg.message_id, None);
        assert!(msg.properties().message_id().is_none());
        // Without a message id the key header still finds the message.
        assert_eq!(key_of(&msg.properties()).as_deref(), Some("k-1"));
    }

    #[test]
    fn unknown_properties_and_malformed_rows_are_errors() {
        let world = QaWorld::new();
        let err = apply_properties(&world, &mut raw(), &rows(&[["priority", "9"]]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown message property \"priority\""),
            "{err}"
        );
        let err = apply_properties(&world, &mut raw(), &rows(&[["header ", "v"]]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown message property"), "{err}");
        let err = apply_properties(&world, &mut raw(), &[vec!["message-id".into()]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("| property | value |"), "{err}");
    }
}
