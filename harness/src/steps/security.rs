//! Security lenses, phrased in HTTP terms so they work on any system behind a gateway:
//!
//! - object-level authorization: a resource one client created is not readable (nor
//!   changeable) by another client, while its owner still can;
//! - identity binding: a request whose body or query names another principal than its
//!   token is refused;
//! - path confusion: raw-path rewrites of every route in the gateway's route table (dot
//!   segments toward another route, encoded slashes and dots, doubled slashes, case
//!   changes, `;` suffixes, backslashes, NUL) never reach a route whose scope the token
//!   lacks and never answer 2xx without a token. They are written to the socket byte for
//!   byte ([`send_raw`]): an HTTP client library would normalise `..` and `\` away
//!   before they reach the system (the tests below show reqwest doing it);
//! - token expiry: the credential step `the client presents a token that expired N
//!   seconds ago` lives in `identity.rs`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cucumber::gherkin::Step;
use cucumber::{then, when};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::StepResult;
use super::http::{Call, Target, base_url, header};
use super::identity::authorization;
use super::routes::{Route, fetch_routes};
use crate::context;
use crate::tokens::now;
use crate::world::{Client, Exchange, QaWorld, Resource};

/// Placeholder in paths and bodies for the id (token subject) of the client a step names.
const CLIENT: &str = "{client}";
/// Placeholder in paths for the id of the resource created last.
const ID: &str = "{id}";
/// Longest wait for one raw exchange.
const RAW_TIMEOUT: Duration = Duration::from_secs(10);
/// Raw requests in flight at once during a rewrite sweep.
const RAW_CONCURRENCY: usize = 8;

/// The client the feature called `name`, with its latest credentials.
fn named(world: &QaWorld, name: &str) -> Result<Client, String> {
    let client = world.clients.get(name).cloned().ok_or_else(|| {
        format!("no client {name:?} in this scenario: add `Given a free client \"{name}\"`")
    })?;
    // A credential or scope step changed the current client after it was named.
    Ok(match &world.client {
        Some(current) if current.id == client.id => current.clone(),
        _ => client,
    })
}

