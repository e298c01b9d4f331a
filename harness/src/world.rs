//! Per-scenario state. Anything a scenario creates is named after its scenario id, so
//! concurrent scenarios on the shared topology never see each other's data.

use std::fmt;

use contracts::OrderView;

/// One HTTP request and its response, kept for assertions and failure reports.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// From sending the request to the end of the response body.
    pub elapsed: std::time::Duration,
    /// When the request was sent.
    pub sent_at: std::time::Instant,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        if let Some(b) = &self.request_body {
            writeln!(f, "  request body: {}", truncate(b, 500))?;
        }
        writeln!(f, "  -> {} in {} ms", self.status, self.elapsed.as_millis())?;
        for (k, v) in &self.headers {
            writeln!(f, "  {k}: {v}")?;
        }
        write!(f, "  body: {}", truncate(&self.body, 500))
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_string()
    } else {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes)", &s[..end], s.len())
    }
}

/// What the client presents as credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A valid token with the client's scopes.
    Valid,
    /// No Authorization header at all.
    None,
    /// A fixed Authorization header value (malformed, expired, wrongly signed, `alg: none`).
    Raw(String),
}

/// The client a scenario acts as.
#[derive(Debug, Clone)]
pub struct Client {
    /// Already scoped to the scenario.
    pub id: String,
    pub tier: contract_tools::jwt::Tier,
    /// Space-separated scopes its tokens carry.
    pub scope: String,
    pub credentials: Credentials,
}

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct QaWorld {
    /// Unique per scenario, e.g. `s3f9a1c2e`; prefixes every name the scenario creates.
    pub scenario_id: String,
    /// The client the scenario acts as.
    pub client: Option<Client>,
    /// The last HTTP exchange, shown when a check fails.
    pub last: Option<Exchange>,
    /// Every exchange of the last batch of requests, in the order they were sent.
    pub batch: Vec<Exchange>,
    /// The last order created through the gateway.
    pub order: Option<OrderView>,
    /// Every order this scenario created.
    pub orders: Vec<OrderView>,
    /// The last message the scenario published (not counting sentinels).
    pub message: Option<crate::steps::queue::Outgoing>,
    /// An order whose email proves that every message published before it was handled.
    pub sentinel: Option<OrderView>,
    /// The keys ([`crate::steps::queue::KEY_HEADER`]) of the last burst of messages.
    pub burst: Vec<String>,
    /// Faults in effect, undone at the end of the scenario.
    pub faults: Vec<crate::steps::faults::Applied>,
    /// The order events seen since `Given the order events are recorded`.
    pub events: Option<EventRecorder>,
    /// Contract examples the scenario published: (contract, message id, body).
    pub examples: Vec<(String, String, serde_json::Value)>,
    /// Every client of the scenario by the name the feature gave it (`"eve"`), for steps
    /// that act as one of several clients (`When client "eve" ...`).
    pub clients: std::collections::BTreeMap<String, Client>,
    /// The resource the scenario created last with `When client ... creates a resource`.
    pub resource: Option<Resource>,
    /// Each path rewrite of the last rewrite batch (what it tried) with its exchange.
    pub rewrites: Vec<(String, Exchange)>,
}

/// A resource a client created: where it lives and its id.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Its path on the front door, e.g. `/orders/6f1c...`.
    pub path: String,
    pub id: String,
}

/// An event seen on the order events exchange.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub routing_key: String,
    pub message_id: Option<String>,
    /// The AMQP `type` property.
    pub kind: Option<String>,
    pub body: String,
}

/// Records order events on a private queue until dropped.
pub struct EventRecorder {
    pub events: std::sync::Arc<std::sync::Mutex<Vec<RecordedEvent>>>,
    task: tokio::task::JoinHandle<()>,
}

impl EventRecorder {
    pub fn new(
        events: std::sync::Arc<std::sync::Mutex<Vec<RecordedEvent>>>,
        task: tokio::task::JoinHandle<()>,
    ) -> Self {
        Self { events, task }
    }
}

impl Drop for EventRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.events.lock().map(|e| e.len()).unwrap_or(0);
        write!(f, "EventRecorder({n} events)")
    }
}

impl QaWorld {
    pub(crate) fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            scenario_id: format!("s{}", &id[..8]),
            client: None,
            last: None,
            batch: vec![],
            order: None,
            orders: vec![],
            message: None,
            sentinel: None,
            burst: vec![],
            faults: vec![],
            events: None,
            examples: vec![],
            clients: Default::default(),
            resource: None,
            rewrites: vec![],
        }
    }

    /// `name` made unique to this scenario.
    pub fn scoped(&self, name: &str) -> String {
        format!("{name}-{}", self.scenario_id)
    }

    /// The client, or an error telling the writer which step to add.
    pub fn client(&self) -> Result<&Client, String> {
        self.client
            .as_ref()
            .ok_or_else(|| "no client yet: start with `Given a free client \"alice\"`".to_string())
    }

    /// The last exchange, for failure messages.
    pub fn last_exchange(&self) -> String {
        match &self.last {
            Some(e) => format!("last HTTP exchange:\n{e}"),
            None => "no HTTP exchange yet".into(),
        }
    }
}
