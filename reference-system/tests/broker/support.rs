//! The broker container, AMQP helpers, events to publish, and the consumers run
//! in-process (port 0, fresh SQLite database) against a virtual host of the broker.

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::{EmailRecord, OrderCancelled, OrderConfirmed, OrderEvent, OrderPlaced};
use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde::Deserialize;
use testcontainers::core::{CmdWaitFor, ExecCommand, IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use uuid::Uuid;

use crate::helpers::{TestApp, eventually, serve, temp_db};

/// How long a message may take to go through the broker and a consumer.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The test aid that makes the email consumer fail transiently on every delivery for a
/// customer containing its value ([`FAIL_MARKER`] here).
const FAIL_MARKER_VAR: &str = "EMAIL_FAIL_SUBJECT_MARKER";

/// Put in a customer name, makes every delivery of its confirmation fail (transiently).
pub const FAIL_MARKER: &str = "qalens-broker-tests-mailbox-refuses";

/// Sets [`FAIL_MARKER_VAR`] for the whole binary before any consumer starts. The
/// consumer reads it from the environment, and the environment cannot be changed from
/// safe code once threads may run (`set_var` is `unsafe` in edition 2024 and the
/// workspace forbids unsafe code), so the binary executes itself again with it set.
pub fn ensure_fail_marker_env() {
    if std::env::var(FAIL_MARKER_VAR).as_deref() == Ok(FAIL_MARKER) {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = std::process::Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(FAIL_MARKER_VAR, FAIL_MARKER);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = command.exec();
        panic!("cannot execute the test binary again with {FAIL_MARKER_VAR} set: {e}");
    }
    #[cfg(not(unix))]
    {
        let status = command.status().expect("run the test binary again");
        std::process::exit(status.code().unwrap_or(101));
    }
}

/// Resolves on SIGINT or SIGTERM, naming it.
pub async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// A name no other test uses: `<prefix>-<8 hex digits>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..8])
}

/// The RabbitMQ container shared by the tests of this binary.
pub struct Broker {
    container: ContainerAsync<GenericImage>,
    pub image: String,
    /// The host port of AMQP; fixed for the container's life, restarts included.
    pub amqp_port: u16,
    management_port: u16,
    http: reqwest::Client,
}

/// Two ports free on every interface right now, for Docker to bind.
fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("0.0.0.0:0").expect("a free port");
    let b = std::net::TcpListener::bind("0.0.0.0:0").expect("a free port");
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

impl Broker {
    /// Starts RabbitMQ as the harness does (`rabbitmq-server`, ready once it logs
    /// `Server startup complete`), labelled `qalens=refsys-tests` like every container of
    /// the refsys tests.
    ///
    /// Its ports are bound to fixed host ports, not left for Docker to choose: Docker
    /// chooses anew each time a container starts, and the outage test stops and starts
    /// this one while services keep the AMQP URL they were given. The ports are free when
    /// picked; should another process take one before Docker binds it, start again.
    pub async fn start() -> Self {
        let image = std::env::var("QALENS_RABBITMQ_IMAGE")
            .unwrap_or_else(|_| "rabbitmq:3.13-management".into());
        let (name, tag) = image
            .rsplit_once(':')
            .filter(|(name, _)| !name.is_empty())
            .unwrap_or((image.as_str(), "latest"));
        let mut attempt = 1;
        loop {
            let (amqp_port, management_port) = free_ports();
            let started = GenericImage::new(name, tag)
                .with_wait_for(WaitFor::message_on_stdout("Server startup complete"))
                .with_mapped_port(amqp_port, 5672.tcp())
                .with_mapped_port(management_port, 15672.tcp())
                .with_cmd(["rabbitmq-server"])
                .with_label("qalens", "refsys-tests")
                .with_startup_timeout(Duration::from_secs(180))
                .start()
                .await;
            match started {
                Ok(container) => {
                    return Self {
                        container,
                        image,
                        amqp_port,
                        management_port,
                        http: reqwest::Client::new(),
                    };
                }
                Err(e) if attempt < 3 && e.to_string().contains("already") => {
                    eprintln!("broker: port taken meanwhile ({e}), starting again");
                    attempt += 1;
                }
                Err(e) => panic!("start rabbitmq from image {image}: {e}"),
            }
        }
    }

