//! What a scenario's clients are and what they exchanged with the system: the client a
//! scenario acts as, its credentials, and each HTTP exchange kept for checks and reports.

use std::fmt;

use crate::tokens::Who;

impl Client {
    /// Who its tokens are for.
    pub fn who(&self) -> Who<'_> {
        Who {
            client: &self.id,
            tier: self.tier,
            scope: &self.scope,
        }
    }
}

/// One HTTP request and its response, kept for assertions and failure reports.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    /// The response's status; 0 when no response came ([`Exchange::no_response`]).
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// From sending the request to the end of the response body.
    pub elapsed: std::time::Duration,
    /// When the request was sent.
    pub sent_at: std::time::Instant,
}

impl Exchange {
    /// A `GET` of `url` answered `status` with no header and no body, in no time: what a
    /// check's unit test starts from.
    pub fn get_answered(url: impl Into<String>, status: u16) -> Self {
        Self {
            method: "GET".into(),
            url: url.into(),
            request_body: None,
            status,
            headers: vec![],
            body: String::new(),
            elapsed: std::time::Duration::ZERO,
            sent_at: std::time::Instant::now(),
        }
    }

    /// A request that got no response (the connection was refused, reset or closed before
    /// an answer, or it timed out), kept in a batch as an exchange with status 0 and the
    /// cause as its body, so the batch's checks count it among the answers.
    pub fn no_response(
        method: &str,
        url: &str,
        request_body: Option<String>,
        cause: &dyn std::error::Error,
        sent_at: std::time::Instant,
    ) -> Self {
        let mut why = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            why.push_str(&format!(": {s}"));
            source = s.source();
        }
        Self {
            method: method.to_string(),
            url: url.to_string(),
            request_body,
            status: 0,
            headers: vec![],
            body: why,
            elapsed: sent_at.elapsed(),
            sent_at,
        }
    }

    /// Whether a response came ([`Exchange::no_response`] made it otherwise).
    pub fn answered(&self) -> bool {
        self.status != 0
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        if let Some(b) = &self.request_body {
            writeln!(f, "  request body: {}", truncate(b, 500))?;
        }
        if !self.answered() {
            return write!(
                f,
                "  -> no response after {} ms: {}",
                self.elapsed.as_millis(),
                truncate(&self.body, 500)
            );
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

/// Exchanges recorded as they happen; shared by the calls a step builds.
pub type SentLog = std::sync::Arc<std::sync::Mutex<Vec<Exchange>>>;

/// A resource a client created: where it lives and its id.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Its path on the front door, e.g. `/items/6f1c...`.
    pub path: String,
    pub id: String,
}
