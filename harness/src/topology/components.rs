//! One entry per component: its image, command, environment, ports and ready condition.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use testcontainers::core::{AccessMode, IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::images::{ImageRef, Images};

/// Where the host-built `refsys` binary is mounted in the runtime image.
const REFSYS_IN_CONTAINER: &str = "/usr/local/bin/refsys";
/// The line `refsys` prints once a service is ready (`refsys::READY_LINE`).
const REFSYS_READY: &str = "refsys ready";
/// How long one component may take to become ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
/// The port every reference service and the front door listen on inside the network.
pub const SERVICE_PORT: u16 = 8080;
/// The reference services' control port (switching defects at run time).
pub const CONTROL_PORT: u16 = 9090;

/// The reference services' timeouts on test time. The services' own defaults are for
/// production (a saga call may take 2 s, a saga 8 s, an open breaker waits 5 s); scenarios
/// prove the same behaviour when every timeout is a fraction of that, and a suite that
/// waits on production timeouts spends most of its time waiting. Each stays well above
/// what a healthy call takes on a loaded 2-core machine, so no healthy call times out.
const ORDERS_TEST_TIME: [(&str, &str); 4] = [
    // One call to payments or inventory; the slow-payments scenario adds more latency.
    ("SAGA_CALL_TIMEOUT_MS", "1000"),
    // How long a saga retries transient failures before it compensates.
    ("SAGA_DEADLINE_MS", "2000"),
    // How often unfinished sagas (after a crash) are resumed.
    ("SAGA_RECOVERY_MS", "250"),
    // Outbox scan interval when nothing wakes the relay.
    ("OUTBOX_POLL_MS", "100"),
];
/// How long an open breaker fails fast before it lets a probe through.
const GATEWAY_BREAKER_OPEN_MS: &str = "1000";
/// The longest upstream timeout of a route on test time (the built-in table allows 3 s);
/// the circuit-breaker scenarios check that fail-fast answers come in under 1 s, which
/// stays well clear of it.
const ROUTE_TIMEOUT_MAX_MS: u64 = 1500;
/// Where the gateways read the test route table.
const ROUTES_IN_CONTAINER: &str = "/etc/qalens/routes.json";

/// The reference route table (`reference-system/routes.json`) with every route's
/// upstream timeout capped at [`ROUTE_TIMEOUT_MAX_MS`].
fn test_routes() -> anyhow::Result<Vec<u8>> {
    let mut table: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reference-system/routes.json"
    )))
    .context("reading the reference route table")?;
    let routes = table["routes"]
        .as_array_mut()
        .context("the route table has no routes")?;
    for route in routes {
        if let Some(t) = route["timeout_ms"].as_u64() {
            route["timeout_ms"] = t.min(ROUTE_TIMEOUT_MAX_MS).into();
        }
    }
    Ok(serde_json::to_vec_pretty(&table)?)
}

/// A component of the topology. Gateway replicas are numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Rabbitmq,
    Redis,
    Orders,
    Payments,
    Inventory,
    Email,
    Analytics,
    Gateway(u8),
    /// nginx in front of the gateway replicas.
    Frontdoor,
    /// A fault proxy on the link [`KNOWN_LINKS`]`[i]`.
    Link(u8),
}

/// Every link a fault proxy can sit on, as (caller, callee, the callee's port): each
/// kind of connection one
/// component opens to another (`gateway` stands for every replica). The caller of a
/// proxied link reaches the callee only
/// through the proxy (`link-<caller>-<callee>`), so a network fault on the link touches
/// that traffic and nothing else. The proxy works on TCP, so HTTP, AMQP and Redis links
/// are all alike to it.
pub const KNOWN_LINKS: [(&str, Component, u16); 9] = [
    ("orders", Component::Payments, SERVICE_PORT),
    ("orders", Component::Inventory, SERVICE_PORT),
    ("gateway", Component::Inventory, SERVICE_PORT),
    ("gateway", Component::Redis, 6379),
    ("gateway", Component::Orders, SERVICE_PORT),
    ("gateway", Component::Payments, SERVICE_PORT),
    ("orders", Component::Rabbitmq, 5672),
    ("email", Component::Rabbitmq, 5672),
    ("analytics", Component::Rabbitmq, 5672),
];

/// The links proxied when `QALENS_LINKS` is unset: the ones the shipped features use.
pub const DEFAULT_LINKS: &str =
    "orders-payments,orders-inventory,gateway-inventory,gateway-redis,orders-rabbitmq";

/// The name of a link (`orders-payments`), as in `QALENS_LINKS` and container names.
pub fn link_name(i: u8) -> String {
    let (from, to, _) = KNOWN_LINKS[usize::from(i)];
    format!("{from}-{to}")
}