    /// The AMQP URL of `vhost`.
    pub fn url(&self, vhost: &str) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/{vhost}", self.amqp_port)
    }

    /// A virtual host of its own for a test (`<prefix>-<hex>`), `guest` allowed all on it.
    /// Returns its AMQP URL.
    pub async fn vhost(&self, prefix: &str) -> String {
        let vhost = unique(prefix);
        let api = format!("http://127.0.0.1:{}/api", self.management_port);
        eventually(DEADLINE, || {
            let (api, vhost, http) = (api.clone(), vhost.clone(), self.http.clone());
            async move {
                let put = |path: String, body: serde_json::Value| {
                    http.put(format!("{api}/{path}"))
                        .basic_auth("guest", Some("guest"))
                        .json(&body)
                        .send()
                };
                let res = put(format!("vhosts/{vhost}"), serde_json::json!({}))
                    .await
                    .map_err(|e| e.to_string())?;
                if !res.status().is_success() {
                    return Err(format!("PUT vhosts/{vhost}: {}", res.status()));
                }
                let res = put(
                    format!("permissions/{vhost}/guest"),
                    serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}),
                )
                .await
                .map_err(|e| e.to_string())?;
                if !res.status().is_success() {
                    return Err(format!("PUT permissions/{vhost}/guest: {}", res.status()));
                }
                Ok(())
            }
        })
        .await;
        self.url(&vhost)
    }

    /// Stops the broker cleanly (`rabbitmqctl stop`: it closes every connection and
    /// shuts its node down), which stops the container, and waits until it has stopped.
    ///
    /// Not `docker stop`: the image's PID 1 (the `rabbitmq-server` shell wrapper)
    /// ignores SIGTERM, so `docker stop` ends in a SIGKILL after its grace period. A
    /// RabbitMQ 3.10 killed within minutes of declaring a quorum queue loses the queue's
    /// Ra registration (its `names.dets` is flushed lazily): after the restart the queue
    /// exists but never elects a leader, and every publish to it waits for ever. That is
    /// the broker's own durability limit, not what these tests are about.
    pub async fn stop(&self) {
        let mut exec = self
            .container
            .exec(
                ExecCommand::new(["rabbitmqctl", "stop"])
                    .with_cmd_ready_condition(CmdWaitFor::exit()),
            )
            .await
            .expect("rabbitmqctl stop");
        // (Its exit code would need a shared borrow of a result that is not `Sync`; its
        // output says the same, and a node that did not stop fails the wait below.)
        let out = exec.stdout_to_vec().await.unwrap_or_default();
        let err = exec.stderr_to_vec().await.unwrap_or_default();
        drop(exec);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        eventually(Duration::from_secs(60), || async {
            match self.container.is_running().await {
                Ok(false) => Ok(()),
                Ok(true) => Err(format!(
                    "the broker's container still runs; rabbitmqctl stop said: {said}"
                )),
                Err(e) => Err(format!("cannot inspect the broker's container: {e}")),
            }
        })
        .await;
    }

    /// Starts the stopped container again and waits until `vhost_url` takes connections.
    pub async fn start_again(&self, vhost_url: &str) {
        self.container
            .start()
            .await
            .expect("start the broker again");
        let port = self
            .container
            .get_host_port_ipv4(5672)
            .await
            .expect("AMQP host port");
        assert_eq!(
            port, self.amqp_port,
            "the AMQP host port changed across the restart"
        );
        eventually(Duration::from_secs(120), || async {
            let conn = Connection::connect(vhost_url, ConnectionProperties::default())
                .await
                .map_err(|e| format!("the broker does not take connections yet: {e}"))?;
            let _ = conn.close(200, "ready".into()).await;
            Ok(())
        })
        .await;
    }

    /// Removes the container, reporting a failure to (a leaked container is named).
    pub async fn remove(self) {
        let id = self.container.id().to_string();
        if let Err(e) = self.container.rm().await {
            eprintln!("could not remove the broker container {id}: {e}");
        }
    }
}

