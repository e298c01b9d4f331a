//! The gateway's edge over HTTP, against a real Redis (see ratelimit.rs) and a real orders
//! service: non-canonical paths are 400 Problems before authentication, and the summary
//! answers only the order's own customer.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use refsys::gateway::{Application, Config, FailMode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{NO_BROKER, NOWHERE, TestApp, serve, spawn_orders};
use crate::ratelimit::TestRedis;

const SECRET: &str = "gateway-test-secret";

async fn spawn_gateway(redis: &TestRedis, orders: &str) -> TestApp {
    spawn_gateway_with(redis, orders, NOWHERE, NOWHERE).await
}

/// The default longest token lifetime, as documented (24 hours).
const DAY: u64 = 24 * 3600;

/// A gateway whose upstreams are `orders`, `payments` and `inventory`.
async fn spawn_gateway_with(
    redis: &TestRedis,
    orders: &str,
    payments: &str,
    inventory: &str,
) -> TestApp {
    spawn_gateway_full(redis, orders, payments, inventory, DAY).await
}

/// A gateway whose upstreams are `orders`, `payments` and `inventory`, accepting tokens
/// valid for at most `max_lifetime` seconds.
async fn spawn_gateway_full(
    redis: &TestRedis,
    orders: &str,
    payments: &str,
    inventory: &str,
    max_lifetime: u64,
) -> TestApp {
    let upstreams = BTreeMap::from([
        ("orders".to_string(), orders.to_string()),
        ("payments".to_string(), payments.to_string()),
        ("inventory".to_string(), inventory.to_string()),
    ]);
    let app = Application::build(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        replica: 1,
        jwt_secret: SECRET.into(),
        jwt_public_key: None,
        jwt_max_lifetime: max_lifetime,
        routes_file: None,
        upstreams,
        redis_url: redis.url.clone(),
        limiter_timeout: Duration::from_secs(1),
        fail_mode: FailMode::Closed,
        breaker_failures: 5,
        breaker_open: Duration::from_secs(5),
        max_concurrency: 16,
    })
    .await
    .unwrap();
    let addr = app.local_addr();
    serve(addr, |stop| app.run_until(stop))
}

fn token(sub: &str, scope: &str, exp_from_now: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "sub": sub,
        "tier": "paid",
        "scope": scope,
        "exp": now.saturating_add_signed(exp_from_now),
    });
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let token = jsonwebtoken::encode(&Header::default(), &claims, &key).unwrap();
    format!("Bearer {token}")
}

