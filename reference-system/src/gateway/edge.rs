//! The request pipeline every client request goes through: [`handle`] sets the request
//! id, and `pipeline` runs one function per stage, in this order:
//!
//! 1. request id ([`handle`]): kept from the client when well-formed, else generated;
//! 2. path check (`check_path`): a path that is not in canonical form (dot segments,
//!    doubled slashes, backslashes, percent-encoded `/`, `\`, `.` or NUL) is a 400
//!    Problem, before anything else looks at it, so the path routed on is the path
//!    passed upstream;
//! 3. public allow-list (`/health`, ...) answered by the gateway itself;
//! 4. route lookup (`find_route`) in the route table;
//! 5. authentication, default deny (`authenticate_request`): a valid bearer token or
//!    401, whether a route matched or not; a token is accepted up to 5 s past its `exp`
//!    (clock skew), no longer, and must follow the other rules of `auth.rs` (`nbf`,
//!    `iat`, `crit`, lifetime);
//! 6. routing (`require_route`): 404 when no route has the path, 405 when routes have
//!    it for other methods;
//! 7. authorisation (`authorize`): the route's scope or 403;
//! 8. identity headers (`identity_headers`): stripped from the client, set from the
//!    token;
//! 9. rate limit (`rate_limit`) per client and route policy, shared through Redis (429);
//! 10. the answer (`dispatch`): the gateway's own, the order summary, or the upstream's
//!     through its circuit breaker and bounded concurrency (503) with the route's timeout
//!     (504 / 502).
//!
//! Each known defect of the gateway's edge is consulted in the stage it breaks. Every
//! answer carries `x-request-id` and `x-gateway-replica`; errors are problem+json.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contract_tools::jwt::Tier;
use serde_json::json;

use super::auth::{Claims, authenticate, scopes, tier_name, unauthorized};
use super::breaker::Permit;
use super::paths::non_canonical;
use super::ratelimit::{self, Algorithm, Decision, Quota};
use super::routes_table::Route;
use super::{AppState, FailMode, IDENTITY_HEADERS, aggregate};
use crate::defects::{self, Defect};
use crate::error::problem;

/// Largest request body forwarded (bytes).
const MAX_BODY: usize = 1 << 20;

/// An answer a stage gives instead of passing the request on (boxed: a `Response` is
/// large, and most stages pass).
type Refused = Box<Response>;

pub async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let request_id = req
        .headers()
        .get(contracts::headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut response = pipeline(&state, req, &request_id)
        .await
        .unwrap_or_else(|refused| *refused);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(contracts::headers::REQUEST_ID), v);
    }
    headers.insert(
        HeaderName::from_static("x-gateway-replica"),
        HeaderValue::from(u16::from(state.replica)),
    );
    response
}

/// The stages after the request id, in order (the module docs say what each answers).
async fn pipeline(state: &AppState, req: Request, request_id: &str) -> Result<Response, Refused> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    check_path(&path)?;
    if state.table.is_public(&path) {
        return Ok(builtin_public(state, &path).await);
    }
    let route = find_route(state, &method, &path);
    let claims = authenticate_request(state, &method, req.headers(), route.as_ref())?;
    let route = require_route(state, &method, &path, route)?;
    authorize(&claims, &route)?;
    let (parts, body) = req.into_parts();
    let (headers, client_id) = identity_headers(&parts.headers, &claims, request_id);
    let authorization = parts.headers.get(header::AUTHORIZATION);
    let limit_headers = rate_limit(state, &route, &client_id, authorization, claims.tier).await?;
    let mut response = dispatch(state, &route, method, &parts.uri, &headers, body).await?;
    for (k, v) in limit_headers {
        response.headers_mut().insert(k, v);
    }
    Ok(response)
}

/// Path check: a path not in canonical form is a 400 before anything else looks at it.
fn check_path(path: &str) -> Result<(), Refused> {
    // DEFECT(raw-path-routing): the raw path is routed and forwarded as it came.
    if defects::on(Defect::RawPathRouting) {
        return Ok(());
    }
    match non_canonical(path) {
        Some(reason) => Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            Some(reason.to_string()),
        ))),
        None => Ok(()),
    }
}

/// Routing, the lookup: the route table's route for `method` and `path`, if any. What no
/// route matches is answered by [`require_route`], after authentication.
fn find_route(state: &AppState, method: &Method, path: &str) -> Option<Route> {
    // DEFECT(preflight-unauthenticated): HEAD and OPTIONS are routed like GET (and pass
    // authentication without a token).
    let lookup = if defects::on(Defect::PreflightUnauthenticated) && is_preflight(method) {
        "GET"
    } else {
        method.as_str()
    };
    let route = state.table.find(lookup, path);
    // DEFECT(any-customer-reads): a path under `/inventory` that no route matches goes to
    // inventory anyway, as when the whole prefix was routed, reservations included.
    if route.is_none() && defects::on(Defect::AnyCustomerReads) && path.starts_with("/inventory/") {
        return state
            .table
            .find(method.as_str(), "/inventory/stock")
            .cloned();
    }
    route.cloned()
}