/// Parses `QALENS_LINKS`: comma-separated link names, `all`, or `none`.
pub fn parse_links(spec: &str) -> Result<Vec<u8>, String> {
    let spec = spec.trim();
    if spec == "all" {
        return Ok((0..KNOWN_LINKS.len() as u8).collect());
    }
    let mut links = vec![];
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "none" {
            continue;
        }
        let i = (0..KNOWN_LINKS.len() as u8)
            .find(|i| link_name(*i) == name)
            .ok_or_else(|| {
                let known: Vec<String> = (0..KNOWN_LINKS.len() as u8).map(link_name).collect();
                format!(
                    "unknown link {name:?}; known links: {} (or all, none)",
                    known.join(", ")
                )
            })?;
        if !links.contains(&i) {
            links.push(i);
        }
    }
    links.sort_unstable();
    Ok(links)
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Component {
    /// The name used in container names, feature files and reports (`gateway-2`).
    pub fn name(self) -> String {
        match self {
            Component::Rabbitmq => "rabbitmq".into(),
            Component::Redis => "redis".into(),
            Component::Orders => "orders".into(),
            Component::Payments => "payments".into(),
            Component::Inventory => "inventory".into(),
            Component::Email => "email".into(),
            Component::Analytics => "analytics".into(),
            Component::Gateway(n) => format!("gateway-{n}"),
            Component::Frontdoor => "frontdoor".into(),
            Component::Link(i) => format!("link-{}", link_name(i)),
        }
    }

    /// Every component of a topology with `gateways` replicas and fault proxies on
    /// `links` (indices into [`KNOWN_LINKS`]), in start order.
    pub fn all(gateways: u8, links: &[u8]) -> Vec<Component> {
        let mut v = vec![
            Component::Rabbitmq,
            Component::Redis,
            Component::Orders,
            Component::Payments,
            Component::Inventory,
            Component::Email,
            Component::Analytics,
        ];
        v.extend((1..=gateways).map(Component::Gateway));
        v.extend(links.iter().copied().map(Component::Link));
        v.push(Component::Frontdoor);
        v
    }

    /// Parses a component name as written in feature files (`orders`, `gateway-2`).
    pub fn parse(s: &str, gateways: u8, links: &[u8]) -> Option<Self> {
        Self::all(gateways, links)
            .into_iter()
            .find(|c| c.name() == s)
    }

    /// Whether it runs the `refsys` binary (and so has the reference services' HTTP API).
    pub fn is_refsys(self) -> bool {
        !matches!(
            self,
            Component::Rabbitmq | Component::Redis | Component::Frontdoor
        )
    }

    /// Start order: chains that start concurrently, each a list of waves that start one
    /// after the other (a wave's components concurrently, once the previous wave is
    /// ready). The services retry their broker and Redis connections, so they start with
    /// them; the front door resolves the gateways' names when it starts, so it follows
    /// the gateways, and only them: it does not wait for the broker.
    pub fn start_plan(gateways: u8, links: &[u8]) -> Vec<Vec<Vec<Component>>> {
        let (edge, rest): (Vec<Component>, Vec<Component>) = Self::all(gateways, links)
            .into_iter()
            .filter(|c| *c != Component::Frontdoor)
            .partition(|c| matches!(c, Component::Gateway(_)));
        vec![vec![rest], vec![edge, vec![Component::Frontdoor]]]
    }
}

/// Environment shared by the refsys services of one topology.
pub struct Shared<'a> {
    pub run_id: &'a str,
    pub network: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub images: &'a Images,
    pub refsys_bin: &'a Path,
    pub gateways: u8,
    /// The proxied links (indices into [`KNOWN_LINKS`]).
    pub links: &'a [u8],
    pub jwt_secret: &'a str,
    /// Extra environment per component name (test tuning).
    pub extra_env: &'a BTreeMap<String, Vec<(String, String)>>,
    /// Defects switched on in every reference service.
    pub defects: &'a [String],
}