/// Status and body of `GET path` written to the socket exactly as given.
async fn raw_get(app: &TestApp, path: &str) -> (u16, Value) {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        raw.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{path}: {raw}"
    );
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn every_non_canonical_path_is_a_400_problem_before_authentication() {
    let redis = TestRedis::start().await;
    let gw = spawn_gateway(&redis, NOWHERE).await;
    for (path, class) in [
        ("/limited/fixed/../../admin/routes", "dot segments"),
        ("/limited/fixed/./x", "dot segments"),
        ("/limited/fixed/%2e%2e/%2E%2E/admin/routes", "encoded dots"),
        (
            "/limited/fixed%2f..%2f..%2fadmin%2froutes",
            "encoded slashes",
        ),
        ("/limited/fixed\\..\\..\\admin\\routes", "backslashes"),
        ("/limited/fixed%5c..%5Cadmin", "backslashes"),
        ("//admin/routes", "empty path segments"),
        ("/admin/routes%00", "NUL"),
    ] {
        // No token: a 401 would mean authentication came first.
        let (status, problem) = raw_get(&gw, path).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert_eq!(problem["status"], 400, "{path}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(class), "{path}: {detail}");
    }
    // A canonical path without a token is a 401, as before.
    let (status, _) = raw_get(&gw, "/limited/fixed").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn tokens_are_accepted_a_few_seconds_past_exp_and_no_longer() {
    let redis = TestRedis::start().await;
    let gw = spawn_gateway(&redis, NOWHERE).await;
    let get = |auth: String| {
        gw.http
            .get(gw.url("/limited/fixed"))
            .header("authorization", auth)
            .send()
    };
    // Within the 5 s leeway (clock skew): accepted.
    assert_eq!(
        get(token("a", "limited:read", -2)).await.unwrap().status(),
        200
    );
    for age in [6, 60, 3600] {
        let res = get(token("a", "limited:read", -age)).await.unwrap();
        assert_eq!(res.status(), 401, "expired {age} s ago");
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with the gateway's secret from raw header and claims JSON: `extra`
/// claims are added to (or, as `null`, removed from) a paid client's claims that expire
/// in an hour.
fn raw_token(header: &Value, extra: &Value) -> String {
    let mut claims = json!({
        "sub": "hostile",
        "tier": "paid",
        "scope": "limited:read",
        "exp": now() + 3600,
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", b64(header), b64(&claims));
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("Bearer {input}.{signature}")
}

/// Status and `WWW-Authenticate` of `GET /limited/fixed` with `auth`; the 401's detail.
async fn limited_get(gw: &TestApp, auth: &str) -> (u16, String, String) {
    let res = gw
        .http
        .get(gw.url("/limited/fixed"))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = res.json().await.unwrap_or_default();
    let detail = body["detail"].as_str().unwrap_or_default().to_string();
    (status, challenge, detail)
}

/// The gateway's token rules beyond the signature: `nbf` and `iat` in the future,
/// critical header extensions, time claims that are not numbers, no `exp` and an `exp`
/// beyond the longest lifetime are each refused with a 401 challenge naming the rule,
/// while the same claims within the leeway or the lifetime are accepted.
#[tokio::test]
async fn hostile_time_claims_and_critical_headers_are_refused_with_a_challenge() {
    let redis = TestRedis::start().await;
    let gw = spawn_gateway(&redis, NOWHERE).await;
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let now = now();
    let year = 365 * DAY;
    let refused = [
        (
            hs256.clone(),
            json!({"nbf": now + 3600}),
            "not valid before",
        ),
        (
            json!({"alg": "HS256", "typ": "JWT", "crit": ["x-qalens-unknown"], "x-qalens-unknown": true}),
            json!({}),
            "crit",
        ),
        (
            json!({"alg": "HS256", "typ": "JWT", "crit": []}),
            json!({}),
            "crit",
        ),
        (
            hs256.clone(),
            json!({"nbf": "garbage"}),
            "nbf claim is \"garbage\"",
        ),
        (
            hs256.clone(),
            json!({"iat": "garbage"}),
            "iat claim is \"garbage\"",
        ),
        (
            hs256.clone(),
            json!({"exp": "soon"}),
            "exp claim is \"soon\"",
        ),
        (hs256.clone(), json!({"nbf": -1}), "not a NumericDate"),
        (
            hs256.clone(),
            json!({"iat": now + 10 * year}),
            "issued in the future",
        ),
        (
            hs256.clone(),
            json!({"exp": now + 100 * year}),
            "longest token lifetime",
        ),
        (
            hs256.clone(),
            json!({"exp": 1e300}),
            "longest token lifetime",
        ),
        (hs256.clone(), json!({"exp": null}), "no exp claim"),
    ];
    for (header, extra, rule) in refused {
        let (status, challenge, detail) = limited_get(&gw, &raw_token(&header, &extra)).await;
        assert_eq!(status, 401, "{header} {extra}: {detail}");
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{header} {extra}: {challenge}"
        );
        assert!(
            detail.contains(rule),
            "{header} {extra}: {detail:?} lacks {rule:?}"
        );
    }
    // Within the leeway, the lifetime, or as plain numbers: accepted (each its own
    // client, so the rate limit stays out of the way).
    let accepted = [
        json!({"sub": "near-nbf", "nbf": now + 2}),
        json!({"sub": "past-nbf", "nbf": now - 60, "iat": now - 60}),
        json!({"sub": "near-iat", "iat": now + 2}),
        json!({"sub": "fraction", "exp": (now + 60) as f64 + 0.5, "nbf": now as f64 - 0.5}),
        json!({"sub": "long", "exp": now + DAY - 60}),
    ];
    for extra in accepted {
        let (status, _, detail) = limited_get(&gw, &raw_token(&hs256, &extra)).await;
        assert_eq!(status, 200, "{extra}: {detail}");
    }
}

/// `GATEWAY_JWT_MAX_LIFETIME_SECONDS` sets the longest lifetime: with 120 s, a token
/// valid for an hour is refused and one valid for a minute accepted.
#[tokio::test]
async fn the_longest_token_lifetime_is_configured() {
    let redis = TestRedis::start().await;
    let gw = spawn_gateway_full(&redis, NOWHERE, NOWHERE, NOWHERE, 120).await;
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let (status, _, detail) = limited_get(&gw, &raw_token(&hs256, &json!({}))).await;
    assert_eq!(status, 401, "{detail}");
    assert!(detail.contains("(120 s)"), "{detail}");
    let minute = json!({"exp": now() + 60});
    let (status, _, detail) = limited_get(&gw, &raw_token(&hs256, &minute)).await;
    assert_eq!(status, 200, "{detail}");
}

#[tokio::test]
async fn orders_and_their_summary_answer_only_the_orders_customer() {
    let redis = TestRedis::start().await;
    let orders = spawn_orders(NO_BROKER).await;
    let gw = spawn_gateway(&redis, &orders.url("")).await;
    let scopes = "orders:read orders:write";
    let alice = token("alice", scopes, 3600);
    let eve = token("eve", scopes, 3600);

    // The body names someone else: refused, whatever the token allows.
    let res = gw
        .http
        .post(gw.url("/orders"))
        .header("authorization", &eve)
        .json(&json!({"customer": "alice", "sku": "SKU-1", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = gw
        .http
        .post(gw.url("/orders"))
        .header("authorization", &alice)
        .json(&json!({"customer": "alice", "sku": "SKU-1", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let order: contracts::OrderView = res.json().await.unwrap();

    for path in [
        format!("/orders/{}", order.id),
        format!("/orders/{}/summary", order.id),
    ] {
        let read = |auth: &str| {
            gw.http
                .get(gw.url(&path))
                .header("authorization", auth)
                .send()
        };
        assert_eq!(read(&alice).await.unwrap().status(), 200, "{path}");
        let res = read(&eve).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(body.get("payment").is_none(), "{path}: {body}");
    }
    // Payments is down: the summary still answers the owner, with the part marked.
    let summary: Value = gw
        .http
        .get(gw.url(&format!("/orders/{}/summary", order.id)))
        .header("authorization", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["order"]["customer"], "alice");
    assert_eq!(summary["payment"]["status"], "unavailable");
    assert_eq!(summary["status"], "partial");
}

/// Each part of the summary stands on its own: with payments down the order and its
/// reservation still answer (200, `partial`), and with every part up it is `complete`.
#[tokio::test]
async fn the_summary_degrades_per_part_and_is_complete_when_every_part_answers() {
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let redis = TestRedis::start().await;
    let orders = spawn_orders(NO_BROKER).await;
    let alice = token("alice", "orders:read orders:write", 3600);
    let inventory = MockServer::start().await;
    let payments = MockServer::start().await;
    let reservation = json!({"status": "RESERVED", "sku": "SKU-1", "quantity": 1});
    Mock::given(method("GET"))
        .and(path_regex("^/inventory/reservations/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&reservation))
        .mount(&inventory)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/charges"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"status": "CHARGED"}])))
        .mount(&payments)
        .await;

    let summary = |gw: TestApp, id: uuid::Uuid| {
        let alice = alice.clone();
        async move {
            let res = gw
                .http
                .get(gw.url(&format!("/orders/{id}/summary")))
                .header("authorization", &alice)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };

    // Payments down.
    let gw = spawn_gateway_with(&redis, &orders.url(""), NOWHERE, &inventory.uri()).await;
    let res = gw
        .http
        .post(gw.url("/orders"))
        .header("authorization", &alice)
        .json(&json!({"customer": "alice", "sku": "SKU-1", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let order: contracts::OrderView = res.json().await.unwrap();
    let (status, body) = summary(gw, order.id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "partial", "{body}");
    assert_eq!(body["order"]["id"], order.id.to_string(), "{body}");
    assert_eq!(body["reservation"], reservation, "{body}");
    assert_eq!(body["payment"]["status"], "unavailable", "{body}");

    // Every part up.
    let gw = spawn_gateway_with(&redis, &orders.url(""), &payments.uri(), &inventory.uri()).await;
    let (status, body) = summary(gw, order.id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "complete", "{body}");
    assert_eq!(body["payment"]["status"], "CHARGED", "{body}");
    assert_eq!(body["reservation"], reservation, "{body}");
}

/// A mark sent to the gateway (W3C trace context and baggage) reaches orders, and from
/// orders every call its saga makes to inventory and payments, and the summary's calls:
/// the same trace, the same baggage. A request without one leads to calls without one.
#[tokio::test]
async fn a_requests_trace_context_and_baggage_reach_every_call_it_causes() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{TRACE}-00f067aa0ba902b7-01");
    let redis = TestRedis::start().await;
    let inventory = MockServer::start().await;
    let payments = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/inventory/reservations"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"status": "RESERVED"})))
        .mount(&inventory)
        .await;
    Mock::given(method("POST"))
        .and(path("/payments/charges"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"status": "CHARGED"})))
        .mount(&payments)
        .await;
    let orders = crate::helpers::spawn_orders_with(
        crate::helpers::temp_db("orders"),
        NO_BROKER,
        &payments.uri(),
        &inventory.uri(),
        Duration::from_secs(600),
    )
    .await;
    let gw = spawn_gateway_with(&redis, &orders.url(""), &payments.uri(), &inventory.uri()).await;
    let alice = token("alice", "orders:read orders:write", 3600);

    let place = |marked: bool| {
        let mut req = gw
            .http
            .post(gw.url("/orders"))
            .header("authorization", &alice)
            .json(&json!({"customer": "alice", "sku": "SKU-1", "quantity": 1}));
        if marked {
            req = req
                .header("traceparent", &traceparent)
                .header("baggage", "qalens.scenario=s-prop,tenant=t1");
        }
        req.send()
    };
    let res = place(true).await.unwrap();
    assert_eq!(res.status(), 201);
    let order: contracts::OrderView = res.json().await.unwrap();
    crate::helpers::eventually(Duration::from_secs(10), || async {
        let o: contracts::OrderView = orders
            .http
            .get(orders.url(&format!("/internal/orders/{}", order.id)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if o.status == contracts::OrderStatus::Confirmed {
            Ok(())
        } else {
            Err(format!("{o:?}"))
        }
    })
    .await;
    let summary = gw
        .http
        .get(gw.url(&format!("/orders/{}/summary", order.id)))
        .header("authorization", &alice)
        .header("traceparent", &traceparent)
        .header("baggage", "qalens.scenario=s-prop")
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);

    let mut calls = inventory.received_requests().await.unwrap();
    calls.extend(payments.received_requests().await.unwrap());
    let paths: Vec<String> = calls.iter().map(|r| r.url.path().to_string()).collect();
    for want in ["/inventory/reservations", "/payments/charges"] {
        assert!(
            paths.iter().any(|p| p == want),
            "{want} not called: {paths:?}"
        );
    }
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/inventory/reservations/")),
        "the summary reads the reservation: {paths:?}"
    );
    for call in &calls {
        let header = |name: &str| {
            call.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let tp = header("traceparent");
        assert!(
            tp.starts_with(&format!("00-{TRACE}-")),
            "{}: {tp:?}",
            call.url
        );
        let baggage = header("baggage");
        assert!(
            baggage.contains("qalens.scenario=s-prop"),
            "{}: {baggage:?}",
            call.url
        );
    }

    // Unmarked: nothing is made up on the way.
    let before = calls.len();
    let res = place(false).await.unwrap();
    assert_eq!(res.status(), 201);
    let unmarked: Vec<_> = crate::helpers::eventually(Duration::from_secs(10), || async {
        let mut all = inventory.received_requests().await.unwrap();
        all.extend(payments.received_requests().await.unwrap());
        if all.len() >= before + 2 {
            Ok(all)
        } else {
            Err(format!("{} calls", all.len()))
        }
    })
    .await;
    for call in unmarked.iter().filter(|c| {
        c.headers
            .get("traceparent")
            .is_none_or(|v| !v.to_str().unwrap().contains(TRACE))
    }) {
        assert!(call.headers.get("baggage").is_none(), "{}", call.url);
        assert!(call.headers.get("traceparent").is_none(), "{}", call.url);
    }
    assert_eq!(
        unmarked
            .iter()
            .filter(|c| c.headers.get("traceparent").is_none())
            .count(),
        2,
        "the unmarked order's reservation and charge"
    );
}
