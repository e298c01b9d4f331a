//! Contract checking shared by the contract test targets: a wiremock matcher that checks
//! every request a consumer sends against the bundled contracts, stand-ins for payments
//! and inventory that answer with the contracts' own examples, and the provider-side
//! check that a response is documented and conforms.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contract_tools::schema::{Contract, Registry};
use contracts::{OrderStatus, OrderView};
use serde_json::{Value, json};
use wiremock::http::HeaderMap;
use wiremock::matchers::{method, path_regex};
use wiremock::{Match, Mock, MockGuard, MockServer, Request, ResponseTemplate};

use crate::helpers::{NO_BROKER, TestApp, eventually, spawn_orders_with, temp_db};

pub fn registry() -> &'static Registry {
    contracts::bundled::registry()
}

/// A concrete path for `template`: each `{param}` becomes a uuid.
pub fn sample_path(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "00000000-0000-4000-8000-000000000000"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether any contract documents `method path` (as a request or by its responses).
pub fn documented_endpoint(method: &str, path: &str) -> bool {
    registry()
        .contracts()
        .iter()
        .any(|c| c.endpoints.iter().any(|e| e.matches(method, path)))
}

/// The violations of one request against the contracts; empty when it conforms.
///
/// With a request contract for `method path`: its required headers are present, the
/// body is JSON sent as `application/json`, and it validates. Without one: the endpoint
/// is documented (by a response contract) and the request has no body.
pub fn request_violations(
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Vec<String> {
    let at = format!("{method} {path}");
    let mut out = Vec::new();
    let Some(contract) = registry().request_for(method, path) else {
        if !documented_endpoint(method, path) {
            out.push(format!("{at}: no contract documents this endpoint"));
        } else if !body.is_empty() {
            out.push(format!(
                "{at}: no request contract, yet a body was sent: {}",
                String::from_utf8_lossy(body)
            ));
        }
        return out;
    };
    let id = contract.id();
    for h in &contract.required_headers {
        if headers.get(h.as_str()).is_none() {
            out.push(format!("{at} ({id}): required header {h} is missing"));
        }
    }
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        out.push(format!("{at} ({id}): content-type is not application/json"));
    }
    match serde_json::from_slice::<Value>(body) {
        Err(e) => out.push(format!("{at} ({id}): body is not JSON: {e}")),
        Ok(v) => {
            if let Err(violations) = contract.validate(&v) {
                out.extend(
                    violations
                        .to_string()
                        .lines()
                        .map(|line| format!("{at} ({id}): {line}")),
                );
            }
        }
    }
    out
}

/// A wiremock matcher that checks each request against its contract and records every
/// violation; a request that does not conform does not match (a real provider would
/// refuse it too), so it cannot get a happy answer.
#[derive(Clone, Default)]
pub struct ContractCheck {
    violations: Arc<Mutex<Vec<String>>>,
}

impl ContractCheck {
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Match for ContractCheck {
    fn matches(&self, request: &Request) -> bool {
        let found = request_violations(
            request.method.as_str(),
            request.url.path(),
            &request.headers,
            &request.body,
        );
        let ok = found.is_empty();
        let mut recorded = self.violations.lock().unwrap_or_else(|e| e.into_inner());
        for v in found {
            if !recorded.contains(&v) {
                recorded.push(v);
            }
        }
        ok
    }
}

/// The response contract's example for `method template` answering `status`: the first
/// example, or for a Problem the example whose `status` is `status`. Panics when the
/// contracts do not document `status` there.
pub fn example_answer(method: &str, template: &str, status: u16) -> (&'static Contract, Value) {
    let contract = registry()
        .response_for(method, &sample_path(template), status)
        .unwrap_or_else(|| {
            panic!("no response contract documents {status} for {method} {template}")
        });
    let example = if contract.name == "Problem" {
        contract
            .examples
            .iter()
            .find(|e| e["status"] == json!(status))
            .unwrap_or_else(|| panic!("{} has no example with status {status}", contract.id()))
    } else {
        contract
            .examples
            .first()
            .unwrap_or_else(|| panic!("{} has no example", contract.id()))
    };
    (contract, example.clone())
}

/// Which stand-in a mock is mounted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Payments,
    Inventory,
}

struct Mounted {
    peer: Peer,
    method: &'static str,
    template: &'static str,
    guard: MockGuard,
}

/// Wiremock stand-ins for payments and inventory that check every request orders sends.
pub struct StandIns {
    pub payments: MockServer,
    pub inventory: MockServer,
    check: ContractCheck,
    mounted: Vec<Mounted>,
}

impl StandIns {
    pub async fn start() -> Self {
        Self {
            payments: MockServer::start().await,
            inventory: MockServer::start().await,
            check: ContractCheck::default(),
            mounted: Vec::new(),
        }
    }

    fn server(&self, peer: Peer) -> &MockServer {
        match peer {
            Peer::Payments => &self.payments,
            Peer::Inventory => &self.inventory,
        }
    }

    /// Answers conforming `method template` requests on `peer` with the contract's
    /// example for `status`.
    pub async fn answer(
        &mut self,
        peer: Peer,
        method_name: &'static str,
        template: &'static str,
        status: u16,
    ) {
        let (contract, example) = example_answer(method_name, template, status);
        let content_type = if contract.name == "Problem" {
            "application/problem+json"
        } else {
            "application/json"
        };
        let body = serde_json::to_vec(&example).expect("an example serialises");
        let regex = format!(
            "^{}$",
            template
                .split('/')
                .map(|s| if s.starts_with('{') { "[^/]+" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        );
        let mock = Mock::given(method(method_name))
            .and(path_regex(regex))
            .and(self.check.clone())
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, content_type))
            .named(format!(
                "{method_name} {template} -> {status} ({})",
                contract.id()
            ));
        let guard = self.server(peer).register_as_scoped(mock).await;
        self.mounted.push(Mounted {
            peer,
            method: method_name,
            template,
            guard,
        });
    }

    /// The requests that matched the mock of `method template`.
    pub async fn matched(&self, method_name: &str, template: &str) -> Vec<Request> {
        let mut out = Vec::new();
        for m in &self.mounted {
            if m.method == method_name && m.template == template {
                out.extend(m.guard.received_requests().await);
            }
        }
        out
    }

    /// Every request `peer` received.
    pub async fn received(&self, peer: Peer) -> Vec<Request> {
        self.server(peer)
            .received_requests()
            .await
            .expect("request recording is on")
    }

    /// `Err` with one line per problem when a request violated its contract or matched
    /// no mock (an endpoint the scenario did not expect, or a request off contract).
    pub async fn conformance(&self) -> Result<(), String> {
        let mut problems = self.check.violations();
        for peer in [Peer::Payments, Peer::Inventory] {
            let received = self.received(peer).await;
            let mut matched = 0;
            for m in self.mounted.iter().filter(|m| m.peer == peer) {
                matched += m.guard.received_requests().await.len();
            }
            if matched != received.len() {
                problems.push(format!(
                    "{peer:?} received {} requests, only {matched} matched a contract-checked mock: {}",
                    received.len(),
                    received
                        .iter()
                        .map(|r| format!("{} {}", r.method, r.url.path()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            // Unmatched requests were checked by no matcher when their endpoint had no
            // mock: check them here so their violations are named too.
            for r in &received {
                for v in request_violations(r.method.as_str(), r.url.path(), &r.headers, &r.body) {
                    if !problems.contains(&v) {
                        problems.push(v);
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Fails the test with every problem [`Self::conformance`] found.
    pub async fn assert_conformance(&self) {
        if let Err(problems) = self.conformance().await {
            panic!("orders' requests broke the contracts:\n{problems}");
        }
    }

    /// Orders (real, port 0, fresh database, no broker) with these stand-ins as its peers.
    pub async fn spawn_orders(&self) -> TestApp {
        spawn_orders_with(
            temp_db("orders"),
            NO_BROKER,
            &self.payments.uri(),
            &self.inventory.uri(),
            Duration::from_secs(600),
        )
        .await
    }
}

/// Places an order on `orders` and waits until its saga ends.
pub async fn order_settles(
    orders: &TestApp,
    customer: &str,
    sku: &str,
    quantity: u32,
) -> OrderView {
    let res = orders
        .http
        .post(orders.url("/orders"))
        .header("x-client-id", customer)
        .json(&json!({"customer": customer, "sku": sku, "quantity": quantity}))
        .send()
        .await
        .expect("orders answers");
    assert_eq!(res.status(), 201, "POST /orders");
    let placed: OrderView = res.json().await.expect("an order");
    eventually(Duration::from_secs(10), || async {
        let o: OrderView = orders
            .http
            .get(orders.url(&format!("/internal/orders/{}", placed.id)))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if o.status == OrderStatus::Pending {
            Err(format!("{o:?}"))
        } else {
            Ok(o)
        }
    })
    .await
}

/// The response contract that documents `status` for `method path`, after checking the
/// answer against it: its content type (`application/problem+json` for a Problem,
/// `application/json` otherwise) and its body. `Err` names what is wrong; a status no
/// contract documents for the endpoint is an error too.
pub fn response_conforms(
    method: &str,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<&'static Contract, String> {
    let at = format!("{method} {path} -> {status}");
    let shown = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    let contract = registry()
        .response_for(method, path, status)
        .ok_or_else(|| {
            format!("{at}: undocumented status (no response contract); body: {shown}")
        })?;
    let id = contract.id();
    let want = if contract.name == "Problem" {
        "application/problem+json"
    } else {
        "application/json"
    };
    if !content_type.is_some_and(|c| c.starts_with(want)) {
        return Err(format!(
            "{at} ({id}): content-type {content_type:?}, expected {want}"
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("{at} ({id}): body is not JSON ({e}): {shown}"))?;
    contract
        .validate(&value)
        .map_err(|v| format!("{at} ({id}): body {shown} violates the contract:\n{v}"))?;
    Ok(contract)
}