/// A connection and a channel in confirm mode on `url`.
pub async fn connect(url: &str) -> (Connection, Channel) {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let channel = conn.create_channel().await.expect("a channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    (conn, channel)
}

/// Publishes `body` to the events exchange, persistent, with `message_id`, and waits for
/// the broker's confirm.
pub async fn publish(channel: &Channel, routing_key: &str, message_id: &str, body: &[u8]) {
    let confirm = channel
        .basic_publish(
            contracts::ORDER_EVENTS_EXCHANGE.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default()
                .with_message_id(message_id.into())
                .with_content_type("application/json".into())
                .with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("the broker's confirm");
    assert!(confirm.is_ack(), "the broker nacked message {message_id}");
}

/// Publishes `event` as orders does: its routing key, message id = event id.
pub async fn publish_event(channel: &Channel, event: &OrderEvent) {
    let body = serde_json::to_vec(event).unwrap();
    publish(
        channel,
        event.routing_key(),
        &event.event_id().to_string(),
        &body,
    )
    .await;
}

/// The messages ready in `queue`, as the broker counts them.
pub async fn ready(channel: &Channel, queue: &str) -> u64 {
    let q = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("passive declare of {queue}: {e}"));
    u64::from(q.message_count())
}

/// A message as read from a queue.
#[derive(Debug, Clone)]
pub struct Message {
    pub exchange: String,
    pub routing_key: String,
    pub message_id: Option<String>,
    pub kind: Option<String>,
    pub content_type: Option<String>,
    pub delivery_mode: Option<u8>,
    /// The first `x-death` entry, if it was dead-lettered.
    pub death: Option<Death>,
    /// Its text headers (trace context and baggage among them).
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn event(&self) -> OrderEvent {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{self:?}: {e}"))
    }
}

/// Why and from where a message was dead-lettered (its first `x-death` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    pub reason: String,
    pub queue: String,
    pub count: i64,
}

fn text(v: &AMQPValue) -> String {
    match v {
        AMQPValue::LongString(s) => s.to_string(),
        AMQPValue::ShortString(s) => s.as_str().to_string(),
        other => format!("{other:?}"),
    }
}

fn death(headers: &FieldTable) -> Option<Death> {
    let AMQPValue::FieldArray(deaths) = headers.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(first) = deaths.as_slice().first()? else {
        return None;
    };
    let field = |k: &str| first.inner().get(k);
    Some(Death {
        reason: field("reason").map(text).unwrap_or_default(),
        queue: field("queue").map(text).unwrap_or_default(),
        count: match field("count") {
            Some(AMQPValue::LongLongInt(n)) => *n,
            Some(AMQPValue::LongInt(n)) => i64::from(*n),
            _ => 0,
        },
    })
}

fn message(d: &lapin::message::Delivery) -> Message {
    let p = &d.properties;
    Message {
        exchange: d.exchange.as_str().to_string(),
        routing_key: d.routing_key.as_str().to_string(),
        message_id: p.message_id().as_ref().map(|s| s.as_str().to_string()),
        kind: p.kind().as_ref().map(|s| s.as_str().to_string()),
        content_type: p.content_type().as_ref().map(|s| s.as_str().to_string()),
        delivery_mode: *p.delivery_mode(),
        death: p.headers().as_ref().and_then(death),
        headers: p
            .headers()
            .as_ref()
            .map(|h| {
                h.inner()
                    .iter()
                    .filter(|(_, v)| {
                        matches!(v, AMQPValue::LongString(_) | AMQPValue::ShortString(_))
                    })
                    .map(|(k, v)| (k.as_str().to_string(), text(v)))
                    .collect()
            })
            .unwrap_or_default(),
        body: d.data.clone(),
    }
}

/// Takes every message ready in `queue` out of it (acknowledged), oldest first.
pub async fn take_all(channel: &Channel, queue: &str) -> Vec<Message> {
    let mut out = vec![];
    while let Some(got) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap_or_else(|e| panic!("read {queue}: {e}"))
    {
        out.push(message(&got.delivery));
        got.delivery.ack(Default::default()).await.expect("ack");
    }
    out
}

/// Takes the message with `message_id` out of `queue` if it is there; every other
/// message is put back.
pub async fn take(channel: &Channel, queue: &str, message_id: &str) -> Option<Message> {
    let mut found = None;
    let mut others = vec![];
    while let Some(got) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap_or_else(|e| panic!("read {queue}: {e}"))
    {
        let m = message(&got.delivery);
        if m.message_id.as_deref() == Some(message_id) {
            got.delivery.ack(Default::default()).await.expect("ack");
            found = Some(m);
            break;
        }
        others.push(got);
    }
    for got in others {
        got.delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await
            .expect("nack");
    }
    found
}

