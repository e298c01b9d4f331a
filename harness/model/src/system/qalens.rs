//! The `x-qalens` section: what the lenses need to know about the system beyond what
//! Compose says. Every part is optional; every key outside this schema is refused.
//! `harness/model/system-file.schema.json` describes the same section for editors (a test keeps
//! the two in step on the reference file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::compose::NumOrString;

/// The whole `x-qalens` section as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Qalens {
    /// The door clients use, `service:port`.
    pub entry: Option<ServicePort>,
    /// The scaled service whose replicas the replica steps address one by one.
    pub gateway: Option<Gateway>,
    /// How steps get tokens.
    pub identity: Option<Identity>,
    /// The routes the route-sweep steps read when the gateway has no route endpoint.
    pub routes: Option<Routes>,
    pub broker: Option<Broker>,
    /// Links a fault proxy can sit on.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Rate-limit policies the system promises.
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// Relative to the file: a directory of JSON Schemas with an `index.json`, or an
    /// OpenAPI 3.0/3.1 document (a YAML or JSON file) the entry point's responses are
    /// checked against.
    pub contracts: Option<PathBuf>,
    /// Step packs to enable (`reference`: the reference system's domain steps).
    #[serde(default)]
    pub packs: Vec<Pack>,
    pub hooks: Option<Hooks>,
    /// Ready checks by log line, for services without a `healthcheck`.
    #[serde(default)]
    pub ready: BTreeMap<String, ReadyLog>,
}

/// `service:port`, as in `entry: frontdoor:8080`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServicePort {
    pub service: String,
    pub port: u16,
}