impl Shared<'_> {
    /// The container name, which is also its host name on the network.
    pub fn host(&self, c: Component) -> String {
        format!("{}-{}", self.run_id, c.name())
    }

    /// The `host:port` at which `caller` reaches `callee` (listening on `port`): the
    /// link's proxy when the link is proxied, else the callee itself.
    fn addr_from(&self, caller: &str, callee: Component, port: u16) -> String {
        let proxied = self.links.iter().copied().find(|i| {
            let (f, t, _) = KNOWN_LINKS[usize::from(*i)];
            f == caller && t == callee
        });
        match proxied {
            Some(i) => format!("{}:{SERVICE_PORT}", self.host(Component::Link(i))),
            None => format!("{}:{port}", self.host(callee)),
        }
    }

    /// How `caller` reaches the HTTP service `callee`.
    fn url_from(&self, caller: &str, callee: Component) -> String {
        format!("http://{}", self.addr_from(caller, callee, SERVICE_PORT))
    }

    /// How `caller` reaches the broker.
    fn amqp_from(&self, caller: &str) -> String {
        format!(
            "amqp://guest:guest@{}/%2f",
            self.addr_from(caller, Component::Rabbitmq, 5672)
        )
    }

    fn image(image: &ImageRef, ready: WaitFor, ports: &[u16]) -> GenericImage {
        let mut img = GenericImage::new(image.name.clone(), image.tag.clone()).with_wait_for(ready);
        for p in ports {
            img = img.with_exposed_port(p.tcp());
        }
        img
    }

    fn refsys(
        &self,
        c: Component,
        subcommand: &str,
        env: Vec<(&str, String)>,
    ) -> testcontainers::ContainerRequest<GenericImage> {
        let mut req = Self::image(
            &self.images.runtime,
            WaitFor::message_on_stdout(REFSYS_READY),
            &[SERVICE_PORT, CONTROL_PORT],
        )
        .with_cmd([REFSYS_IN_CONTAINER.to_string(), subcommand.to_string()])
        .with_mount(
            Mount::bind_mount(self.refsys_bin.display().to_string(), REFSYS_IN_CONTAINER)
                .with_access_mode(AccessMode::ReadOnly),
        )
        .with_env_var("RUST_LOG", "info")
        .with_env_var("REFSYS_DEFECTS", self.defects.join(","));
        // Every reference service can have its clock skewed by a step.
        req = super::faketime::preload(req);
        for (k, v) in env {
            req = req.with_env_var(k, v);
        }
        if let Some(extra) = self.extra_env.get(&c.name()) {
            for (k, v) in extra {
                req = req.with_env_var(k.clone(), v.clone());
            }
        }
        req
    }

    fn nginx_conf(&self) -> String {
        let servers: String = (1..=self.gateways)
            .map(|n| {
                format!(
                    "    server {}:{SERVICE_PORT} max_fails=1 fail_timeout=10s;\n",
                    self.host(Component::Gateway(n))
                )
            })
            .collect();
        format!(
            "worker_processes 1;\n\
             daemon off;\n\
             pid /tmp/nginx.pid;\n\
             error_log /dev/stderr notice;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
               access_log off;\n\
               upstream gateways {{\n{servers}    keepalive 32;\n  }}\n\
               server {{\n\
                 listen {SERVICE_PORT};\n\
                 location = /frontdoor/health {{ return 200 \"ok\\n\"; }}\n\
                 location / {{\n\
                   proxy_pass http://gateways;\n\
                   proxy_http_version 1.1;\n\
                   proxy_set_header Connection \"\";\n\
                   proxy_set_header Host $host;\n\
                   proxy_connect_timeout 1s;\n\
                   proxy_read_timeout 30s;\n\
                   proxy_next_upstream error timeout;\n\
                   proxy_next_upstream_tries 3;\n\
                 }}\n\
               }}\n\
             }}\n"
        )
    }

    pub async fn start(&self, c: Component) -> anyhow::Result<ContainerAsync<GenericImage>> {
        let request = match c {
            Component::Rabbitmq => Self::image(
                &self.images.rabbitmq,
                WaitFor::message_on_stdout("Server startup complete"),
                &[5672, 15672],
            )
            .with_cmd(["rabbitmq-server"]),
            Component::Redis => Self::image(
                &self.images.redis,
                WaitFor::message_on_stdout("Ready to accept connections"),
                &[6379],
            )
            .with_cmd([
                "redis-server",
                "--protected-mode",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ]),
            Component::Orders => self.refsys(
                c,
                "orders",
                [
                    ("AMQP_URL", self.amqp_from("orders")),
                    ("ORDERS_DB", "/data/orders.db".into()),
                    ("PAYMENTS_URL", self.url_from("orders", Component::Payments)),
                    (
                        "INVENTORY_URL",
                        self.url_from("orders", Component::Inventory),
                    ),
                ]
                .into_iter()
                .chain(ORDERS_TEST_TIME.map(|(k, v)| (k, v.to_string())))
                .collect(),
            ),
            Component::Payments => self.refsys(
                c,
                "payments",
                vec![("PAYMENTS_DB", "/data/payments.db".into())],
            ),
            Component::Inventory => self.refsys(
                c,
                "inventory",
                vec![("INVENTORY_DB", "/data/inventory.db".into())],
            ),
            Component::Email => self.refsys(
                c,
                "email",
                vec![
                    ("AMQP_URL", self.amqp_from("email")),
                    ("EMAIL_DB", "/data/email.db".into()),
                    // Recipients containing this fail every time (poison-message lens).
                    ("EMAIL_FAIL_SUBJECT_MARKER", "undeliverable".into()),
                    // The consumer crashes after the work, before the ack, for these
                    // (duplicate-delivery lens).
                    ("EMAIL_CRASH_AFTER_WORK_MARKER", "crash-before-ack".into()),
                ],
            ),
            Component::Analytics => self.refsys(
                c,
                "analytics",
                vec![
                    ("AMQP_URL", self.amqp_from("analytics")),
                    ("ANALYTICS_DB", "/data/analytics.db".into()),
                ],
            ),
            Component::Gateway(n) => self
                .refsys(
                    c,
                    "gateway",
                    vec![
                        ("GATEWAY_REPLICA", n.to_string()),
                        ("GATEWAY_ROUTES", ROUTES_IN_CONTAINER.to_string()),
                        ("BREAKER_OPEN_MS", GATEWAY_BREAKER_OPEN_MS.to_string()),
                        ("GATEWAY_JWT_SECRET", self.jwt_secret.to_string()),
                        ("ORDERS_URL", self.url_from("gateway", Component::Orders)),
                        (
                            "PAYMENTS_URL",
                            self.url_from("gateway", Component::Payments),
                        ),
                        (
                            "INVENTORY_URL",
                            self.url_from("gateway", Component::Inventory),
                        ),
                        (
                            "REDIS_URL",
                            format!(
                                "redis://{}",
                                self.addr_from("gateway", Component::Redis, 6379)
                            ),
                        ),
                    ],
                )
                .with_copy_to(ROUTES_IN_CONTAINER, test_routes()?),
            Component::Link(i) => {
                let (_, callee, port) = KNOWN_LINKS[usize::from(i)];
                self.refsys(
                    c,
                    "proxy",
                    vec![("PROXY_UPSTREAM", format!("{}:{port}", self.host(callee)))],
                )
            }
            Component::Frontdoor => Self::image(
                &self.images.nginx,
                WaitFor::message_on_stderr("start worker process"),
                &[SERVICE_PORT],
            )
            .with_cmd(["nginx", "-c", "/etc/nginx/qalens.conf"])
            .with_copy_to("/etc/nginx/qalens.conf", self.nginx_conf().into_bytes()),
        };
        request
            .with_container_name(self.host(c))
            .with_network(self.network)
            .with_labels(self.labels.clone())
            .with_label(crate::cleanup::COMPONENT_LABEL, c.name())
            .with_startup_timeout(STARTUP_TIMEOUT)
            .start()
            .await
            .with_context(|| {
                format!(
                    "container {} did not become ready within {STARTUP_TIMEOUT:?}",
                    self.host(c)
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_route_table_caps_timeouts_and_keeps_everything_else() {
        let original: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../reference-system/routes.json"
        )))
        .unwrap();
        let test: serde_json::Value = serde_json::from_slice(&test_routes().unwrap()).unwrap();
        assert_eq!(original["public"], test["public"]);
        assert_eq!(original["policies"], test["policies"]);
        let (o, t) = (
            original["routes"].as_array().unwrap(),
            test["routes"].as_array().unwrap(),
        );
        assert_eq!(o.len(), t.len());
        assert!(
            o.iter()
                .any(|r| r["timeout_ms"].as_u64() > Some(ROUTE_TIMEOUT_MAX_MS))
        );
        for (o, t) in o.iter().zip(t) {
            let (before, after) = (
                o["timeout_ms"].as_u64().unwrap(),
                t["timeout_ms"].as_u64().unwrap(),
            );
            assert_eq!(after, before.min(ROUTE_TIMEOUT_MAX_MS), "{o}");
            let strip = |r: &serde_json::Value| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("timeout_ms");
                r
            };
            assert_eq!(strip(o), strip(t));
        }
    }

    #[test]
    fn links_parse_by_name_and_unknown_ones_are_named() {
        let default = parse_links(DEFAULT_LINKS).unwrap();
        assert_eq!(
            default.iter().map(|i| link_name(*i)).collect::<Vec<_>>(),
            DEFAULT_LINKS.split(',').collect::<Vec<_>>()
        );
        assert_eq!(parse_links("all").unwrap().len(), KNOWN_LINKS.len());
        assert!(parse_links("none").unwrap().is_empty());
        assert_eq!(
            parse_links(" email-rabbitmq , email-rabbitmq").unwrap(),
            vec![7]
        );
        let err = parse_links("orders-redis").unwrap_err();
        assert!(err.contains("unknown link \"orders-redis\""), "{err}");
        assert!(err.contains("gateway-redis"), "{err}");
        assert_eq!(
            Component::parse("link-gateway-redis", 3, &default),
            Some(Component::Link(3))
        );
        assert_eq!(Component::parse("link-email-rabbitmq", 3, &default), None);
    }
}
