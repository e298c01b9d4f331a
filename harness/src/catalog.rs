//! The step catalog that `qalens steps` prints: every step phrase with its domain, a
//! one-line description and an example.
//!
//! The phrases come from the step definitions themselves (cucumber's registry); the
//! descriptions and examples live here, and a test proves that every registered step has
//! exactly one entry whose example it matches, and every entry an existing step, so the
//! catalog cannot drift from the code.

use cucumber::codegen::WorldInventory;
use serde::Serialize;

use crate::world::QaWorld;

/// Documentation of one step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepDoc {
    /// The domain, as in `features/` and `harness/src/steps/`.
    pub domain: &'static str,
    pub description: &'static str,
    /// A complete step line, keyword included, as written in a feature file.
    pub example: &'static str,
}

/// Every documented step.
pub const DOCS: &[StepDoc] = &[
    StepDoc {
        domain: "identity",
        description: "Act as a new client of a tier (free or paid) with every non-admin scope; the name is made unique to the scenario.",
        example: "Given a free client \"alice\"",
    },
    StepDoc {
        domain: "identity",
        description: "Act as a client that also has the admin scope.",
        example: "Given an admin client \"ops\"",
    },
    StepDoc {
        domain: "identity",
        description: "Narrow the client's token to exactly these scopes (space-separated).",
        example: "Given the client's token has only the scope \"items:read\"",
    },
    StepDoc {
        domain: "identity",
        description: "Choose what the client presents: no token, a malformed token, an expired token, a token signed with the wrong key (another secret, or another key of the same algorithm), an unsigned alg-none token, a tampered token (admin added to its scope after signing), or a valid token (what x-qalens.identity gives: a JWT, the static token, or what the command prints). Expired, wrong-key, alg-none and tampered tokens need a JWT identity; `qalens check` flags them on a static token or a command.",
        example: "Given the client presents an expired token",
    },
    StepDoc {
        domain: "http",
        description: "The last response's body is JSON with this value at a dotted path (a number indexes an array); a string compares as is, another value as its JSON text (3, true, null).",
        example: "Then the response's JSON field \"payment.status\" is \"unavailable\"",
    },
    StepDoc {
        domain: "http",
        description: "Send one request through the front door as the client.",
        example: "When the client sends GET \"/items/123\"",
    },
    StepDoc {
        domain: "http",
        description: "Send one request straight to one gateway replica (1-based).",
        example: "When the client sends GET \"/limited/fixed\" to gateway replica 2",
    },
    StepDoc {
        domain: "http",
        description: "Send one request with an extra header (for example a spoofed identity header).",
        example: "When the client sends GET \"/limited/fixed\" with the header \"x-client-id\" set to \"somebody-else\"",
    },
    StepDoc {
        domain: "http",
        description: "Send N requests one after another through the front door.",
        example: "When the client sends 6 GET requests to \"/limited/fixed\"",
    },
    StepDoc {
        domain: "http",
        description: "Send N requests at the same time through the front door.",
        example: "When the client sends 20 GET requests to \"/limited/fixed\" at once",
    },
    StepDoc {
        domain: "http",
        description: "Send N requests one after another, to replica 1, 2, ..., K, 1, ...",
        example: "When the client sends 12 GET requests to \"/limited/sliding\" round-robin across the gateway replicas",
    },
    StepDoc {
        domain: "http",
        description: "Send N requests at the same time, spread evenly over the gateway replicas.",
        example: "When the client sends 30 GET requests to \"/limited/fixed\" at once across the gateway replicas",
    },
    StepDoc {
        domain: "http",
        description: "The last response had this status.",
        example: "Then the response status is 201",
    },
    StepDoc {
        domain: "http",
        description: "Exactly this many responses of the last batch had this status.",
        example: "Then exactly 5 of the responses had status 200",
    },
    StepDoc {
        domain: "http",
        description: "In send order: the first N responses had one status and every later one another.",
        example: "Then the first 5 responses had status 200 and the rest 429",
    },
    StepDoc {
        domain: "http",
        description: "The responses of the last batch carried this many distinct x-gateway-replica values.",
        example: "Then the responses came from all 3 gateway replicas",
    },
    StepDoc {
        domain: "http",
        description: "The last response lacks this header.",
        example: "Then the response has no header \"retry-after\"",
    },
    StepDoc {
        domain: "http",
        description: "The last response has this header with exactly this value.",
        example: "Then the response header \"x-gateway-replica\" is \"1\"",
    },
    StepDoc {
        domain: "http",
        description: "The last response is application/problem+json (RFC 9457) with this status in status line and body.",
        example: "Then the response is a problem with status 429",
    },
    StepDoc {
        domain: "http",
        description: "No response of the last batch took longer than this.",
        example: "Then every response arrived within 500 milliseconds",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Send, one after another through the front door, as many requests as the x-qalens.rate_limits policy covering the route admits (a route ending in / covers the paths under it). `qalens check` flags a route no policy covers.",
        example: "When the client sends the declared limit of GET requests to \"/limited/fixed\"",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Every request of the last batch answered 2xx; a refusal names the declared policy (and, for a count per ip or global, that other scenarios share it).",
        example: "Then each of them succeeded",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Send the last batch's request once more; fails as inconclusive if the batch took longer than the declared window.",
        example: "When the client sends one more such request",
    },
    StepDoc {
        domain: "rate-limit",
        description: "The last response is a 429 with a Retry-After of 1 s up to the declared window and, if it has a RateLimit-Policy header, one that says the declared limit and window.",
        example: "Then the response is a well-formed 429 for the declared policy",
    },
    StepDoc {
        domain: "rate-limit",
        description: "The last response has an integer Retry-After of at least 1 second.",
        example: "Then the response has a Retry-After of at least 1 whole second",
    },
    StepDoc {
        domain: "rate-limit",
        description: "RateLimit-Policy and RateLimit headers (IETF draft) are well-formed and name this quota.",
        example: "Then the response has well-formed RateLimit headers for a limit of 5 per 60 seconds",
    },
    StepDoc {
        domain: "rate-limit",
        description: "If the current rate-limit window of this path ends sooner, wait for the next one (asked through the RateLimit header with a fresh client, so the scenario's quota is untouched): steps that must land in one window then cannot straddle its boundary.",
        example: "Given the current window of \"/limited/fixed\" has at least 30 seconds left",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Wait exactly as long as the last response's Retry-After says (the server's promise is under test).",
        example: "When the client waits as long as Retry-After says",
    },
    StepDoc {
        domain: "security",
        description: "Call every route the system file documents (x-qalens.routes, a list or OpenAPI; public ones left out) or, when it documents none, every route of the gateway's own table (read from /admin/routes), with the client's credentials.",
        example: "When the client calls every route in the gateway's route table",
    },
    StepDoc {
        domain: "security",
        description: "Every route of the last sweep answered 401 with a Bearer WWW-Authenticate challenge.",
        example: "Then every route answered 401 with a WWW-Authenticate challenge",
    },
    StepDoc {
        domain: "security",
        description: "Every route of the last sweep answered 403.",
        example: "Then every route answered 403",
    },
    StepDoc {
        domain: "security",
        description: "Call every distinct route prefix of the sweep once with this method, whatever methods the route lists (HEAD, OPTIONS: methods a gateway may wave through as probes or CORS preflights), with the client's credentials.",
        example: "When the client calls every route in the gateway's route table with the method HEAD",
    },
    StepDoc {
        domain: "security",
        description: "Call every route of the gateway's own table (its scopes are needed) with a valid token holding every scope the table names except the route's, plus two near misses of it (cut short by a character, extended by one): a scope compared by prefix or by resource alone lets one through.",
        example: "When the client calls every route in the gateway's route table with a token holding every other scope of the table",
    },
    StepDoc {
        domain: "security",
        description: "No route of the last sweep answered 2xx.",
        example: "Then no route answered 2xx",
    },
    StepDoc {
        domain: "http",
        description: "Send N requests at the same time to one gateway replica.",
        example: "When the client sends 6 GET requests to \"/items/1\" at once on gateway replica 1",
    },
    StepDoc {
        domain: "faults",
        description: "Stop, kill, pause, unpause, start or restart a component's container (any container of the system file: a service, a replica `<service>-N`, or a link's proxy `link-<from>-<to>`). Faults still in effect are undone when the scenario ends.",
        example: "When the db container is paused",
    },
    StepDoc {
        domain: "claims",
        description: "Give back components the scenario no longer uses (comma- or and-separated), so scenarios that disrupt them may start while it goes on; a component it disrupts is kept until it ends.",
        example: "When the scenario no longer uses gateway and redis",
    },
    StepDoc {
        domain: "faults",
        description: "Poll one replica until a request answers this status.",
        example: "Then within 20 seconds GET \"/items/1\" on gateway replica 1 answers 200",
    },
    StepDoc {
        domain: "queue",
        description: "Publish any body to any exchange. An optional table of | property | value | rows sets `message-id` (made unique to the scenario; `(none)` sends none), `content-type` and `header NAME`; by default a fresh message id and no content type. A message no queue receives fails the step.",
        example: "When the message '{\"hello\": 1}' is published to the exchange \"shop.events\" with routing key \"order.confirmed\"",
    },
    StepDoc {
        domain: "queue",
        description: "Publish the scenario's last message again, byte for byte: same exchange, routing key, message id, headers and body (a redelivery).",
        example: "When the last message is published again",
    },
    StepDoc {
        domain: "queue",
        description: "Publish any body straight into a queue the system file declares (x-qalens.broker.queues), through the default exchange; it becomes the scenario's last message.",
        example: "When the message \"this is not a job\" is published to the queue \"jobs\"",
    },
    StepDoc {
        domain: "queue",
        description: "Wait until the scenario's last message is in the dead-letter queue the system file declares for this queue. A queue with none fails, saying whether a consumer took the message (dropped) or it still waits there.",
        example: "Then within 10 seconds the message from the queue \"jobs\" is dead-lettered",
    },
    StepDoc {
        domain: "queue",
        description: "Wait until the scenario's last message (one copy of it) is in this dead-letter queue with this x-death reason (rejected, delivery_limit) and count 1; that copy is taken out.",
        example: "Then within 10 seconds the message is in the dead-letter queue \"jobs.dlq\" with reason \"rejected\"",
    },
    StepDoc {
        domain: "queue",
        description: "Wait until the broker reports exactly N messages ready (delivered to no consumer yet) in a queue or dead-letter queue: the consumer's lag.",
        example: "Then within 10 seconds the queue \"jobs\" has 0 messages ready",
    },
    StepDoc {
        domain: "queue",
        description: "Wait until the broker reports at least N messages ready in a queue (a passive declare, so any queue of any system): a backlog the broker keeps, not capped or dropped.",
        example: "Then within 10 seconds the queue \"jobs\" has at least 401 messages ready",
    },
    StepDoc {
        domain: "queue",
        description: "Read every message in a dead-letter queue (each put back) and fail if any belongs to the scenario's last burst, with the x-death reasons seen (maxlen: dropped by a length bound).",
        example: "Then no message of the burst is in the dead-letter queue \"jobs.dlq\"",
    },
    StepDoc {
        domain: "faults",
        description: "Skew one container's wall clock by seconds, minutes or hours ahead or behind (libfaketime; monotonic clocks untouched). Works on any container started with libfaketime preloaded (every reference service is); waits until a process in it sees the new clock. Set right when the scenario ends.",
        example: "When the clock of the gateway-1 container is 10 minutes ahead",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Every 429 of the last batch had a Retry-After of whole seconds within these bounds (for example 1 and the window): sane, never negative, huge or missing.",
        example: "Then every 429 response had a Retry-After between 1 and 60 seconds",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Send N requests one after another at a fixed pace (the traffic pattern under test).",
        example: "When the client sends 12 GET requests to \"/limited/short\" one every 250 milliseconds",
    },
    StepDoc {
        domain: "rate-limit",
        description: "Send one burst 700 ms before a boundary of fixed windows of this length (multiples of it on the Unix clock) and another 150 ms after it: the fixed-window edge burst.",
        example: "When the client sends 3 GET requests to \"/limited/short\" at once just before a 2-second clock boundary and 3 more just after it",
    },
    StepDoc {
        domain: "rate-limit",
        description: "In no span as long as the window did more requests succeed than the limit (a fixed window lets 2N through around its edge; a sliding window never does).",
        example: "Then no 2-second span held more than 3 successful responses",
    },
    StepDoc {
        domain: "faults",
        description: "Put a network fault on a link through its fault proxy (the links x-qalens.links declares with a proxy; QALENS_LINKS chooses among them): added latency per chunk of traffic. Undone when the scenario ends.",
        example: "When the link from api to db adds 3000 ms of latency",
    },
    StepDoc {
        domain: "faults",
        description: "Black-hole a link (connections hang; bytes are held, as in a network partition, and flow again when the link heals), reset its connections, or heal it.",
        example: "When the link from gateway to db black-holes traffic",
    },
    StepDoc {
        domain: "faults",
        description: "A one-way fault on a link: requests pass and the callee does the work, but its answers are held (until the link heals) or dropped (the proxy cuts the connection as soon as the callee answers, so the caller sees a failed call whose work was done: a lost answer). Undone when the scenario ends.",
        example: "When the link from api to db drops the answers",
    },
    StepDoc {
        domain: "faults",
        description: "Wait until a component's container has stopped by itself (a crash); it is started again when the scenario ends unless a step starts it.",
        example: "Then within 10 seconds the worker container has stopped",
    },
    StepDoc {
        domain: "http",
        description: "At least this many responses of the last batch had this status.",
        example: "Then at least 5 of the responses had status 200",
    },
    StepDoc {
        domain: "contracts",
        description: "Every request one service sent another for this scenario's subject (the id a pack step last acted on, such as an order; or, for a headers contract, with the client's identity), as the link's proxy recorded it, satisfies the contract: body schema and required headers. Any proxied HTTP link; the contracts come from x-qalens.contracts, or the enabled pack's bundled ones.",
        example: "Then the request api sent to ledger conforms to contract EntryRequest v1",
    },
    StepDoc {
        domain: "contracts",
        description: "Publish the contract's first example (fresh ids) without one field; the step fails if the field is not required, so the message really breaks the contract.",
        example: "When the first example of contract OrderConfirmed v1 is published for the client without its \"amount_cents\" field",
    },
    StepDoc {
        domain: "identity",
        description: "Present a valid token for the client whose exp lies N seconds in the past (1 s beyond a documented leeway, or long ago).",
        example: "Given the client presents a token that expired 6 seconds ago",
    },
    StepDoc {
        domain: "identity",
        description: "Present a valid token for the same client (subject, tier, scopes) that differs from the one it presented before (a later exp), kept until the next credential step: what is counted per client must not start again with it.",
        example: "Given the client presents a fresh valid token",
    },
    StepDoc {
        domain: "security",
        description: "As client \"a\" (a client of the scenario), create a resource with the doc string as JSON body ({client} becomes the client's id); expects 2xx and remembers the resource: its Location header, else the path plus the body's id.",
        example: "When client \"owner\" creates a resource with POST \"/carts\" and the body:",
    },
    StepDoc {
        domain: "security",
        description: "As the named client, the created resource answers this method with 2xx.",
        example: "Then client \"owner\" can GET it",
    },
    StepDoc {
        domain: "security",
        description: "As the named client, this path ({id} becomes the created resource's id) answers this method with 2xx.",
        example: "Then client \"owner\" can GET \"/carts/{id}/summary\"",
    },
    StepDoc {
        domain: "security",
        description: "Wait until, as the named client, this path ({id} becomes the created resource's id) answers this method with 2xx: for what the system creates in the background after the resource (an order's charge).",
        example: "Then within 10 seconds client \"owner\" can GET \"/ledger/entries?cart_id={id}\"",
    },
    StepDoc {
        domain: "security",
        description: "As the named client, the created resource is refused: 404 (or 403; 405 for a method other than GET).",
        example: "Then client \"eve\" cannot GET it",
    },
    StepDoc {
        domain: "security",
        description: "As the named client, this path ({id} becomes the created resource's id) is refused: 404 (or 403; 405 for a method other than GET).",
        example: "Then client \"eve\" cannot GET \"/carts/{id}/summary\"",
    },
    StepDoc {
        domain: "security",
        description: "As the named client, GET on the created resource and on the same path with an id no resource has get the same refusal (status and body, ids aside), so ids do not reveal what exists.",
        example: "Then to client \"eve\" it looks like a resource that does not exist",
    },
    StepDoc {
        domain: "security",
        description: "As \"creates a resource\", with one extra header whose value is made unique to the scenario (the same for every client of the scenario, new in every run): an idempotency key.",
        example: "When client \"owner\" creates a resource with POST \"/carts\", the header \"Idempotency-Key\" set to \"checkout-1\", and the body:",
    },
    StepDoc {
        domain: "security",
        description: "As the named client, send the doc string as JSON body ({client} becomes the client's own id) with one extra header, its value made unique to the scenario as in the creation step: re-use another client's idempotency key.",
        example: "When client \"eve\" sends POST \"/carts\", the header \"Idempotency-Key\" set to \"checkout-1\", and the body:",
    },
    StepDoc {
        domain: "security",
        description: "The last response, whatever its status, does not hand out the created resource: its id is neither in the body nor in a Location header.",
        example: "Then the response does not reveal the resource",
    },
    StepDoc {
        domain: "security",
        description: "As the first client, send a request whose path or query names the second ({client} becomes the second client's id).",
        example: "When client \"mallory\" sends GET \"/ledger/entries?customer={client}\" naming client \"victim\"",
    },
    StepDoc {
        domain: "security",
        description: "As the first client, send a request whose JSON body (the doc string) names the second ({client} becomes the second client's id, in the path too).",
        example: "When client \"mallory\" sends POST \"/carts\" with a body naming client \"victim\":",
    },
    StepDoc {
        domain: "security",
        description: "The last response is a 4xx and carries no Location header.",
        example: "Then the request was refused with a 4xx status and created nothing",
    },
    StepDoc {
        domain: "security",
        description: "For every route of the gateway's route table (read from /admin/routes) and each of its methods, send raw path rewrites meaning that route (dot segments from another route with another scope, %2e, %2f, backslashes, %5c, //, upper case, ; suffixes, %00), each with a token that has every route scope but the target's; paths go on the wire byte for byte.",
        example: "When the client sends path rewrites toward every route in the gateway's route table, each with a token lacking that route's scope",
    },
    StepDoc {
        domain: "security",
        description: "The same path rewrites of every route, without an Authorization header.",
        example: "When the client sends path rewrites toward every route in the gateway's route table without a token",
    },
    StepDoc {
        domain: "security",
        description: "None of the last rewrites answered 2xx; a failure names each rewrite that got through, what it aimed at and the exchange.",
        example: "Then no rewrite answered 2xx",
    },
    StepDoc {
        domain: "security",
        description: "Send one request through the front door as the client with the path written to the socket exactly as given (no normalisation of .., //, \\ or percent-escapes).",
        example: "When the client sends the raw request GET \"/limited/fixed/../../admin/routes\"",
    },
    StepDoc {
        domain: "security",
        description: "The same raw request straight to one gateway replica (1-based), past the front door, which refuses some paths (such as %00) itself.",
        example: "When the client sends the raw request GET \"/admin/routes%00\" to gateway replica 1",
    },
];

