//! A run's context without Docker, for unit tests of the clients, the nemesis and the
//! tokens: endpoints pointing at a local server (wiremock standing in for the gateway or a
//! fault proxy), a Docker handle that is never reached (bollard connects lazily, on the
//! first request, to an address where nothing listens), and a small system file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use contract_tools::jwt::Tier;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use testcontainers::bollard::{API_DEFAULT_VERSION, Docker};

use crate::clients::{Client, Credentials};
use crate::context::RunContext;
use crate::tokens::Issuer;
use crate::topology::Endpoints;
use qalens_model::system::System;

/// The HS256 secret of [`context`]'s identity.
pub(crate) const SECRET: &str = "unit-test-secret";

/// A Docker handle for an engine at an address where nothing listens: made without
/// connecting, and any call through it fails at once instead of reaching a real engine.
pub(crate) fn unreachable_docker() -> Docker {
    Docker::connect_with_http("http://127.0.0.1:1", 5, API_DEFAULT_VERSION)
        .expect("bollard makes an HTTP client without connecting")
}

/// A run's context whose front door (and gateway replica 1) is `gateway`, with an HS256
/// identity signing with [`SECRET`], the containers `api` and `ledger`, and no links.
pub(crate) fn context(gateway: &str) -> RunContext {
    let system = System::parse(
        Path::new("shop.yml"),
        Path::new("."),
        "services:\n  api:\n    image: shop/api:1\n    expose: [8080]\n\
         \x20 ledger:\n    image: shop/ledger:1\n    expose: [8080]\n\
         x-qalens:\n  entry: api:8080\n",
        &|_| None,
    )
    .expect("a valid system file");
    RunContext {
        endpoints: Endpoints {
            run_id: "qalens-unit".into(),
            containers: BTreeMap::new(),
            gateway: gateway.to_string(),
            gateways: vec![gateway.to_string()],
            amqp: String::new(),
            rabbitmq_management: String::new(),
            inspection: BTreeMap::new(),
            identity: Issuer::hs256(SECRET),
            routes: vec![],
            queues: BTreeMap::new(),
            controls: BTreeMap::new(),
            links: BTreeMap::new(),
            answering: BTreeMap::new(),
        },
        http: reqwest::Client::new(),
        docker: unreachable_docker(),
        containers: BTreeMap::from([
            ("api".to_string(), "0123api".to_string()),
            ("ledger".to_string(), "0123ledger".to_string()),
        ]),
        system: Arc::new(system),
        contracts: None,
        switched_defects: vec![],
    }
}

/// A paid client `alice-s1` with `scope` presenting a valid token.
pub(crate) fn client(scope: &str) -> Client {
    Client {
        id: "alice-s1".into(),
        tier: Tier::Paid,
        scope: scope.into(),
        credentials: Credentials::Valid,
    }
}

/// The claims of the bearer token in an `Authorization` header value, verified with
/// [`SECRET`] (signature and expiry): what the system under test would accept.
pub(crate) fn verified_claims(authorization: &str) -> Result<serde_json::Value, String> {
    let token = authorization
        .strip_prefix("Bearer ")
        .ok_or_else(|| format!("{authorization:?} is not a bearer token"))?;
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &Validation::new(Algorithm::HS256),
    )
    .map(|d| d.claims)
    .map_err(|e| e.to_string())
}

/// The `Authorization` header of a request a mock server received, if any.
pub(crate) fn authorization(request: &wiremock::Request) -> Option<String> {
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