fn is_preflight(method: &Method) -> bool {
    method == Method::HEAD || method == Method::OPTIONS
}

/// Authentication, default deny: the claims of a valid bearer token, or a 401 with a
/// challenge. `route` is the route found, if any.
fn authenticate_request(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    route: Option<&Route>,
) -> Result<Claims, Refused> {
    // DEFECT(preflight-unauthenticated): HEAD and OPTIONS pass as probes or preflights,
    // without a token.
    let preflight = defects::on(Defect::PreflightUnauthenticated) && is_preflight(method);
    // DEFECT(open-route): one route is served without authentication.
    let open = preflight
        || defects::on(Defect::OpenRoute)
            && method == Method::GET
            && route.is_some_and(|r| r.prefix == "/inventory/stock");
    if open {
        return Ok(Claims {
            sub: "anonymous".into(),
            tier: Tier::Free,
            scope: route.map(|r| r.scope.clone()).unwrap_or_default(),
            exp: u64::MAX,
        });
    }
    authenticate(state, headers).map_err(|detail| Box::new(unauthorized(&detail)))
}

/// Routing, the answer: the route found, or 404 when no route has the path and 405 (with
/// `Allow`) when routes have it for other methods.
fn require_route(
    state: &AppState,
    method: &Method,
    path: &str,
    route: Option<Route>,
) -> Result<Route, Refused> {
    if let Some(route) = route {
        return Ok(route);
    }
    let allowed: Vec<String> = state
        .table
        .routes
        .iter()
        .filter(|r| r.matches_path(path))
        .flat_map(|r| r.methods.iter().cloned())
        .collect();
    if allowed.is_empty() {
        return Err(Box::new(problem(
            StatusCode::NOT_FOUND,
            Some(format!("no route for {path}")),
        )));
    }
    let mut res = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        Some(format!("{method} is not routed for {path}")),
    );
    if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    Err(Box::new(res))
}

/// Authorisation: the token grants the route's scope (exactly), or 403 with a challenge
/// naming it.
fn authorize(claims: &Claims, route: &Route) -> Result<(), Refused> {
    // DEFECT(scope-resource-only): only the part before `:` is compared.
    let resource = |s: &str| s.split(':').next().unwrap_or_default().to_string();
    let granted = scopes(claims).contains(route.scope.as_str())
        || defects::on(Defect::ScopeResourceOnly)
            && scopes(claims)
                .iter()
                .any(|s| resource(s) == resource(&route.scope));
    if granted {
        return Ok(());
    }
    let mut res = problem(
        StatusCode::FORBIDDEN,
        Some(format!("this route needs the scope {:?}", route.scope)),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer realm=\"qalens\", error=\"insufficient_scope\", scope=\"{}\"",
        route.scope
    )) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    Err(Box::new(res))
}

/// Identity headers: the headers passed upstream, with whatever the client claims in
/// [`IDENTITY_HEADERS`] dropped and set from the token, and the request id; and the client
/// id they name.
fn identity_headers(
    received: &HeaderMap,
    claims: &Claims,
    request_id: &str,
) -> (HeaderMap, String) {
    let mut headers = received.clone();
    // DEFECT(trust-identity-headers): the client's own `x-client-id` is kept.
    let spoofed = headers
        .get("x-client-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    for h in IDENTITY_HEADERS {
        headers.remove(h);
    }
    let client_id = match spoofed {
        Some(id) if defects::on(Defect::TrustIdentityHeaders) => id,
        _ => claims.sub.clone(),
    };
    let set = |headers: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set(&mut headers, "x-client-id", &client_id);
    set(&mut headers, "x-client-tier", tier_name(claims.tier));
    set(&mut headers, "x-client-scopes", &claims.scope);
    set(&mut headers, contracts::headers::REQUEST_ID, request_id);
    (headers, client_id)
}