/// Waits until the message with `message_id` is in `queue` and takes it out.
pub async fn wait_and_take(channel: &Channel, queue: &str, message_id: &str) -> Message {
    eventually(DEADLINE, || async {
        take(channel, queue, message_id)
            .await
            .ok_or_else(|| format!("message {message_id} is not in {queue}"))
    })
    .await
}

/// An `OrderConfirmed` for a new order of `customer`.
pub fn confirmed(customer: &str) -> OrderEvent {
    OrderEvent::OrderConfirmed(OrderConfirmed {
        event_id: Uuid::now_v7(),
        order_id: Uuid::now_v7(),
        customer: customer.into(),
        sku: "SKU-1".into(),
        quantity: 1,
        amount_cents: 1250,
    })
}

/// An `OrderPlaced` for a new order of `customer`.
pub fn placed(customer: &str) -> OrderEvent {
    OrderEvent::OrderPlaced(OrderPlaced {
        event_id: Uuid::now_v7(),
        order_id: Uuid::now_v7(),
        customer: customer.into(),
        sku: "SKU-1".into(),
        quantity: 1,
    })
}

/// An `OrderCancelled` for a new order of `customer`.
pub fn cancelled(customer: &str) -> OrderEvent {
    OrderEvent::OrderCancelled(OrderCancelled {
        event_id: Uuid::now_v7(),
        order_id: Uuid::now_v7(),
        customer: customer.into(),
        reason: "insufficient stock".into(),
    })
}

/// The email consumer on port 0 with a fresh database, reading `queue` on `amqp_url`.
pub async fn spawn_email(amqp_url: &str, queue: &str, delivery_limit: u32) -> TestApp {
    let config = refsys::email::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database: temp_db("email"),
        amqp_url: amqp_url.into(),
        queue: queue.into(),
        delivery_limit,
        prefetch: 10,
    };
    let app = refsys::email::Application::build(config)
        .await
        .expect("email builds");
    serve(app.local_addr(), |stop| app.run_until(stop))
}

/// The analytics consumer on port 0 with a fresh database, reading `queue` on `amqp_url`.
pub async fn spawn_analytics(amqp_url: &str, queue: &str, delivery_limit: u32) -> TestApp {
    let config = refsys::analytics::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database: temp_db("analytics"),
        amqp_url: amqp_url.into(),
        queue: queue.into(),
        delivery_limit,
        prefetch: 10,
    };
    let app = refsys::analytics::Application::build(config)
        .await
        .expect("analytics builds");
    serve(app.local_addr(), |stop| app.run_until(stop))
}

pub async fn get<T: serde::de::DeserializeOwned>(app: &TestApp, path: &str) -> T {
    let res = app
        .http
        .get(app.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert!(res.status().is_success(), "GET {path}: {}", res.status());
    res.json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET /internal/consumer` of a consumer, as its JSON reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ConsumerStats {
    pub acked: u64,
    pub rejected: u64,
    pub retried: u64,
    pub queue_ready: Option<u64>,
    pub dead_lettered: Option<u64>,
}

pub async fn stats(consumer: &TestApp) -> ConsumerStats {
    get(consumer, "/internal/consumer").await
}

/// Waits until the consumer has handled `deliveries` deliveries (acked, rejected or
/// requeued), then returns its counters.
pub async fn handled(consumer: &TestApp, deliveries: u64) -> ConsumerStats {
    let s = eventually(DEADLINE, || async {
        let s = stats(consumer).await;
        if s.acked + s.rejected + s.retried >= deliveries {
            Ok(s)
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    assert_eq!(
        s.acked + s.rejected + s.retried,
        deliveries,
        "more deliveries than messages published: {s:?}"
    );
    s
}

pub async fn emails(email: &TestApp, order_id: Option<Uuid>) -> Vec<EmailRecord> {
    match order_id {
        Some(id) => get(email, &format!("/internal/emails?order_id={id}")).await,
        None => get(email, "/internal/emails").await,
    }
}

/// Waits until the email consumer has recorded an email for `order_id`; returns them all.
pub async fn wait_for_email(email: &TestApp, order_id: Uuid) -> Vec<EmailRecord> {
    eventually(DEADLINE, || async {
        let got = emails(email, Some(order_id)).await;
        if got.is_empty() {
            Err(format!("no email for order {order_id} yet"))
        } else {
            Ok(got)
        }
    })
    .await
}

pub async fn analytics_counts(analytics: &TestApp) -> BTreeMap<String, u64> {
    get(analytics, "/internal/analytics").await
}
