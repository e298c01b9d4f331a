//! The HTTP client: where a request goes (the front door or one gateway replica), a
//! request described before it is sent, and the Authorization header the scenario's
//! client presents, from the system file's identity ([`crate::tokens::Issuer`]). Every
//! request carries its scenario's mark ([`Mark`]).

use serde::Serialize;

use crate::clients::{Client, ClientError, Credentials, Exchange, Mark, SentLog};
use crate::context::RunContext;

/// The Authorization header value `client` presents, if any: for a valid token, what
/// the system file's identity gives this client (a JWT, the same one for its lifetime;
/// the static token; or the token its command printed when the identity step fetched
/// it: this never runs the command). See [`crate::tokens::Issuer::presented`].
pub fn authorization_of(ctx: &RunContext, client: &Client) -> Result<Option<String>, ClientError> {
    Ok(match &client.credentials {
        Credentials::None => None,
        Credentials::Raw(v) => Some(v.clone()),
        Credentials::Valid => ctx.endpoints.identity.presented(&client.who())?,
    })
}

/// Where a request goes.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The front door (nginx before every replica).
    FrontDoor,
    /// Gateway replica `n` directly (1-based).
    Replica(usize),
}

/// The base URL of `target`.
pub(crate) fn base_url(ctx: &RunContext, target: Target) -> Result<String, ClientError> {
    match target {
        Target::FrontDoor if ctx.endpoints.gateway.is_empty() => Err(ClientError::NoEntry {
            file: ctx.system.file.display().to_string(),
        }),
        Target::FrontDoor => Ok(ctx.endpoints.gateway.clone()),
        Target::Replica(n) => ctx
            .endpoints
            .gateways
            .get(n.wrapping_sub(1))
            .cloned()
            .ok_or(ClientError::NoReplica {
                n,
                replicas: ctx.endpoints.gateways.len(),
            }),
    }
}

/// One request, described before it is sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Where [`Call::send`] records the exchange: the scenario's log of what it sent
    /// through the entry point.
    pub record: Option<crate::clients::SentLog>,
    /// The scenario's mark, put on the request when it is sent (a new span each time).
    pub mark: Mark,
    /// The run's pooled client.
    http: reqwest::Client,
}

impl Call {
    /// A call as `client` (its credentials included), whoever the scenario's client is;
    /// recorded in `sent` (the scenario's log) when it goes to the entry point, and
    /// carrying the scenario's `mark`.
    pub fn as_client(
        ctx: &RunContext,
        sent: &SentLog,
        mark: &Mark,
        client: &Client,
        method: &str,
        target: Target,
        path: &str,
    ) -> Result<Self, ClientError> {
        Self::with_authorization(
            ctx,
            authorization_of(ctx, client)?,
            sent,
            mark,
            method,
            target,
            path,
        )
    }