/// A step definition as registered with cucumber.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub keyword: &'static str,
    /// The regular expression the step matches (cucumber expressions compile to one).
    pub pattern: String,
    /// `file:line` of the definition.
    pub defined_at: String,
}

/// Every step definition of [`QaWorld`].
pub fn registered() -> Vec<Registered> {
    fn collect<C: cucumber::codegen::StepConstructor<QaWorld> + 'static>(
        keyword: &'static str,
        items: impl Iterator<Item = &'static C>,
        out: &mut Vec<Registered>,
    ) {
        for c in items {
            let (location, regex, _) = c.inner();
            out.push(Registered {
                keyword,
                pattern: regex().as_str().to_string(),
                defined_at: format!("{}:{}", location.path, location.line),
            });
        }
    }
    let mut out = vec![];
    collect(
        "Given",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::Given>.into_iter(),
        &mut out,
    );
    collect(
        "When",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::When>.into_iter(),
        &mut out,
    );
    collect(
        "Then",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::Then>.into_iter(),
        &mut out,
    );
    out.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    out
}

/// Splits a step line into its keyword and text.
pub fn split_keyword(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    ["Given ", "When ", "Then ", "And ", "But "]
        .iter()
        .find_map(|k| line.strip_prefix(k).map(|rest| (k.trim(), rest)))
}