/// Rate limit: the route policy's quota for `tier`, counted for `client_id` in Redis and
/// shared by every replica. Its `RateLimit` headers, for the answer; or 429 over the
/// limit, and 503 with `Retry-After` when the limiter cannot decide and fails closed.
/// `authorization` is the header the token came in.
async fn rate_limit(
    state: &AppState,
    route: &Route,
    client_id: &str,
    authorization: Option<&HeaderValue>,
    tier: Tier,
) -> Result<Vec<(HeaderName, HeaderValue)>, Refused> {
    let Some(policy) = state.table.policies.get(&route.policy) else {
        return Err(Box::new(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(format!("route policy {:?} is not configured", route.policy)),
        )));
    };
    let limit = match tier {
        Tier::Free => policy.free,
        Tier::Paid => policy.paid,
    };
    let quota = Quota::new(limit, Duration::from_secs(policy.window_seconds));
    let mut algorithm = policy.algorithm;
    // DEFECT(fixed-window-for-sliding): the configured sliding window is not honoured.
    if defects::on(Defect::FixedWindowForSliding) && algorithm == Algorithm::SlidingWindow {
        algorithm = Algorithm::FixedWindow;
    }
    let key = limiter_key(state, route, client_id, authorization);
    // DEFECT(limiter-off-by-one): one request more than the limit gets through.
    let enforced = if defects::on(Defect::LimiterOffByOne) {
        Quota::new(limit + 1, quota.window)
    } else {
        quota
    };
    // DEFECT(racy-limiter): read the count, then increment it in a second round trip.
    // It keeps the limiter's timeout: the defect is the race, not a hang when Redis is gone.
    let decision = if defects::on(Defect::RacyLimiter) {
        let timeout = state.limiter.timeout();
        tokio::time::timeout(timeout, racy_check(state, &key, &enforced))
            .await
            .unwrap_or(Err(ratelimit::LimiterError::Timeout(timeout)))
    } else {
        state.limiter.check(&key, algorithm, &enforced).await
    };
    // DEFECT(limiter-waits-for-redis): instead of failing closed at its timeout, the
    // request waits for Redis however long it takes, checking again and again.
    let mut decision = decision;
    while decision.is_err() && defects::on(Defect::LimiterWaitsForRedis) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        decision = state.limiter.check(&key, algorithm, &enforced).await;
    }
    let decision = match decision {
        Ok(d) => Decision {
            limit,
            remaining: d.remaining.min(limit),
            ..d
        },
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter unavailable");
            return match state.fail_mode {
                FailMode::Open => Ok(vec![]),
                FailMode::Closed => {
                    let mut res = problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        Some("the rate limiter is unavailable; retry shortly".into()),
                    );
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    Err(Box::new(res))
                }
            };
        }
    };
    let headers = ratelimit::headers(&decision, &route.policy, &quota);
    if decision.allowed {
        return Ok(headers);
    }
    Err(over_limit(route, &quota, headers))
}

/// The key a request is counted under: the client's, per route policy.
fn limiter_key(
    state: &AppState,
    route: &Route,
    client_id: &str,
    authorization: Option<&HeaderValue>,
) -> String {
    // DEFECT(limiter-keyed-by-token): the count follows the token, not the client.
    let limited_as = if defects::on(Defect::LimiterKeyedByToken) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        authorization.map(|v| v.as_bytes().to_vec()).hash(&mut h);
        format!("token-{:x}", h.finish())
    } else {
        client_id.to_string()
    };
    let mut key = format!("{limited_as}:{}", route.policy);
    // DEFECT(limiter-one-counter): one count per client across all policies.
    if defects::on(Defect::LimiterOneCounter) {
        key = limited_as;
    }
    // DEFECT(per-replica-limiter): each replica counts on its own.
    if defects::on(Defect::PerReplicaLimiter) {
        key = format!("replica-{}:{key}", state.replica);
    }
    key
}

/// The answer over the limit: 429 with the `RateLimit` headers and `Retry-After`.
fn over_limit(
    route: &Route,
    quota: &Quota,
    mut headers: Vec<(HeaderName, HeaderValue)>,
) -> Refused {
    // DEFECT(no-retry-after): the 429 does not say when to come back.
    if defects::on(Defect::NoRetryAfter) {
        headers.retain(|(k, _)| k != header::RETRY_AFTER);
    }
    // DEFECT(limit-answers-500): over the limit looks like a server error.
    let status = if defects::on(Defect::LimitAnswers500) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    let mut res = problem(
        status,
        Some(format!(
            "rate limit of {} requests per {} s exceeded for policy {:?}",
            quota.limit,
            quota.window.as_secs(),
            route.policy
        )),
    );
    for (k, v) in headers {
        res.headers_mut().insert(k, v);
    }
    Box::new(res)
}

/// The answer of the route: the gateway's own ([`builtin_routed`]), the order summary
/// assembled from its parts ([`aggregate::summary`]), or the upstream's through its
/// breaker ([`call_upstream`]), the request passed on with `headers` and exactly the path
/// routed on. A body over [`MAX_BODY`] is a 413.
async fn dispatch(
    state: &AppState,
    route: &Route,
    method: Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Response, Refused> {
    let path = uri.path();
    if route.upstream == "gateway" {
        return Ok(builtin_routed(state, path).await);
    }
    if method == Method::GET
        && let Some(id) = aggregate::summary_id(path)
    {
        let timeout = Duration::from_millis(route.timeout_ms);
        let (status, body) = aggregate::summary(state, id, headers, timeout).await;
        return Ok((status, axum::Json(body)).into_response());
    }
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return Err(Box::new(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(format!("request body over {MAX_BODY} bytes")),
        )));
    };
    // Exactly the path routed on (and the query as it came).
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    Ok(call_upstream(state, route, method, &path_and_query, headers, body).await)
}

