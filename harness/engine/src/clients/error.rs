//! Why a client could not talk to the system: [`ClientError`], one variant per failure
//! of the HTTP, raw HTTP, inspection and AMQP clients and of the route table.

use std::time::Duration;

use crate::tokens::TokenError;
use crate::wait::Waited;

/// Why a client call failed. Every message names what was called (the URL, the queue,
/// the message) and says what went wrong; the cause is part of the message.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The token the client presents could not be made.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A wait inside the client gave up (its deadline passed, or the run's early stop).
    #[error(transparent)]
    Waited(#[from] Waited),

    // HTTP.
    #[error(
        "{file} has no x-qalens.entry: there is no entry point to send requests through; \
         add `entry: SERVICE:PORT` (the door clients use) to its x-qalens section"
    )]
    NoEntry { file: String },
    #[error("there is no gateway replica {n}: the topology has {replicas}")]
    NoReplica { n: usize, replicas: usize },
    #[error("{method:?} is not an HTTP method")]
    NotAMethod { method: String },
    /// A request body that does not serialise to JSON.
    #[error("{0}")]
    Body(serde_json::Error),
    #[error("{method} {url} got no response: {cause}")]
    NoResponse {
        method: String,
        url: String,
        cause: reqwest::Error,
    },
    #[error("{method} {url}: reading the body failed: {cause}")]
    ReadingBody {
        method: String,
        url: String,
        cause: reqwest::Error,
    },

    // Raw HTTP/1.1.
    #[error("the front door {base} is not an http:// URL")]
    NotHttp { base: String },
    #[error("{path:?} cannot go on a request line (space, CR or LF)")]
    NotARequestLine { path: String },
    /// `what` is the exchange as messages show it: `GET /x (raw, to host:port)`.
    #[error("{what}: {stage}: {cause}")]
    Raw {
        what: String,
        stage: RawStage,
        cause: std::io::Error,
    },
    #[error("{what}: no complete answer within {within:?}")]
    RawTimeout { what: String, within: Duration },
    #[error("{what}: {why}")]
    RawResponse { what: String, why: ResponseError },

    // Inspection endpoints and other JSON over HTTP.
    #[error("GET {url} failed: {cause}")]
    Get { url: String, cause: reqwest::Error },
    #[error("GET {url}: {cause}")]
    GetBody { url: String, cause: reqwest::Error },
    #[error("GET {url} answered {status}: {body}")]
    GetStatus {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("GET {url}: {cause}: {body}")]
    GetJson {
        url: String,
        cause: serde_json::Error,
        body: String,
    },

    // The route table.
    #[error("every route in x-qalens.routes is public: none to sweep")]
    AllRoutesPublic,
    #[error("the gateway's route table is empty")]
    EmptyRouteTable,
    #[error(
        "the route table names no scope for {route}: give it a `scope` in x-qalens.routes, or \
         a security requirement with scopes in the OpenAPI document x-qalens.routes names (a \
         token lacking \"no scope\" lacks every route's, so no answer could tell a sound \
         gateway from a broken one)"
    )]
    RouteWithoutScope { route: String },
    #[error("the system file has no x-qalens.identity: no token to narrow")]
    NoIdentity,

    // AMQP.
    #[error("cannot connect to the broker at {url}: {cause}")]
    Connect { url: String, cause: lapin::Error },
    /// The broker refused an operation on an open connection (a channel, confirm mode,
    /// an ack).
    #[error("{0}")]
    Broker(lapin::Error),
    #[error("publishing failed: {0}")]
    Publish(lapin::Error),
    #[error("the broker did not confirm the message: {0}")]
    NotConfirmed(lapin::Error),
    #[error("the broker did not confirm a message: {0}")]
    BurstNotConfirmed(lapin::Error),
    #[error("the broker nacked every attempt")]
    Nacked,
    #[error("the broker nacked {nacked} of {of} messages")]
    BurstNacked { nacked: usize, of: usize },
    #[error("no queue is bound for this routing key: the broker returned the message")]
    Returned,
    #[error("no queue is bound for this routing key: the broker returned a message")]
    BurstReturned,
    #[error(
        "publishing message {key} to exchange {exchange:?} with routing key {routing_key:?}: \
         {waited}"
    )]
    Publishing {
        key: String,
        exchange: String,
        routing_key: String,
        waited: Waited,
    },
    #[error("publishing a burst of {count} messages: {waited}")]
    PublishingBurst { count: usize, waited: Waited },
    #[error("the broker knows no queue {queue:?}: {cause}")]
    UnknownQueue { queue: String, cause: lapin::Error },
    #[error("reading {queue}: {cause}")]
    Reading { queue: String, cause: lapin::Error },
    #[error("purging {queue}: {cause}")]
    Purging { queue: String, cause: lapin::Error },
    #[error("the broker's AMQP URL {url:?} does not parse: {why}")]
    BadAmqpUrl { url: String, why: String },

    // The broker's operator views (`broker.rs`).
    #[error("the system file declares no broker (x-qalens.broker)")]
    NoBroker,
    #[error("the topology has no container {name:?} for the broker")]
    NoBrokerContainer { name: String },
    #[error(transparent)]
    Exec(#[from] super::ExecError),
    #[error("{command} in {container} exited with {exit_code:?}: {output}")]
    BrokerTool {
        command: String,
        container: String,
        exit_code: Option<i64>,
        output: String,
    },
    #[error("the broker lists no queue {queue:?} in vhost {vhost:?}")]
    NotListed { queue: String, vhost: String },
    #[error(
        "the system file declares no management API for the broker \
         (x-qalens.broker.management_port): RabbitMQ counts redeliveries only there"
    )]
    NoManagement,
    /// An observation while waiting for a message ([`super::amqp::await_taken`]).
    #[error("message {key} not in {queue}")]
    NotInQueue { key: String, queue: String },
}

impl ClientError {
    /// Whether the run's early stop ended a wait inside the call.
    pub(crate) fn is_cancelled(&self) -> bool {
        match self {
            ClientError::Waited(w)
            | ClientError::Publishing { waited: w, .. }
            | ClientError::PublishingBurst { waited: w, .. } => w.is_cancelled(),
            _ => false,
        }
    }
}

/// Which part of a raw exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawStage {
    Connect,
    Write,
    Read,
}

impl std::fmt::Display for RawStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RawStage::Connect => "cannot connect",
            RawStage::Write => "writing failed",
            RawStage::Read => "reading failed",
        })
    }
}

/// Why the bytes a raw exchange read are not a complete HTTP/1.1 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("no complete response head in {0} bytes")]
    NoHead(usize),
    #[error("bad status line {0:?}")]
    StatusLine(String),
    #[error("truncated chunk size")]
    TruncatedChunkSize,
    #[error("bad chunk size {0:?}")]
    ChunkSize(String),
    #[error("truncated chunk")]
    TruncatedChunk,
}
