//! Known defects that can be switched on in the real code path, in the spirit of
//! FoundationDB's BUGGIFY: each is a realistic bug of the kind a qalens lens exists to
//! catch, consulted where it acts, at points marked `// DEFECT(<name>)`. All are off unless
//! named in `REFSYS_DEFECTS` (comma-separated), so a reader sees the right pattern first.
//!
//! The harness switches them on per topology (`qalens run --defect NAME`) to prove that
//! its scenarios fail against a broken system.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, RwLock};
use std::time::Duration;

use tokio::sync::watch;

/// Declares the defects once: each variant with its doc, its name (as in
/// `REFSYS_DEFECTS`) and the tag of the scenarios meant to catch it, so `ALL`, `name` and
/// `lens` can never leave one out.
macro_rules! defects {
    ($($(#[doc = $doc:expr])* $variant:ident = $name:literal, lens $lens:literal;)*) => {
        /// Every defect, by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Defect {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Defect {
            /// Every defect, in declaration order.
            pub const ALL: &'static [Defect] = &[$(Defect::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Defect::$variant => $name,)*
                }
            }

            /// The tag (without `@`) of the scenarios meant to catch this defect, usually
            /// its lens; the self-test runs them first and stops at the first that fails.
            pub fn lens(self) -> &'static str {
                match self {
                    $(Defect::$variant => $lens,)*
                }
            }
        }
    };
}