    /// A call presenting `authorization` (none without it).
    pub fn with_authorization(
        ctx: &RunContext,
        authorization: Option<String>,
        sent: &SentLog,
        mark: &Mark,
        method: &str,
        target: Target,
        path: &str,
    ) -> Result<Self, ClientError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
            ClientError::NotAMethod {
                method: method.to_string(),
            }
        })?;
        let mut headers = vec![];
        if let Some(auth) = authorization {
            headers.push(("authorization".to_string(), auth));
        }
        Ok(Self {
            method,
            url: format!("{}{path}", base_url(ctx, target)?),
            headers,
            body: None,
            record: matches!(target, Target::FrontDoor).then(|| sent.clone()),
            mark: mark.clone(),
            http: ctx.http.clone(),
        })
    }

    pub fn json<B: Serialize>(mut self, body: &B) -> Result<Self, ClientError> {
        self.body = Some(serde_json::to_string(body).map_err(ClientError::Body)?);
        self.headers
            .push(("content-type".into(), "application/json".into()));
        Ok(self)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sends it as [`Call::send`] does, but keeps a request that got no response as an
    /// exchange with status 0 ([`Exchange::no_response`]) instead of failing: a batch of
    /// requests goes on past a dropped connection, and its checks count it.
    pub async fn send_kept(&self) -> Result<Exchange, ClientError> {
        let sent_at = std::time::Instant::now();
        match self.send().await {
            Err(ClientError::NoResponse { method, url, cause }) => Ok(Exchange::no_response(
                &method,
                &url,
                self.body.clone(),
                &cause,
                sent_at,
            )),
            other => other,
        }
    }

    /// Sends it and returns the exchange (no response is an error naming the call).
    /// The scenario's mark goes first, so a header the step sets itself (a `baggage` of
    /// its own) is sent too.
    pub async fn send(&self) -> Result<Exchange, ClientError> {
        let mut marked = reqwest::header::HeaderMap::new();
        self.mark.inject(&mut marked);
        let mut req = self
            .http
            .request(self.method.clone(), &self.url)
            .headers(marked);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &self.body {
            req = req.body(b.clone());
        }
        let started = std::time::Instant::now();
        let res = req.send().await.map_err(|cause| ClientError::NoResponse {
            method: self.method.to_string(),
            url: self.url.clone(),
            cause,
        })?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string()))
            .collect();
        let body = res.text().await.map_err(|cause| ClientError::ReadingBody {
            method: self.method.to_string(),
            url: self.url.clone(),
            cause,
        })?;
        let exchange = Exchange {
            method: self.method.to_string(),
            url: self.url.clone(),
            request_body: self.body.clone(),
            status,
            headers,
            body,
            elapsed: started.elapsed(),
            sent_at: started,
        };
        if let Some(log) = &self.record {
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(exchange.clone());
        }
        Ok(exchange)
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::testing::{authorization, client, context, verified_claims};

    #[tokio::test]
    async fn a_call_presents_the_clients_token_from_the_issuer_and_is_recorded_at_the_front_door() {
        let gateway = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/items"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
            .mount(&gateway)
            .await;
        let ctx = context(&gateway.uri());
        let sent = SentLog::default();
        let mark = Mark::new("s1");
        let alice = client("items:read");

        let ex = Call::as_client(
            &ctx,
            &sent,
            &mark,
            &alice,
            "GET",
            Target::FrontDoor,
            "/items",
        )
        .unwrap()
        .send()
        .await
        .unwrap();
        assert_eq!((ex.status, ex.body.as_str()), (200, "[]"));
        assert_eq!(ex.url, format!("{}/items", gateway.uri()));
        // A replica is not the entry point: the scenario's log does not record it.
        Call::as_client(
            &ctx,
            &sent,
            &mark,
            &alice,
            "GET",
            Target::Replica(1),
            "/items",
        )
        .unwrap()
        .send()
        .await
        .unwrap();
        let log = sent.lock().unwrap().clone();
        assert_eq!(log.len(), 1, "only the front door's exchange is recorded");
        assert_eq!(log[0].url, ex.url);

        // What the gateway received is a token the system's secret verifies, for alice.
        let received = gateway.received_requests().await.unwrap();
        assert_eq!(received.len(), 2);
        let mut spans = std::collections::BTreeSet::new();
        for request in &received {
            // Both carry the scenario's mark: its trace, a span of their own, its baggage.
            let traceparent = request.headers["traceparent"].to_str().unwrap();
            assert!(
                traceparent.starts_with(&format!("00-{}-", mark.trace_id())),
                "{traceparent}"
            );
            spans.insert(traceparent.to_string());
            assert_eq!(
                request.headers["baggage"].to_str().unwrap(),
                "qalens.scenario=s1"
            );
            let header = authorization(request).expect("an Authorization header");
            let claims = verified_claims(&header).unwrap();
            assert_eq!(claims["sub"], "alice-s1");
            assert_eq!(claims["tier"], "paid");
            assert_eq!(claims["scope"], "items:read");
        }
        assert_eq!(spans.len(), 2, "a new span per request: {spans:?}");
    }

    /// A front door that pins clients by their Authorization header (nginx's `hash
    /// $http_authorization`) must see one token per client, whatever the second.
    #[tokio::test]
    async fn a_client_presents_the_same_token_request_after_request() {
        let gateway = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&gateway)
            .await;
        let ctx = context(&gateway.uri());
        let sent = SentLog::default();
        let alice = client("items:read");
        for _ in 0..2 {
            Call::as_client(
                &ctx,
                &sent,
                &Mark::new("s1"),
                &alice,
                "GET",
                Target::FrontDoor,
                "/items",
            )
            .unwrap()
            .send()
            .await
            .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let received = gateway.received_requests().await.unwrap();
        let presented: Vec<Option<String>> = received.iter().map(authorization).collect();
        assert_eq!(presented.len(), 2);
        assert_eq!(
            presented[0], presented[1],
            "the token changed between requests"
        );
    }

    #[tokio::test]
    async fn a_client_without_a_token_sends_none_and_a_raw_one_sends_it_as_given() {
        let gateway = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&gateway)
            .await;
        let ctx = context(&gateway.uri());
        let sent = SentLog::default();
        let mark = Mark::new("s1");
        let mut anonymous = client("items:read");
        anonymous.credentials = Credentials::None;
        let mut forger = client("items:read");
        forger.credentials = Credentials::Raw("Bearer not.a-jwt".into());
        for who in [&anonymous, &forger] {
            let ex = Call::as_client(
                &ctx,
                &sent,
                &mark,
                who,
                "POST",
                Target::FrontDoor,
                "/baskets",
            )
            .unwrap()
            .json(&serde_json::json!({"sku": "A-1"}))
            .unwrap()
            .send()
            .await
            .unwrap();
            assert_eq!(ex.status, 401);
            assert_eq!(ex.request_body.as_deref(), Some(r#"{"sku":"A-1"}"#));
        }
        let received = gateway.received_requests().await.unwrap();
        assert_eq!(authorization(&received[0]), None);
        assert_eq!(
            authorization(&received[1]).as_deref(),
            Some("Bearer not.a-jwt")
        );
        assert_eq!(
            received[1].headers["content-type"].to_str().unwrap(),
            "application/json"
        );
        assert_eq!(
            received[1].body_json::<serde_json::Value>().unwrap(),
            serde_json::json!({"sku": "A-1"})
        );
    }

    #[tokio::test]
    async fn a_call_that_cannot_be_made_or_gets_no_answer_says_which() {
        let ctx = context("http://127.0.0.1:1");
        let sent = SentLog::default();
        let mark = Mark::new("s1");
        let alice = client("items:read");
        let e = Call::as_client(
            &ctx,
            &sent,
            &mark,
            &alice,
            "GET",
            Target::Replica(3),
            "/items",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "there is no gateway replica 3: the topology has 1"
        );
        let e = Call::as_client(
            &ctx,
            &sent,
            &mark,
            &alice,
            "GE T",
            Target::FrontDoor,
            "/items",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "\"GE T\" is not an HTTP method");
        // A system file without x-qalens.entry: no request through it, and no builder
        // error either, but the key to add.
        let mut no_entry = context("http://127.0.0.1:1");
        no_entry.endpoints.gateway = String::new();
        let e = Call::as_client(
            &no_entry,
            &sent,
            &mark,
            &alice,
            "GET",
            Target::FrontDoor,
            "/items",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "shop.yml has no x-qalens.entry: there is no entry point to send requests \
             through; add `entry: SERVICE:PORT` (the door clients use) to its x-qalens section"
        );
        // Nothing listens on port 1: no response, and the message names the call.
        let e = Call::as_client(
            &ctx,
            &sent,
            &mark,
            &alice,
            "GET",
            Target::FrontDoor,
            "/items",
        )
        .unwrap()
        .send()
        .await
        .unwrap_err();
        assert!(matches!(e, ClientError::NoResponse { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("GET http://127.0.0.1:1/items got no response: "),
            "{e}"
        );
        assert!(
            sent.lock().unwrap().is_empty(),
            "no exchange, nothing recorded"
        );
        // Kept in a batch: status 0, the cause as its body, still not recorded.
        let kept = Call::as_client(
            &ctx,
            &sent,
            &Mark::new("s1"),
            &alice,
            "GET",
            Target::FrontDoor,
            "/items",
        )
        .unwrap()
        .send_kept()
        .await
        .unwrap();
        assert!(!kept.answered());
        assert_eq!(
            (kept.status, kept.url.as_str()),
            (0, "http://127.0.0.1:1/items")
        );
        assert!(kept.body.contains("error sending request"), "{}", kept.body);
        let shown = kept.to_string();
        assert!(
            shown.starts_with("GET http://127.0.0.1:1/items\n  -> no response after "),
            "{shown}"
        );
        assert!(sent.lock().unwrap().is_empty(), "nothing recorded");
        // A call that cannot be made is still an error.
        let bad = Call::as_client(
            &ctx,
            &sent,
            &Mark::new("s1"),
            &alice,
            "GET",
            Target::Replica(3),
            "/items",
        );
        assert!(bad.is_err());
    }
}
