//! What the broker's operator tools know of a queue and AMQP cannot tell: how many of its
//! messages consumers hold (delivered, not yet acknowledged), and how many it redelivered.
//!
//! - Held messages come from `rabbitmqctl list_queues`, run in the broker's container
//!   through the Docker exec API. It asks the queue itself, so the count is exact at that
//!   moment; every RabbitMQ image has the tool. The management API's `/api/queues` reports
//!   the same count only as statistics the broker refreshes every
//!   `collect_statistics_interval` (5 s by default): a step that waits for 0 held
//!   messages would pass on a count taken before the consumer got the message.
//! - Redeliveries come from the management API (`message_stats.redeliver`), the only
//!   place RabbitMQ counts them, when the system file declares its port
//!   (`x-qalens.broker.management_port`). They are statistics: they may lag by that
//!   interval, so the steps only ever wait for them to reach a number.

use std::str::FromStr as _;

use lapin::uri::AMQPUri;

use super::ClientError;
use super::exec;
use crate::context::RunContext;

/// A queue as the broker holds it, counted by the queue itself at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    /// Waiting for a consumer.
    pub ready: u32,
    /// Delivered to a consumer that has neither acknowledged nor rejected them yet.
    pub unacknowledged: u32,
    /// Consumers subscribed to the queue.
    pub consumers: u32,
}

/// The vhost and credentials of the run's AMQP URL (`amqp://user:pass@host:port/vhost`).
fn amqp_uri(ctx: &RunContext) -> Result<AMQPUri, ClientError> {
    AMQPUri::from_str(&ctx.endpoints.amqp).map_err(|why| ClientError::BadAmqpUrl {
        url: ctx.endpoints.amqp.clone(),
        why,
    })
}

/// The broker's container: its id and name.
fn broker_container(ctx: &RunContext) -> Result<(String, String), ClientError> {
    let broker = ctx
        .system
        .qalens
        .broker
        .as_ref()
        .ok_or(ClientError::NoBroker)?;
    let name = ctx
        .endpoints
        .answering
        .get(&broker.service)
        .cloned()
        .unwrap_or_else(|| broker.service.clone());
    let id = ctx
        .containers
        .get(&name)
        .cloned()
        .ok_or_else(|| ClientError::NoBrokerContainer { name: name.clone() })?;
    Ok((id, name))
}

/// `queue`'s ready, held and consumer counts, from `rabbitmqctl list_queues` in the
/// broker's container.
pub async fn holding(ctx: &RunContext, queue: &str) -> Result<Holding, ClientError> {
    let (id, name) = broker_container(ctx)?;
    let vhost = amqp_uri(ctx)?.vhost;
    let cmd: Vec<String> = [
        "rabbitmqctl",
        "list_queues",
        "--quiet",
        "--no-table-headers",
        "--vhost",
        &vhost,
        "name",
        "messages_ready",
        "messages_unacknowledged",
        "consumers",
    ]
    .map(String::from)
    .into();
    let done = exec::run(&ctx.docker, &id, &name, &cmd).await?;
    if done.exit_code != Some(0) {
        return Err(ClientError::BrokerTool {
            command: exec::shown(&cmd),
            container: name,
            exit_code: done.exit_code,
            output: format!("{}{}", done.stderr, done.stdout).trim().to_string(),
        });
    }
    listed(&done.stdout, queue).ok_or_else(|| ClientError::NotListed {
        queue: queue.to_string(),
        vhost,
    })
}

/// The counts of `queue` in `rabbitmqctl list_queues` output: one queue a line, its name
/// and the three counts separated by tabs.
fn listed(out: &str, queue: &str) -> Option<Holding> {
    out.lines().find_map(|line| {
        let mut cells = line.rsplitn(4, '\t');
        let consumers = cells.next()?.trim().parse().ok()?;
        let unacknowledged = cells.next()?.trim().parse().ok()?;
        let ready = cells.next()?.trim().parse().ok()?;
        (cells.next()? == queue).then_some(Holding {
            ready,
            unacknowledged,
            consumers,
        })
    })
}