defects! {
    /// Rate-limit counters kept per gateway replica instead of shared.
    PerReplicaLimiter = "per-replica-limiter", lens "shared-counter";
    /// The limiter admits one request more than the limit.
    LimiterOffByOne = "limiter-off-by-one", lens "rate-limit";
    /// 429 answers lack `Retry-After`.
    NoRetryAfter = "no-retry-after", lens "rate-limit";
    /// Over the limit answers 500 instead of 429.
    LimitAnswers500 = "limit-answers-500", lens "rate-limit";
    /// The limiter reads the count, then increments it in a second round trip.
    RacyLimiter = "racy-limiter", lens "rate-limit";
    /// A sliding-window policy is enforced as a fixed window.
    FixedWindowForSliding = "fixed-window-for-sliding", lens "rate-limit";
    /// When Redis does not answer in time, the request waits for it (checking again and
    /// again) instead of failing closed at the limiter's timeout.
    LimiterWaitsForRedis = "limiter-waits-for-redis", lens "outages";
    /// The email consumer does not deduplicate by message id.
    ConsumerNoDedupe = "consumer-no-dedupe", lens "duplicate-delivery";
    /// Consumer queues have no delivery limit and no dead-letter exchange, and poison
    /// messages are requeued instead of rejected.
    PoisonRequeued = "poison-requeued", lens "poison-message";
    /// The email consumer acknowledges deliveries before doing the work.
    AutoAck = "auto-ack", lens "poison-message";
    /// The saga cancels without releasing stock or refunding.
    NoCompensation = "no-compensation", lens "partial-failure";
    /// The saga gives up on a timeout and leaves the order PENDING.
    PendingOnTimeout = "pending-on-timeout", lens "partial-failure";
    /// One route (`GET /inventory/stock`) is served without authentication.
    OpenRoute = "open-route", lens "unprotected-route";
    /// Identity headers sent by the client are trusted.
    TrustIdentityHeaders = "trust-identity-headers", lens "unprotected-route";
    /// No circuit breaker: requests pile up on a dead upstream.
    NoCircuitBreaker = "no-circuit-breaker", lens "circuit-breaker";
    /// Tokens with `alg: none` are accepted.
    AlgNoneAccepted = "alg-none-accepted", lens "unprotected-route";
    /// Orders sends `amount` instead of `amount_cents` to payments.
    RenamedField = "renamed-field", lens "contracts";
    /// Orders publishes each event once, best effort, as if straight after the commit
    /// instead of through the outbox: an event that cannot be published is dropped.
    EventsOutsideOutbox = "events-outside-outbox", lens "outages";
    /// The saga's charge call sends a fresh idempotency key on each attempt instead of
    /// the order id, so a retry after a lost answer is a new charge request: payments
    /// refuses it (the order already has a charge) and the saga cancels and refunds an
    /// order whose customer was charged, instead of confirming it.
    FreshKeyPerAttempt = "fresh-key-per-attempt", lens "partial-failure";
    /// The outbox relay marks a row published once the publish was written to the
    /// connection, without waiting for the broker's confirm: a publish lost before the
    /// broker took it (a connection cut in between) is never sent again.
    RelayMarksUnconfirmed = "relay-marks-unconfirmed", lens "outages";
    /// Per-customer reads answer any client, not only the owner: orders answers
    /// `GET /orders/{id}` (and so the gateway's summary) and payments answers
    /// `GET /payments/charges?order_id=` and `GET /payments/charges/{id}` for anyone, and
    /// the gateway routes reservation reads (`GET /inventory/reservations/{order_id}`) to
    /// inventory, which does not know customers.
    AnyCustomerReads = "any-customer-reads", lens "object-authorization";
    /// Orders takes the customer of a new order from the request body instead of the
    /// authenticated identity the gateway forwards.
    BodyCustomerTrusted = "body-customer-trusted", lens "identity-binding";
    /// The gateway routes the raw path: dot segments, encoded slashes and dots, doubled
    /// slashes and the like are matched against route prefixes and passed upstream.
    RawPathRouting = "raw-path-routing", lens "path-confusion";
    /// The gateway accepts tokens up to 30 s after they expired instead of its 5 s of
    /// clock-skew leeway: slack that a token expired a minute ago does not reveal.
    ExpiryLeeway = "expiry-leeway", lens "token-expiry";
    /// The gateway's order summary answers 502 as a whole when one of its parts
    /// (order, payment, reservation) is unavailable, instead of a partial 200.
    SummaryFailsWhole = "summary-fails-whole", lens "aggregation";
    /// The analytics consumer does not deduplicate by message id: a redelivered event is
    /// counted again.
    AnalyticsNoDedupe = "analytics-no-dedupe", lens "duplicate-delivery";
    /// Consumer queues are declared with a length bound (`x-max-length`, 200 messages,
    /// meant to protect the broker's memory) and RabbitMQ's default overflow, `drop-head`:
    /// a backlog past the bound (a consumer down during a burst) loses its oldest messages
    /// instead of waiting for the consumer. Acts at queue declaration.
    BoundedQueueDropsHead = "bounded-queue-drops-head", lens "backlog";
    /// The rate limiter passes the gateway replica's own clock to its Redis script instead
    /// of reading Redis server time: a replica whose clock is skewed keeps its own windows
    /// and buckets, so the replicas together admit more than the limit.
    LimiterLocalClock = "limiter-local-clock", lens "clock-skew";
    /// Orders looks an `Idempotency-Key` up across all customers and answers whatever
    /// order it names: a client re-using (or guessing) another client's key gets that
    /// client's order back instead of a refusal.
    IdempotencyKeyShared = "idempotency-key-shared", lens "object-authorization";
    /// The gateway compares only the resource part of a scope (before `:`): a token with
    /// `orders:read` passes a route that needs `orders:write`.
    ScopeResourceOnly = "scope-resource-only", lens "unprotected-route";
    /// The gateway lets HEAD and OPTIONS through without a token (taken for probes and
    /// CORS preflights) and routes them like GET, so a HEAD reaches the upstream
    /// unauthenticated.
    PreflightUnauthenticated = "preflight-unauthenticated", lens "unprotected-route";
    /// The rate limiter counts per token string instead of per client: a client with a
    /// second (fresh) token starts a new count.
    LimiterKeyedByToken = "limiter-keyed-by-token", lens "rate-limit";
    /// Consumer queues are declared with a delivery limit one above the configured one:
    /// a message that keeps failing is delivered once more than documented (the first
    /// delivery and `limit + 1` redeliveries) before it is dead-lettered. Acts at queue
    /// declaration.
    DeliveryLimitOffByOne = "delivery-limit-off-by-one", lens "poison-message";
    /// Inventory's release returns the reserved units to stock on every call, not once: a
    /// release retried after its answer was lost (or resumed by the recovery loop) puts
    /// the units back twice, and the stock grows beyond what was ever there.
    ReleaseTwice = "release-twice", lens "partial-failure";
    /// The rate limiter keeps one count per client for all routes, not one per policy.
    LimiterOneCounter = "limiter-one-counter", lens "rate-limit";
    /// The gateway never reads `nbf`: a token that is not valid for another hour is
    /// accepted now (RFC 7519 4.1.5).
    NbfIgnored = "nbf-ignored", lens "hostile-token";
    /// The gateway skips the `crit` header like any unknown header parameter: a token
    /// whose issuer marked an extension critical is accepted by a gateway that does not
    /// understand it (RFC 7515 4.1.11).
    CritIgnored = "crit-ignored", lens "hostile-token";
    /// The gateway takes a token without `exp` as one that never expires.
    ExpOptional = "exp-optional", lens "hostile-token";
    /// The gateway has no longest token lifetime: a token whose `exp` lies a century
    /// ahead is accepted.
    LifetimeUnbounded = "lifetime-unbounded", lens "hostile-token";
    /// The gateway takes `iat` on trust: a token issued ten years in the future is
    /// accepted.
    IatUnchecked = "iat-unchecked", lens "hostile-token";
    /// A time claim (`exp`, `nbf`, `iat`) that is not a number is skipped as if absent
    /// instead of refused: `nbf: "garbage"` passes.
    ClaimsNotTyped = "claims-not-typed", lens "hostile-token";

    // Races on shared state, caught by the concurrency lens.
    /// Inventory's reserve checks the stock in one transaction and takes it in a second
    /// one, writing the count it computed from what it read: orders that read the same
    /// stock at once all get it, so more units are reserved than there ever were.
    ReserveCheckThenAct = "reserve-check-then-act", lens "concurrency";
    /// Orders looks an `Idempotency-Key` up in one transaction and creates the order in a
    /// second one, recording the key only if it is still free: the same request retried
    /// at once creates one order (and one charge, one reservation) per copy.
    IdempotencyCheckThenAct = "idempotency-check-then-act", lens "concurrency";
}