/// Every documented step: the generic ones, then each pack's.
pub fn all_docs() -> impl Iterator<Item = &'static StepDoc> {
    DOCS.iter().chain(crate::packs::docs())
}

/// A catalog entry joined with the definition its example matches.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub domain: &'static str,
    /// The pack the step comes from (`reference`); `None` for a generic step.
    pub pack: Option<&'static str>,
    pub keyword: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub pattern: String,
    pub defined_at: String,
}

/// The catalog, sorted by domain; entries whose example matches no definition are left
/// out (the test in this module makes that impossible on main).
pub fn entries() -> Vec<Entry> {
    let steps = registered();
    let mut out: Vec<Entry> = all_docs()
        .filter_map(|doc| {
            let (keyword, text) = split_keyword(doc.example)?;
            let step = steps
                .iter()
                .find(|s| s.keyword == keyword && regex_matches(&s.pattern, text))?;
            Some(Entry {
                domain: doc.domain,
                pack: crate::packs::of_definition(&step.defined_at).map(crate::packs::name),
                keyword: step.keyword,
                description: doc.description,
                example: doc.example,
                pattern: step.pattern.clone(),
                defined_at: step.defined_at.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.domain, a.example).cmp(&(b.domain, b.example)));
    out
}

fn regex_matches(pattern: &str, text: &str) -> bool {
    cucumber::codegen::Regex::new(pattern).is_ok_and(|r| r.is_match(text))
}

/// The entries `system` can serve: a pack's steps only when it enables the pack, queue
/// steps only with a broker, link steps only with a declared link, contract steps only
/// with contracts (its own or a pack's).
pub fn entries_for(system: &crate::system::System) -> Vec<Entry> {
    let q = &system.qalens;
    entries()
        .into_iter()
        .filter(|e| {
            let pack_ok = crate::packs::ALL
                .iter()
                .filter(|p| Some(crate::packs::name(**p)) == e.pack)
                .all(|p| crate::packs::enabled(system, *p));
            let needs_link = e.example.contains("the link from");
            let needs_broker = e.domain == "queue";
            let needs_contracts = e.domain == "contracts";
            pack_ok
                && (!needs_link || !q.links.is_empty())
                && (!needs_broker || q.broker.is_some())
                && (!needs_contracts
                    || q.contracts.is_some()
                    || crate::packs::default_registry(system).is_some())
        })
        .collect()
}

/// The catalog as text for a terminal: `entries` (all of them, or those one system
/// file can serve), then the scheduling tags.
pub fn render_text(entries: &[Entry]) -> String {
    let mut out = String::new();
    let mut domain = "";
    for e in entries {
        if e.domain != domain {
            domain = e.domain;
            out.push_str(&format!("\n## {domain}\n"));
        }
        let from = e
            .pack
            .map(|p| format!("      (from the {p} pack)\n"))
            .unwrap_or_default();
        out.push_str(&format!("  {}\n      {}\n{from}", e.example, e.description));
    }
    out.push_str("\n## tags (scheduling)\n");
    for (tag, description) in TAGS {
        out.push_str(&format!("  {tag}\n      {description}\n"));
    }
    out.push_str(&format!(
        "      Components: {}.\n",
        crate::scheduler::component_names()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

/// The tags that decide which scenarios may run at the same time ([`crate::scheduler`]),
/// on a scenario, a rule or a feature (then for every scenario in it).
pub const TAGS: &[(&str, &str)] = &[
    (
        "@uses:gateway,redis",
        "Needs these components working (a list, or one tag per component). Without any @uses tag a scenario uses every component.",
    ),
    (
        "@disrupts:db",
        "Stops, pauses, kills, restarts or faults these (a link fault disrupts the link's callee), or needs them to itself; runs alone with every scenario that uses or disrupts them. A disrupted component counts as used.",
    ),
    (
        "@serial",
        "Disrupts every component: runs alone with everything.",
    ),
];

#[cfg(test)]
mod tests;