impl<'de> Deserialize<'de> for ServicePort {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ServicePort::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a value is not `service:port`; each variant holds the value as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ServicePortError {
    #[error("{0:?} is not service:port")]
    NoPort(String),
    #[error("{0:?}: the port must be 1-65535")]
    BadPort(String),
    #[error("{0:?} has no service")]
    NoService(String),
}

impl ServicePort {
    pub(crate) fn parse(s: &str) -> Result<Self, ServicePortError> {
        let (service, port) = s
            .rsplit_once(':')
            .ok_or_else(|| ServicePortError::NoPort(s.to_string()))?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ServicePortError::BadPort(s.to_string()))?;
        if service.is_empty() {
            return Err(ServicePortError::NoService(s.to_string()));
        }
        Ok(Self {
            service: service.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for ServicePort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.port)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub service: String,
    pub port: u16,
    /// An environment variable set to the replica's number (1, 2, ...) in each replica.
    pub replica_env: Option<String>,
}

/// Exactly one of `jwt`, `token` or `command`, and the default scopes of a client.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub jwt: Option<Jwt>,
    /// A static bearer token every client uses.
    pub token: Option<String>,
    /// A command that prints a token; `{client}`, `{tier}` and `{scope}` in its
    /// arguments are replaced (see `tokens::command`).
    pub command: Option<Vec<String>>,
    /// The scopes an ordinary client's token carries unless a step narrows them (`Given a
    /// free client`); an admin client has `admin` too. An enabled pack may add its own.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum JwtAlg {
    HS256,
    RS256,
    ES256,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Jwt {
    pub alg: JwtAlg,
    /// HS256 only.
    pub secret: Option<String>,
    /// RS256/ES256 only: a PEM private key file, relative to the system file.
    pub private_key: Option<PathBuf>,
    /// Extra claims; `{client}`, `{tier}` and `{scope}` in string values are replaced.
    #[serde(default)]
    pub claims: BTreeMap<String, serde_json::Value>,
}

/// A list of routes, or an OpenAPI 3 document (operations with `security: []` are public;
/// the scopes an operation's security requirements list are the scopes it needs).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Routes {
    List(Vec<Route>),
    OpenApi(OpenApiRoutes),
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OpenApiRoutes {
    /// Relative to the system file.
    pub openapi: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub public: bool,
    /// The scope a token needs for the route (several, space-separated: the route opens
    /// to a token holding any of them). The scoped sweeps need it on every protected route.
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Broker {
    pub service: String,
    /// The AMQP port of the broker service.
    #[serde(default = "amqp_port")]
    pub port: u16,
    /// The AMQP URL with `{host}` and `{port}` where qalens puts the broker's address.
    #[serde(default = "amqp_url")]
    pub amqp: String,
    /// The RabbitMQ management API's port, if the broker has one.
    pub management_port: Option<u16>,
    #[serde(default)]
    pub queues: Vec<Queue>,
}

fn amqp_port() -> u16 {
    5672
}

fn amqp_url() -> String {
    "amqp://guest:guest@{host}:{port}/%2f".into()
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub name: String,
    pub dead_letter: Option<String>,
    /// Deliveries after which a message is dead-lettered (the first delivery plus retries).
    pub delivery_limit: Option<u32>,
}

/// A connection from one service to another that a fault proxy can sit on. The caller
/// reaches the proxy in one of two ways:
/// - `rewire`: the caller's variable holds the callee's `service:port` (as a whole URL,
///   say `http://ledger:8080`), and qalens replaces that part with the proxy's address;
/// - `takeover`: the proxy answers to the callee's name on the network (and listens on
///   its ports), and the callee is reached under its container name, so a caller that
///   reads the address from a configuration file reaches the proxy unchanged. Every
///   caller of that name goes through the proxy, not only `from`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub from: String,
    /// The callee: a service, or one replica of a scaled service (`gateway-2:8080`).
    pub to: ServicePort,
    /// The caller's variable that holds `to`; exactly one of `rewire` and `takeover`.
    pub rewire: Option<String>,
    /// The proxy takes over the callee's network name instead of rewiring a variable.
    #[serde(default)]
    pub takeover: bool,
    /// Put a proxy on it unless `QALENS_LINKS` says otherwise (default true).
    #[serde(default = "yes")]
    pub proxied: bool,
}

fn yes() -> bool {
    true
}

impl Link {
    /// `api-ledger`: the name feature files and `QALENS_LINKS` use.
    pub fn name(&self) -> String {
        format!("{}-{}", self.from, self.to.service)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LimitKey {
    /// One count per client (the token's subject): a scenario's own client starts fresh.
    Client,
    /// One count per caller address: every client of the machine running qalens shares it.
    Ip,
    /// One count per request path (nginx's `limit_req_zone $uri`): under a route that
    /// ends in `/`, a scenario that uses a path of its own starts fresh.
    Path,
    /// One count for everybody.
    Global,
}

impl LimitKey {
    pub fn name(self) -> &'static str {
        match self {
            LimitKey::Client => "client",
            LimitKey::Ip => "ip",
            LimitKey::Path => "path",
            LimitKey::Global => "global",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// `METHOD /path`.
    pub route: String,
    /// Requests admitted per window.
    pub limit: NumOrStringEq,
    /// `60s`, `1m`.
    pub window: String,
    pub per: LimitKey,
    /// The scaled service whose replicas share one count, if they do.
    pub shared_across: Option<String>,
}

impl RateLimit {
    /// Whether this policy covers `method path`: the same method and the same path, or,
    /// when the declared path ends in `/`, any path under it. A query string is ignored.
    pub(crate) fn covers(&self, method: &str, path: &str) -> bool {
        let Some((m, p)) = self.route.split_once(' ') else {
            return false;
        };
        let path = path.split('?').next().unwrap_or(path);
        m.eq_ignore_ascii_case(method) && (path == p || (p.ends_with('/') && path.starts_with(p)))
    }

    /// The declared window (the loader has checked that it parses).
    pub fn window(&self) -> std::time::Duration {
        super::parse_duration(&self.window).unwrap_or_default()
    }
}

impl RateLimit {
    /// The policy of `limits` that covers `method path`: the one with the longest route
    /// if several do.
    pub fn find<'a>(limits: &'a [RateLimit], method: &str, path: &str) -> Option<&'a RateLimit> {
        limits
            .iter()
            .filter(|r| r.covers(method, path))
            .max_by_key(|r| r.route.len())
    }
}

/// A number that may come from a substituted variable (`${LIMIT:-5}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct NumOrStringEq(pub(super) NumOrString);

impl PartialEq for NumOrStringEq {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}
impl Eq for NumOrStringEq {}

impl NumOrStringEq {
    pub fn value(&self) -> Option<u64> {
        match &self.0 {
            NumOrString::Num(n) => Some(*n),
            NumOrString::String(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pack {
    /// The reference system's domain steps (`harness/src/packs/reference/`).
    Reference,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    pub defects: Option<DefectHook>,
    /// `service:port` of internal inspection endpoints the domain steps read.
    #[serde(default)]
    pub inspection: Vec<ServicePort>,
}

/// A defect-control endpoint (`qalens selftest`, `--defect`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DefectHook {
    /// The services that have it.
    pub services: Vec<String>,
    pub port: u16,
    #[serde(default = "defects_path")]
    pub path: String,
    /// A variable that switches defects on at start-up (comma-separated names).
    pub env: Option<String>,
}

fn defects_path() -> String {
    "/internal/defects".into()
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
}

/// A service is ready once it printed this line.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReadyLog {
    pub log: String,
    #[serde(default)]
    pub stream: Stream,
}