/// How long the check-then-act defects take between their check and their act: a round
/// trip to a networked database under load, where the read and the write of a real
/// check-then-act are separate trips. The embedded store answers in microseconds, which
/// would leave the race open only for requests that arrive in the same microsecond; a
/// real system's window is this wide. Only the defective paths wait it.
pub const CHECK_TO_ACT: Duration = Duration::from_millis(50);

impl Defect {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|d| d.name() == s)
    }

    /// Whether the defect acts where a consumer declares its queue and starts consuming
    /// (queue arguments, consume mode): switching it makes every consumer re-declare its
    /// queue and consume again ([`declaration_changes`]).
    pub fn at_declaration(self) -> bool {
        matches!(
            self,
            Defect::PoisonRequeued
                | Defect::AutoAck
                | Defect::BoundedQueueDropsHead
                | Defect::DeliveryLimitOffByOne
        )
    }
}

/// A set of switched-on defects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defects(BTreeSet<Defect>);

impl Defects {
    /// Parses a comma-separated list of names; an unknown name is an error naming it.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let d = Defect::parse(name).ok_or_else(|| {
                format!(
                    "unknown defect {name:?}; known: {}",
                    Defect::ALL
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            set.insert(d);
        }
        Ok(Self(set))
    }

    pub fn contains(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }
}

static ACTIVE: RwLock<Defects> = RwLock::new(Defects(BTreeSet::new()));

/// Bumped whenever the switched-on defects that act at declaration change.
static DECLARATION: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// The generation each consumer of this process has declared its queue with, by tag.
static DECLARED: LazyLock<watch::Sender<BTreeMap<String, u64>>> =
    LazyLock::new(|| watch::Sender::new(BTreeMap::new()));

/// How long a switch waits for the consumers to re-declare their queues.
const REDECLARE_DEADLINE: Duration = Duration::from_secs(30);

/// Follows the changes of the defects that act at declaration: a consumer re-declares its
/// queue (deleting it first only when the queue's arguments, `amqp::QueueShape`, changed)
/// and consumes again on each.
pub fn declaration_changes() -> watch::Receiver<u64> {
    DECLARATION.subscribe()
}

/// A consumer reports that it consumes from a queue declared at `generation`.
pub fn declared(consumer: &str, generation: u64) {
    DECLARED.send_modify(|m| {
        m.insert(consumer.to_string(), generation);
    });
}