/// The defective limiter of [`Defect::RacyLimiter`]: a fixed window whose check and
/// increment are two round trips, so concurrent requests all see the same count.
async fn racy_check(
    state: &AppState,
    key: &str,
    quota: &Quota,
) -> Result<Decision, ratelimit::LimiterError> {
    let mut conn = state.redis.clone();
    let window_ms = quota.window.as_millis().max(1) as u64;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let window = now_ms / window_ms;
    let redis_key = format!("racy:{key}:{window}");
    let count: Option<u64> = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut conn)
        .await?;
    let count = count.unwrap_or(0);
    let reset = Duration::from_millis((window + 1) * window_ms - now_ms);
    if count >= quota.limit {
        return Ok(Decision {
            allowed: false,
            limit: quota.limit,
            remaining: 0,
            reset_after: reset,
            retry_after: Some(reset.max(Duration::from_secs(1))),
        });
    }
    // Widen the gap between read and write as a slow network would.
    tokio::task::yield_now().await;
    let _: u64 = redis::cmd("INCR")
        .arg(&redis_key)
        .query_async(&mut conn)
        .await?;
    let _: () = redis::cmd("PEXPIRE")
        .arg(&redis_key)
        .arg(window_ms * 2)
        .query_async(&mut conn)
        .await?;
    Ok(Decision {
        allowed: true,
        limit: quota.limit,
        remaining: quota.limit - count - 1,
        reset_after: reset,
        retry_after: None,
    })
}

async fn call_upstream(
    state: &AppState,
    route: &Route,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(upstream) = state.upstreams.get(&route.upstream).cloned() else {
        return problem(
            StatusCode::BAD_GATEWAY,
            Some(format!("upstream {:?} is not configured", route.upstream)),
        );
    };
    // DEFECT(no-circuit-breaker): every request goes to the upstream, dead or alive.
    let breaker_on = !defects::on(Defect::NoCircuitBreaker);
    let permit = if breaker_on {
        upstream.breaker.try_acquire(Instant::now())
    } else {
        Permit::Closed
    };
    if let Permit::Open { retry_after } = permit {
        let mut res = problem(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(format!("{} is unavailable (circuit open)", upstream.name)),
        );
        let secs = ratelimit::ceil_secs(retry_after).max(1);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return res;
    }
    let Ok(_slot) = Arc::clone(&upstream.slots).try_acquire_owned() else {
        if breaker_on {
            // Not a verdict on the upstream's health: give the probe back unused.
            upstream.breaker.record(&permit, true, Instant::now());
        }
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(format!("{} has too many requests in flight", upstream.name)),
        );
    };
    let result = super::proxy::forward(
        &state.http,
        &upstream.base,
        method,
        path_and_query,
        headers,
        body,
        Duration::from_millis(route.timeout_ms),
    )
    .await;
    let healthy = matches!(&result, Ok(r) if r.status().as_u16() < 500);
    if breaker_on {
        upstream.breaker.record(&permit, healthy, Instant::now());
    }
    match result {
        Ok(r) => r,
        Err(super::proxy::ForwardError::Timeout) => problem(
            StatusCode::GATEWAY_TIMEOUT,
            Some(format!(
                "{} did not answer within {} ms",
                upstream.name, route.timeout_ms
            )),
        ),
        Err(super::proxy::ForwardError::Unreachable(e)) => {
            tracing::warn!(upstream = upstream.name, error = e, "upstream unreachable");
            problem(
                StatusCode::BAD_GATEWAY,
                Some(format!("{} is unreachable", upstream.name)),
            )
        }
    }
}

async fn builtin_public(state: &AppState, path: &str) -> Response {
    match path {
        "/ready" => {
            let mut redis = state.redis.clone();
            match redis::cmd("PING").query_async::<String>(&mut redis).await {
                Ok(_) => "ok".into_response(),
                Err(_) => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some("redis unreachable".into()),
                ),
            }
        }
        _ => "ok".into_response(),
    }
}

/// Routes whose upstream is the gateway itself.
async fn builtin_routed(state: &AppState, path: &str) -> Response {
    if path == "/admin/routes" {
        return axum::Json(state.table.as_ref().clone()).into_response();
    }
    if path == "/admin/breakers" {
        let states: serde_json::Map<String, serde_json::Value> = state
            .upstreams
            .iter()
            .map(|(name, u)| (name.clone(), json!(u.breaker.state())))
            .collect();
        return axum::Json(states).into_response();
    }
    axum::Json(json!({"ok": true, "path": path, "replica": state.replica})).into_response()
}