/// `text` percent-encoded for one path segment of a URL.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether the system file declares the management API (`x-qalens.broker.management_port`).
pub fn has_management(ctx: &RunContext) -> bool {
    !ctx.endpoints.rabbitmq_management.is_empty()
}

/// How many redeliveries the broker has counted for `queue` since the queue was declared
/// (the management API's `message_stats.redeliver`: statistics, refreshed every
/// `collect_statistics_interval`).
pub async fn redeliveries(ctx: &RunContext, queue: &str) -> Result<u64, ClientError> {
    if !has_management(ctx) {
        return Err(ClientError::NoManagement);
    }
    let uri = amqp_uri(ctx)?;
    let url = format!(
        "{}/api/queues/{}/{}",
        ctx.endpoints.rabbitmq_management,
        segment(&uri.vhost),
        segment(queue)
    );
    let res = ctx
        .http
        .get(&url)
        .basic_auth(
            &uri.authority.userinfo.username,
            Some(&uri.authority.userinfo.password),
        )
        .send()
        .await
        .map_err(|cause| ClientError::Get {
            url: url.clone(),
            cause,
        })?;
    let status = res.status();
    let body = res.text().await.map_err(|cause| ClientError::GetBody {
        url: url.clone(),
        cause,
    })?;
    if !status.is_success() {
        return Err(ClientError::GetStatus { url, status, body });
    }
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|cause| ClientError::GetJson {
            url: url.clone(),
            cause,
            body: body.clone(),
        })?;
    Ok(redeliver_count(&v))
}

/// `message_stats.redeliver` of a management API queue object; a queue that never
/// redelivered has no such statistic yet.
fn redeliver_count(queue: &serde_json::Value) -> u64 {
    queue["message_stats"]["redeliver"].as_u64().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn list_queues_output_is_read_by_queue_name() {
        let out = "tasks.dlq\t1\t0\t0\njobs\t3\t1\t1\nweird\tname\t0\t2\t0\n";
        assert_eq!(
            listed(out, "jobs"),
            Some(Holding {
                ready: 3,
                unacknowledged: 1,
                consumers: 1
            })
        );
        assert_eq!(listed(out, "tasks.dlq").map(|h| h.ready), Some(1));
        // A tab in a name: the counts are the last three cells.
        assert_eq!(
            listed(out, "weird\tname").map(|h| h.unacknowledged),
            Some(2)
        );
        assert_eq!(listed(out, "job"), None);
        assert_eq!(listed("Timeout: 60.0 seconds ...\n", "jobs"), None);
    }

    #[test]
    fn vhosts_and_queues_are_one_path_segment_each() {
        assert_eq!(segment("/"), "%2F");
        assert_eq!(segment("tasks.dlq"), "tasks.dlq");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn a_queue_that_never_redelivered_counts_zero() {
        let q = serde_json::json!({"message_stats": {"redeliver": 31, "publish": 2}});
        assert_eq!(redeliver_count(&q), 31);
        assert_eq!(redeliver_count(&serde_json::json!({"name": "jobs"})), 0);
    }

    #[tokio::test]
    async fn redeliveries_come_from_the_management_api_with_the_amqp_credentials() {
        use wiremock::matchers::{header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/queues/shop/jobs"))
            // shopper:s3cret
            .and(header("authorization", "Basic c2hvcHBlcjpzM2NyZXQ="))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"message_stats": {"redeliver": 7}})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let mut ctx = testing::context("http://127.0.0.1:1");
        ctx.endpoints.amqp = "amqp://shopper:s3cret@127.0.0.1:5672/shop".into();
        assert!(matches!(
            redeliveries(&ctx, "jobs").await,
            Err(ClientError::NoManagement)
        ));
        ctx.endpoints.rabbitmq_management = server.uri();
        assert_eq!(redeliveries(&ctx, "jobs").await.unwrap(), 7);
    }

    #[tokio::test]
    async fn held_messages_need_a_broker_container() {
        let ctx = testing::context("http://127.0.0.1:1");
        // The unit system file declares no broker.
        let e = holding(&ctx, "jobs").await.unwrap_err().to_string();
        assert!(e.contains("x-qalens.broker"), "{e}");
    }
}