/// Waits until every consumer of this process has declared at `generation` or later.
async fn redeclared(generation: u64) -> bool {
    let mut rx = DECLARED.subscribe();
    tokio::time::timeout(
        REDECLARE_DEADLINE,
        rx.wait_for(|m| m.values().all(|g| *g >= generation)),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

fn at_declaration(d: &Defects) -> BTreeSet<Defect> {
    d.0.iter().copied().filter(|d| d.at_declaration()).collect()
}

/// Reads `REFSYS_DEFECTS`, and the defects last switched at run time from
/// `REFSYS_DEFECTS_FILE` when it names a file that exists (a service started again in the
/// same container gets them back before it declares anything); call at start-up so a bad
/// name stops the service.
pub fn init_from_env() -> Result<(), String> {
    let mut list = std::env::var("REFSYS_DEFECTS").unwrap_or_default();
    if let Some(file) = std::env::var_os("REFSYS_DEFECTS_FILE")
        && let Ok(saved) = std::fs::read_to_string(&file)
    {
        list.push(',');
        list.push_str(&saved);
    }
    set(Defects::parse(&list)?);
    Ok(())
}

/// Keeps the defects switched at run time in `REFSYS_DEFECTS_FILE`, if set.
fn save(defects: &Defects) -> Result<(), String> {
    let Some(file) = std::env::var_os("REFSYS_DEFECTS_FILE") else {
        return Ok(());
    };
    let names: Vec<&str> = defects.0.iter().map(|d| d.name()).collect();
    std::fs::write(&file, names.join(","))
        .map_err(|e| format!("cannot keep the defects in {}: {e}", file.to_string_lossy()))
}

/// Switches on exactly `defects` in this process.
pub fn set(defects: Defects) {
    if defects != Defects::default() {
        tracing::warn!(
            ?defects,
            "DEFECTS SWITCHED ON: this service is deliberately broken"
        );
    }
    let mut active = ACTIVE.write().unwrap_or_else(|e| e.into_inner());
    if at_declaration(&active) != at_declaration(&defects) {
        DECLARATION.send_modify(|g| *g += 1);
    }
    *active = defects;
}

/// The defects switched on now.
pub fn active() -> Defects {
    ACTIVE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Whether defect `d` is switched on in this process.
pub fn on(d: Defect) -> bool {
    ACTIVE.read().unwrap_or_else(|e| e.into_inner()).contains(d)
}

/// The control API, served on its own port (`REFSYS_CONTROL_BIND`, default
/// `0.0.0.0:9090`) that neither the gateway routes nor the front door proxies:
/// `GET /internal/defects` lists the active defects, `PUT /internal/defects` with a JSON
/// list of names replaces them. When that changes the defects that act at declaration
/// ([`Defect::at_declaration`]), it answers once every consumer of this process has
/// re-declared its queue and consumes again (503 if they did not within 30 s).
pub fn control_router() -> axum::Router {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::get;

    async fn list() -> Json<Vec<&'static str>> {
        Json(active().0.iter().map(|d| d.name()).collect())
    }
    async fn replace(
        Json(names): Json<Vec<String>>,
    ) -> Result<Json<Vec<&'static str>>, (StatusCode, String)> {
        let defects = Defects::parse(&names.join(",")).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
        save(&defects).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
        set(defects);
        let generation = *DECLARATION.borrow();
        if !redeclared(generation).await {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the consumers did not re-declare their queues within {REDECLARE_DEADLINE:?}"
                ),
            ));
        }
        Ok(list().await)
    }
    axum::Router::new().route("/internal/defects", get(list).put(replace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names = BTreeSet::new();
        for &d in Defect::ALL {
            assert_eq!(Defect::parse(d.name()), Some(d));
            assert!(names.insert(d.name()));
        }
    }

    /// A defect listed here but consulted nowhere would make the self-test report a
    /// "catch" that is really an unrelated failure.
    #[test]
    fn every_defect_is_consulted_in_the_code() {
        fn sources(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("defects.rs")
                {
                    out.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let mut code = String::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut code,
        );
        // The call, not the comment: `defects::on(Defect::X)` however it is spelled
        // (a path prefix, line breaks, rustfmt's trailing comma), and the
        // `// DEFECT(name)` marker beside it.
        let calls: String = code
            .split_whitespace()
            .collect::<String>()
            .replace("crate::defects::", "")
            .replace("defects::", "")
            .replace(",)", ")");
        for &d in Defect::ALL {
            assert!(
                calls.contains(&format!("on(Defect::{d:?})")),
                "defect {} is never switched on in the code (no `defects::on(Defect::{d:?})`)",
                d.name()
            );
            assert!(
                code.contains(&format!("DEFECT({})", d.name())),
                "defect {} has no `// DEFECT({})` marker where it acts",
                d.name(),
                d.name()
            );
        }
    }

    /// The guide's defect table (`docs/reference-system.md`) is what users read: one
    /// row per defect, with the lens that catches it, and no row for a defect that is
    /// gone.
    #[test]
    fn every_defect_has_its_row_in_the_guide() {
        let page =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/reference-system.md");
        let text = std::fs::read_to_string(&page).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("` | `@"))
            .collect();
        for &d in Defect::ALL {
            let row = format!("| `{}` | `@{}` |", d.name(), d.lens());
            assert!(
                rows.iter().any(|r| r.starts_with(&row)),
                "{} has no row starting with {row}",
                page.display()
            );
        }
        assert_eq!(
            rows.len(),
            Defect::ALL.len(),
            "{} lists a defect refsys does not have",
            page.display()
        );
    }

    #[test]
    fn lists_parse_and_unknown_names_are_errors() {
        let d = Defects::parse(" open-route, auto-ack ,").unwrap();
        assert!(d.contains(Defect::OpenRoute) && d.contains(Defect::AutoAck));
        assert!(!d.contains(Defect::RacyLimiter));
        let err = Defects::parse("open-route,nope").unwrap_err();
        assert!(
            err.contains("\"nope\"") && err.contains("open-route"),
            "{err}"
        );
        assert_eq!(Defects::parse("").unwrap(), Defects::default());
    }
}
