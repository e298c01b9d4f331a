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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Rabbitmq,
    Redis,
    Orders,
    Email,
    Gateway,
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Rabbitmq,
        Component::Redis,
        Component::Orders,
        Component::Email,
        Component::Gateway,
    ];

    /// The name used in container names, feature files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Component::Rabbitmq => "rabbitmq",
            Component::Redis => "redis",
            Component::Orders => "orders",
            Component::Email => "email",
            Component::Gateway => "gateway",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Start order: each wave needs the ones before it; a wave starts concurrently.
    pub fn start_waves() -> [&'static [Component]; 3] {
        [
            &[Component::Rabbitmq, Component::Redis],
            &[Component::Orders, Component::Email],
            &[Component::Gateway],
        ]
    }
}

pub(super) struct Spec<'a> {
    pub run_id: &'a str,
    pub network: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub images: &'a Images,
    pub refsys_bin: &'a Path,
}

impl Spec<'_> {
    fn host(&self, c: Component) -> String {
        format!("{}-{}", self.run_id, c.name())
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
        env: &[(&str, String)],
    ) -> testcontainers::ContainerRequest<GenericImage> {
        let mut req = Self::image(
            &self.images.runtime,
            WaitFor::message_on_stdout(REFSYS_READY),
            &[8080],
        )
        .with_cmd([REFSYS_IN_CONTAINER.to_string(), c.name().to_string()])
        .with_mount(
            Mount::bind_mount(self.refsys_bin.display().to_string(), REFSYS_IN_CONTAINER)
                .with_access_mode(AccessMode::ReadOnly),
        )
        .with_env_var("RUST_LOG", "info");
        for (k, v) in env {
            req = req.with_env_var(*k, v.clone());
        }
        req
    }

    pub async fn start(&self, c: Component) -> anyhow::Result<ContainerAsync<GenericImage>> {
        let amqp = format!(
            "amqp://guest:guest@{}:5672/%2f",
            self.host(Component::Rabbitmq)
        );
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
                &[
                    ("AMQP_URL", amqp.clone()),
                    ("ORDERS_DB", "/data/orders.db".into()),
                ],
            ),
            Component::Email => self.refsys(
                c,
                &[
                    ("AMQP_URL", amqp.clone()),
                    ("EMAIL_DB", "/data/email.db".into()),
                ],
            ),
            Component::Gateway => self.refsys(
                c,
                &[
                    (
                        "ORDERS_URL",
                        format!("http://{}:8080", self.host(Component::Orders)),
                    ),
                    (
                        "REDIS_URL",
                        format!("redis://{}:6379", self.host(Component::Redis)),
                    ),
                ],
            ),
        };
        request
            .with_container_name(self.host(c))
            .with_network(self.network)
            .with_labels(self.labels.clone())
            .with_label("qalens.component", c.name())
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