/// Sends `method path` (and `body`, as JSON) through the front door as client `name`,
/// and records the exchange as the last one.
async fn send_as(
    world: &mut QaWorld,
    name: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<Exchange, String> {
    let mut call = call_as(world, name, method, path)?;
    if let Some(b) = body {
        call.body = Some(b);
        call = call.header("content-type", "application/json");
    }
    let ex = call.send().await?;
    world.batch = vec![ex.clone()];
    world.last = Some(ex.clone());
    Ok(ex)
}

/// `method path` through the front door as client `name`, not sent yet.
fn call_as(world: &mut QaWorld, name: &str, method: &str, path: &str) -> Result<Call, String> {
    let client = named(world, name)?;
    let saved = world.client.replace(client);
    let call = Call::new(world, method, Target::FrontDoor, path);
    world.client = saved;
    call
}

fn docstring(step: &Step) -> Result<String, String> {
    step.docstring
        .clone()
        .map(|d| d.trim().to_string())
        .ok_or_else(|| {
            "this step needs the request body as a doc string (\"\"\" ... \"\"\")".into()
        })
}

/// The created resource's path: its `Location` header, else `POST path` + `/` + body `id`.
fn created(path: &str, ex: &Exchange) -> Result<Resource, String> {
    let body: Option<serde_json::Value> = serde_json::from_str(&ex.body).ok();
    let body_id = body.as_ref().and_then(|b| match &b["id"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    if let Some(location) = header(ex, "location") {
        let location = location
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .unwrap_or_else(|| location.to_string());
        let id = body_id
            .or_else(|| location.rsplit('/').next().map(str::to_string))
            .unwrap_or_default();
        return Ok(Resource { path: location, id });
    }
    let id = body_id.ok_or_else(|| {
        format!("the creation answered neither a Location header nor a body with an `id`\n{ex}")
    })?;
    Ok(Resource {
        path: format!("{}/{id}", path.trim_end_matches('/')),
        id,
    })
}

#[when(expr = "client {string} creates a resource with {word} {string} and the body:")]
async fn creates(
    world: &mut QaWorld,
    step: &Step,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    let id = named(world, &name)?.id;
    let body = docstring(step)?.replace(CLIENT, &id);
    let ex = send_as(
        world,
        &name,
        &method,
        &path.replace(CLIENT, &id),
        Some(body),
    )
    .await?;
    if !(200..300).contains(&ex.status) {
        return Err(format!(
            "expected client {name:?} to create a resource (2xx), saw {}\n{ex}",
            ex.status
        ));
    }
    world.resource = Some(created(&path, &ex)?);
    Ok(())
}

/// `path` with `{id}` replaced by the created resource's id, or the resource itself.
fn resource_path(world: &QaWorld, path: Option<&str>) -> Result<String, String> {
    let resource = world.resource.as_ref().ok_or(
        "no resource was created before this step: start with `When client \"a\" creates a resource with POST ...`",
    )?;
    Ok(match path {
        Some(p) => p.replace(ID, &resource.id),
        None => resource.path.clone(),
    })
}

async fn can(world: &mut QaWorld, name: &str, method: &str, path: Option<&str>) -> StepResult {
    let path = resource_path(world, path)?;
    let ex = send_as(world, name, method, &path, None).await?;
    if (200..300).contains(&ex.status) {
        Ok(())
    } else {
        Err(format!(
            "expected client {name:?} to be allowed {method} {path} (2xx), saw {}\n{ex}",
            ex.status
        ))
    }
}

/// Statuses that refuse a client another client's resource: 404 (preferred: it does not
/// even reveal that the resource exists) or 403; 405 too for a method other than GET.
fn refused(method: &str, status: u16) -> bool {
    matches!(status, 403 | 404) || (status == 405 && method != "GET")
}

async fn cannot(world: &mut QaWorld, name: &str, method: &str, path: Option<&str>) -> StepResult {
    let path = resource_path(world, path)?;
    let ex = send_as(world, name, method, &path, None).await?;
    if refused(method, ex.status) {
        Ok(())
    } else {
        Err(format!(
            "expected client {name:?} to be refused {method} {path} (404 or 403), saw {}\n{ex}",
            ex.status
        ))
    }
}

#[then(expr = "client {string} can {word} it")]
async fn can_it(world: &mut QaWorld, name: String, method: String) -> StepResult {
    can(world, &name, &method, None).await
}

#[then(expr = "client {string} can {word} {string}")]
async fn can_path(world: &mut QaWorld, name: String, method: String, path: String) -> StepResult {
    can(world, &name, &method, Some(&path)).await
}

/// Waits until `name` gets a 2xx for `method path`, for resources another part of the
/// system creates in the background (a charge made by the order's saga).
#[then(expr = "within {int} seconds client {string} can {word} {string}")]
async fn can_path_within(
    world: &mut QaWorld,
    seconds: u64,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    let path = resource_path(world, Some(&path))?;
    let call = call_as(world, &name, &method, &path)?;
    let outcome = crate::wait::until(Duration::from_secs(seconds), || {
        let call = call.clone();
        async move {
            let ex = call.send().await?;
            if (200..300).contains(&ex.status) {
                Ok(Some(ex))
            } else {
                Err(format!("{}\n{ex}", ex.status))
            }
        }
    })
    .await;
    match outcome {
        Ok(ex) => {
            world.batch = vec![ex.clone()];
            world.last = Some(ex);
            Ok(())
        }
        Err(last) => Err(format!(
            "expected client {name:?} to be allowed {method} {path} (2xx) within {seconds} s, last saw {last}"
        )),
    }
}

#[then(expr = "client {string} cannot {word} it")]
async fn cannot_it(world: &mut QaWorld, name: String, method: String) -> StepResult {
    cannot(world, &name, &method, None).await
}

#[then(expr = "client {string} cannot {word} {string}")]
async fn cannot_path(
    world: &mut QaWorld,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    cannot(world, &name, &method, Some(&path)).await
}

/// An id of the same shape as `id` that no resource has.
fn missing_id(id: &str) -> String {
    match uuid::Uuid::parse_str(id) {
        Ok(_) => uuid::Uuid::new_v4().to_string(),
        Err(_) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            format!("9{}", "0".repeat(id.len().min(17)))
        }
        Err(_) => format!("{id}-missing"),
    }
}

#[then(expr = "to client {string} it looks like a resource that does not exist")]
async fn looks_missing(world: &mut QaWorld, name: String) -> StepResult {
    let resource = world
        .resource
        .clone()
        .ok_or("no resource was created before this step")?;
    let other = missing_id(&resource.id);
    let missing_path = resource.path.replace(&resource.id, &other);
    let missing = send_as(world, &name, "GET", &missing_path, None).await?;
    let theirs = send_as(world, &name, "GET", &resource.path, None).await?;
    let same_body =
        theirs.body.replace(&resource.id, "{id}") == missing.body.replace(&other, "{id}");
    if refused("GET", theirs.status) && theirs.status == missing.status && same_body {
        Ok(())
    } else {
        Err(format!(
            "expected client {name:?} to get the same refusal for another client's resource as for one that does not exist (status and body, ids aside)\nanother client's resource:\n{theirs}\na resource that does not exist:\n{missing}"
        ))
    }
}

#[when(expr = "client {string} sends {word} {string} naming client {string}")]
async fn sends_naming(
    world: &mut QaWorld,
    name: String,
    method: String,
    path: String,
    other: String,
) -> StepResult {
    let other = named(world, &other)?.id;
    send_as(world, &name, &method, &path.replace(CLIENT, &other), None).await?;
    Ok(())
}

#[when(expr = "client {string} sends {word} {string} with a body naming client {string}:")]
async fn sends_body_naming(
    world: &mut QaWorld,
    step: &Step,
    name: String,
    method: String,
    path: String,
    other: String,
) -> StepResult {
    let other = named(world, &other)?.id;
    let body = docstring(step)?.replace(CLIENT, &other);
    send_as(
        world,
        &name,
        &method,
        &path.replace(CLIENT, &other),
        Some(body),
    )
    .await?;
    Ok(())
}

#[then(expr = "the request was refused with a 4xx status and created nothing")]
async fn refused_4xx(world: &mut QaWorld) -> StepResult {
    let last = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    if !(400..500).contains(&last.status) {
        return Err(format!(
            "expected a 4xx refusal, saw {}\n{}",
            last.status,
            world.last_exchange()
        ));
    }
    if let Some(location) = header(last, "location") {
        return Err(format!(
            "the refusal points at a created resource (Location: {location})\n{}",
            world.last_exchange()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Path confusion

/// One raw path to try, and what it aims at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub method: String,
    /// Exactly what goes on the request line.
    pub path: String,
    /// The route the rewrite means (its prefix) and the scope that route needs.
    pub target: String,
    pub scope: String,
    /// Which trick, e.g. `dot segments via /limited/fixed`.
    pub kind: String,
}

/// Every rewrite of every route: for each route (the target) and method, rewrites that
/// mean the target but start under another route ("cover") whose scope differs, and
/// rewrites of the target's own path. A gateway that matches the raw path against its
/// prefixes, or decodes and normalises it after routing, lets one of them through.
pub fn rewrites(routes: &[Route]) -> Vec<Rewrite> {
    // One cover per scope other than the target's is enough: the scope is what the
    // token has.
    let mut covers: Vec<&Route> = vec![];
    for r in routes {
        if !covers.iter().any(|c| c.scope == r.scope) {
            covers.push(r);
        }
    }
    let mut out = vec![];
    let mut seen = BTreeSet::new();
    for target in routes {
        let t = target.prefix.as_str();
        let t_rest = t.trim_start_matches('/');
        let mut paths: Vec<(String, String)> = vec![
            (format!("/.{t}"), "a leading dot segment".into()),
            (format!("/%2e{t}"), "an encoded leading dot segment".into()),
            (format!("/{t}"), "a leading doubled slash".into()),
            (t.replace('/', "//"), "doubled slashes".into()),
            (t.to_uppercase(), "upper case".into()),
            (format!("{t};"), "a `;` suffix".into()),
            (format!("{t};x=1"), "a `;` parameter".into()),
            (format!("{t}%00"), "a NUL suffix".into()),
            (format!("{t}/."), "a trailing dot segment".into()),
            (t.replace('/', "%2f"), "encoded slashes".into()),
            (t.replace('/', "\\"), "backslashes".into()),
        ];
        for cover in covers.iter().filter(|c| c.scope != target.scope) {
            let c = cover.prefix.as_str();
            let depth = c.split('/').filter(|s| !s.is_empty()).count();
            let via = |what: &str| format!("{what} via {c}");
            paths.extend([
                (
                    format!("{c}{}{t}", "/..".repeat(depth)),
                    via("dot segments"),
                ),
                (
                    format!("{c}{}{t}", "/%2e%2e".repeat(depth)),
                    via("encoded dot segments"),
                ),
                (
                    format!("{c}{}{t}", "/.%2E".repeat(depth)),
                    via("half-encoded dot segments"),
                ),
                (
                    format!(
                        "{c}{}%2f{}",
                        "%2f..".repeat(depth),
                        t_rest.replace('/', "%2f")
                    ),
                    via("encoded slashes"),
                ),
                (
                    format!("{c}{}{t}", "/..%2f".repeat(depth).trim_end_matches("%2f")),
                    via("dot segments ending in %2f"),
                ),
                (
                    format!("{c}{}\\{}", "\\..".repeat(depth), t_rest.replace('/', "\\")),
                    via("backslashes"),
                ),
                (
                    format!("{c}{}{t}", "%5c..".repeat(depth)),
                    via("encoded backslashes"),
                ),
                (
                    format!("{c};{}{t}", "/..".repeat(depth)),
                    via("a `;` then dot segments"),
                ),
                (
                    format!("{c}%00{}{t}", "/..".repeat(depth)),
                    via("a NUL then dot segments"),
                ),
                (
                    format!("{c}/{}{t}", "/..".repeat(depth)),
                    via("a doubled slash then dot segments"),
                ),
            ]);
        }
        for method in &target.methods {
            for (path, kind) in &paths {
                if seen.insert((method.clone(), path.clone())) {
                    out.push(Rewrite {
                        method: method.clone(),
                        path: path.clone(),
                        target: target.prefix.clone(),
                        scope: target.scope.clone(),
                        kind: kind.clone(),
                    });
                }
            }
        }
    }
    out
}

/// A raw HTTP/1.1 exchange with `target`: `path` goes on the request line exactly as
/// written (only a space, CR or LF, which would end the request line, is refused).
pub async fn send_raw(
    target: Target,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> Result<Exchange, String> {
    let base = base_url(target)?;
    let addr = base
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .ok_or_else(|| format!("the front door {base} is not an http:// URL"))?;
    send_raw_to(addr, method, path, authorization, body).await
}

/// [`send_raw`] to `addr` (`host:port`).
pub async fn send_raw_to(
    addr: &str,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> Result<Exchange, String> {
    if path.bytes().any(|b| matches!(b, b' ' | b'\r' | b'\n')) {
        return Err(format!(
            "{path:?} cannot go on a request line (space, CR or LF)"
        ));
    }
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(a) = authorization {
        request.push_str(&format!("Authorization: {a}\r\n"));
    }
    let sent = body.unwrap_or_default();
    if !sent.is_empty() || method != "GET" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            sent.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(sent);
    let started = Instant::now();
    let what = format!("{method} {path} (raw, to {addr})");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{what}: cannot connect: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("{what}: writing failed: {e}"))?;
        let mut raw = vec![];
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("{what}: reading failed: {e}"))?;
        Ok::<_, String>(raw)
    };
    let raw = tokio::time::timeout(RAW_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{what}: no complete answer within {RAW_TIMEOUT:?}"))??;
    let (status, headers, body) = parse_response(&raw).map_err(|e| format!("{what}: {e}"))?;
    Ok(Exchange {
        method: method.to_string(),
        url: format!("http://{addr}{path}"),
        request_body: (!sent.is_empty()).then(|| sent.to_string()),
        status,
        headers,
        body,
        elapsed: started.elapsed(),
        sent_at: started,
    })
}

type Parsed = (u16, Vec<(String, String)>, String);

/// Status, headers and (de-chunked) body of a complete HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> Result<Parsed, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head in {} bytes", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = vec![];
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// A bearer token for `client` with every scope of `routes` except `missing`.
fn token_without(client: &Client, routes: &[Route], missing: &str) -> Result<String, String> {
    let scopes: BTreeSet<&str> = routes
        .iter()
        .map(|r| r.scope.as_str())
        .filter(|s| *s != missing)
        .collect();
    let secret = context::current()?.endpoints.jwt_secret.clone();
    let scope = scopes.into_iter().collect::<Vec<_>>().join(" ");
    Ok(crate::tokens::bearer(
        &client.id,
        client.tier,
        &scope,
        now() + 3600,
        &secret,
    ))
}

async fn sweep(world: &mut QaWorld, with_token: bool) -> StepResult {
    let client = world.client()?.clone();
    let routes = fetch_routes().await?;
    let rewrites = rewrites(&routes);
    let mut tokens = std::collections::BTreeMap::new();
    if with_token {
        for r in &routes {
            tokens.insert(r.scope.clone(), token_without(&client, &routes, &r.scope)?);
        }
    }
    let results: Vec<Result<(String, Exchange), String>> = futures::stream::iter(rewrites)
        .map(|rw| {
            let auth = tokens.get(&rw.scope).cloned();
            async move {
                let body = (rw.method != "GET").then_some("{}");
                let ex = send_raw(
                    Target::FrontDoor,
                    &rw.method,
                    &rw.path,
                    auth.as_deref(),
                    body,
                )
                .await?;
                let label = format!(
                    "{} toward {} (needs scope {:?}; the token {})",
                    rw.kind,
                    rw.target,
                    rw.scope,
                    if auth.is_some() {
                        "lacks it"
                    } else {
                        "is absent"
                    }
                );
                Ok((label, ex))
            }
        })
        .buffered(RAW_CONCURRENCY)
        .collect()
        .await;
    let rewrites = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    world.batch = rewrites.iter().map(|(_, e)| e.clone()).collect();
    world.last = world.batch.last().cloned();
    world.rewrites = rewrites;
    Ok(())
}

#[when(
    expr = "the client sends path rewrites toward every route in the gateway's route table, each with a token lacking that route's scope"
)]
async fn sweep_lacking_scope(world: &mut QaWorld) -> StepResult {
    sweep(world, true).await
}

#[when(
    expr = "the client sends path rewrites toward every route in the gateway's route table without a token"
)]
async fn sweep_without_token(world: &mut QaWorld) -> StepResult {
    sweep(world, false).await
}

#[then(expr = "no rewrite answered 2xx")]
async fn no_rewrite_2xx(world: &mut QaWorld) -> StepResult {
    if world.rewrites.is_empty() {
        return Err("no rewrite was sent before this step".into());
    }
    let through: Vec<&(String, Exchange)> = world
        .rewrites
        .iter()
        .filter(|(_, e)| (200..300).contains(&e.status))
        .collect();
    if through.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = through
        .iter()
        .take(5)
        .map(|(label, e)| format!("- {label}:\n{e}"))
        .collect();
    Err(format!(
        "expected every one of {} path rewrites to be refused, but {} answered 2xx (first {} shown):\n{}",
        world.rewrites.len(),
        through.len(),
        shown.len(),
        shown.join("\n")
    ))
}

async fn raw_one(world: &mut QaWorld, target: Target, method: &str, path: &str) -> StepResult {
    let auth = authorization(world)?;
    let body = (method != "GET").then_some("{}");
    let ex = send_raw(target, method, path, auth.as_deref(), body).await?;
    world.batch = vec![ex.clone()];
    world.last = Some(ex);
    Ok(())
}

#[when(expr = "the client sends the raw request {word} {string}")]
async fn sends_raw(world: &mut QaWorld, method: String, path: String) -> StepResult {
    raw_one(world, Target::FrontDoor, &method, &path).await
}

/// Straight to a replica: the front door (nginx) refuses some paths itself, `%00` for
/// one, so this is how the gateway's own rule is seen.
#[when(expr = "the client sends the raw request {word} {string} to gateway replica {int}")]
async fn sends_raw_to_replica(
    world: &mut QaWorld,
    method: String,
    path: String,
    replica: usize,
) -> StepResult {
    raw_one(world, Target::Replica(replica), &method, &path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, methods: &[&str], scope: &str) -> Route {
        Route {
            prefix: prefix.into(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
            scope: scope.into(),
        }
    }

    fn table() -> Vec<Route> {
        vec![
            route("/orders", &["POST"], "orders:write"),
            route("/limited/fixed", &["GET"], "limited:read"),
            route("/limited/sliding", &["GET"], "limited:read"),
            route("/admin/routes", &["GET"], "admin"),
        ]
    }

    #[test]
    fn rewrites_aim_at_every_route_through_every_other_scope() {
        let all = rewrites(&table());
        let paths: BTreeSet<&str> = all.iter().map(|r| r.path.as_str()).collect();
        for expected in [
            "/limited/fixed/../../admin/routes",
            "/limited/fixed/%2e%2e/%2e%2e/admin/routes",
            "/limited/fixed%2f..%2f..%2fadmin%2froutes",
            "/limited/fixed\\..\\..\\admin\\routes",
            "/limited/fixed;/../../admin/routes",
            "/limited/fixed%00/../../admin/routes",
            "//admin/routes",
            "/ADMIN/ROUTES",
            "/admin/routes;",
            "/orders/../limited/fixed",
        ] {
            assert!(paths.contains(expected), "{expected} missing");
        }
        // Never through a route with the target's own scope, and never twice.
        assert!(!paths.contains("/limited/sliding/../../limited/fixed"));
        assert_eq!(paths.len(), all.len());
        let post = all.iter().find(|r| r.target == "/orders").unwrap();
        assert_eq!(post.method, "POST");
        assert_eq!(post.scope, "orders:write");
    }

    /// What a listener on a local port receives: the raw writer keeps the path as written,
    /// while reqwest (through the `url` crate) normalises dot segments and backslashes.
    async fn request_line_received(send: impl AsyncFnOnce(String)) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = vec![];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            )
            .await
            .unwrap();
            String::from_utf8_lossy(&got)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        });
        send(addr).await;
        server.await.unwrap()
    }

    #[tokio::test]
    async fn raw_paths_go_on_the_wire_exactly_as_written() {
        for path in [
            "/limited/fixed/../../admin/routes",
            "/limited/fixed\\..\\..\\admin/routes",
            "//admin/routes",
            "/a/%2e%2e/%2F/%00;x",
        ] {
            let line = request_line_received(async |addr: String| {
                let ex = send_raw_to(&addr, "GET", path, Some("Bearer t"), None)
                    .await
                    .unwrap();
                assert_eq!(ex.status, 200);
                assert_eq!(ex.body, "abc");
            })
            .await;
            assert_eq!(line, format!("GET {path} HTTP/1.1"));
        }
    }

    #[tokio::test]
    async fn reqwest_would_have_normalised_them() {
        let line = request_line_received(async |addr: String| {
            let _ = reqwest::get(format!("http://{addr}/limited/fixed/../../admin\\routes")).await;
        })
        .await;
        assert_eq!(line, "GET /admin/routes HTTP/1.1");
    }

    #[test]
    fn missing_ids_keep_the_shape() {
        let id = uuid::Uuid::new_v4().to_string();
        assert!(uuid::Uuid::parse_str(&missing_id(&id)).is_ok());
        assert_ne!(missing_id(&id), id);
        assert_eq!(missing_id("42"), "900");
        assert_eq!(missing_id("abc"), "abc-missing");
    }

    #[test]
    fn locations_and_ids_name_the_created_resource() {
        let ex = |headers: Vec<(String, String)>, body: &str| Exchange {
            method: "POST".into(),
            url: "http://x/orders".into(),
            request_body: None,
            status: 201,
            headers,
            body: body.into(),
            elapsed: Duration::ZERO,
            sent_at: Instant::now(),
        };
        let r = created("/orders", &ex(vec![], r#"{"id":"abc"}"#)).unwrap();
        assert_eq!((r.path.as_str(), r.id.as_str()), ("/orders/abc", "abc"));
        let r = created(
            "/orders",
            &ex(
                vec![("location".into(), "http://h:1/things/7".into())],
                "{}",
            ),
        )
        .unwrap();
        assert_eq!((r.path.as_str(), r.id.as_str()), ("/things/7", "7"));
        assert!(created("/orders", &ex(vec![], "{}")).is_err());
    }
}
