//! The system under test: the reference system's containers on a private network.
//!
//! One [`Topology`] per run, started once and shared by every scenario. Each component
//! runs from a configurable image ([`crate::images`]); the reference services run the
//! host-built `refsys` binary mounted read-only into the runtime image. Names are
//! `<run id>-<component>`, so two runs on one machine never collide, and every resource
//! carries the labels of [`crate::cleanup`].

mod components;
pub mod endpoints;
pub mod faketime;
mod running;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use testcontainers::bollard::Docker;
use testcontainers::bollard::models::NetworkCreateRequest;
use testcontainers::{ContainerAsync, GenericImage};

use crate::cleanup;
use crate::images::Images;

pub use components::{CONTROL_PORT, Component, SERVICE_PORT};
pub use running::Running;

/// What to start.
#[derive(Debug, Clone)]
pub struct TopologyOptions {
    pub run_id: String,
    pub images: Images,
    pub refsys_bin: PathBuf,
    /// Label the resources `qalens.keep=true` so no sweep removes them.
    pub keep: bool,
    /// Gateway replicas behind the front door.
    pub gateways: u8,
    /// Links with a fault proxy (indices into [`components::KNOWN_LINKS`]).
    pub links: Vec<u8>,
    /// HS256 secret the gateways verify tokens with.
    pub jwt_secret: String,
    /// Extra environment per component name (`orders`, `gateway-2`).
    pub extra_env: BTreeMap<String, Vec<(String, String)>>,
    /// Known defects to switch on in every reference service (see `refsys defects`).
    pub defects: Vec<String>,
}

/// A defect the `refsys` binary knows, with the lens (tag without `@`) meant to catch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDefect {
    pub name: String,
    pub lens: Option<String>,
}

/// The defects the `refsys` binary knows (`refsys defects`: a name and a lens per line).
pub fn known_defects(refsys_bin: &std::path::Path) -> anyhow::Result<Vec<KnownDefect>> {
    let out = std::process::Command::new(refsys_bin)
        .arg("defects")
        .output()
        .with_context(|| format!("running {} defects", refsys_bin.display()))?;
    if !out.status.success() {
        anyhow::bail!(
            "{} defects failed: {}",
            refsys_bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(KnownDefect {
                name: words.next()?.to_string(),
                lens: words.next().map(str::to_string),
            })
        })
        .collect())
}

impl TopologyOptions {
    /// Switches on `defects`, each checked against the names `refsys` knows.
    pub fn with_defects(mut self, defects: &[String]) -> anyhow::Result<Self> {
        if defects.is_empty() {
            return Ok(self);
        }
        let known: Vec<String> = known_defects(&self.refsys_bin)?
            .into_iter()
            .map(|d| d.name)
            .collect();
        for d in defects {
            if !known.contains(d) {
                anyhow::bail!("unknown defect {d:?}; known defects: {}", known.join(", "));
            }
        }
        self.defects = defects.to_vec();
        Ok(self)
    }
}

/// The JWT secret of topologies started without `QALENS_JWT_SECRET` (a test system's
/// secret, not a credential).
pub const DEFAULT_JWT_SECRET: &str = "qalens-reference-system-secret";

/// Gateway replicas when `QALENS_GATEWAY_REPLICAS` is unset.
pub const DEFAULT_GATEWAYS: u8 = 3;

impl TopologyOptions {
    /// A fresh run id, images from the environment, the host-built `refsys`.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            run_id: cleanup::new_run_id(),
            images: Images::from_env()?,
            refsys_bin: crate::images::refsys_binary()?,
            keep: false,
            gateways: match std::env::var("QALENS_GATEWAY_REPLICAS") {
                Ok(v) if !v.is_empty() => v
                    .parse::<u8>()
                    .ok()
                    .filter(|n| (1..=9).contains(n))
                    .with_context(|| format!("QALENS_GATEWAY_REPLICAS={v:?} must be 1 to 9"))?,
                _ => DEFAULT_GATEWAYS,
            },
            links: {
                let spec = std::env::var("QALENS_LINKS")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| components::DEFAULT_LINKS.to_string());
                components::parse_links(&spec)
                    .map_err(|e| anyhow::anyhow!("QALENS_LINKS={spec:?}: {e}"))?
            },
            jwt_secret: jwt_secret_from_env(),
            extra_env: BTreeMap::new(),
            defects: vec![],
        })
    }
}

/// Where a test reaches each component: the Docker engine's host and the published
/// ports ([`endpoints::engine_host`]).
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub run_id: String,
    /// The front door (nginx before the gateway replicas): the door real clients use.
    pub gateway: String,
    /// Each gateway replica directly, replica 1 first.
    pub gateways: Vec<String>,
    /// Internal inspection endpoints, not routed by the gateway.
    pub orders: String,
    pub payments: String,
    pub inventory: String,
    pub email: String,
    pub analytics: String,
    /// `amqp://` URL of the broker.
    pub amqp: String,
    /// RabbitMQ management API.
    pub rabbitmq_management: String,
    /// `redis://` URL.
    pub redis: String,
    /// The secret tokens must be signed with (`qalens token` uses it).
    pub jwt_secret: String,
    /// Each reference service's control API (`/internal/defects`), by component name.
    pub controls: BTreeMap<String, String>,
    /// Each link's fault proxy control API (`/internal/fault`), by link name
    /// (`orders-payments`).
    pub links: BTreeMap<String, String>,
}

/// Switches on exactly `defects` in one service through its control API at `url`.
pub async fn put_defects(
    http: &reqwest::Client,
    component: &str,
    url: &str,
    defects: &[String],
) -> Result<(), SwitchError> {
    let res = http
        .put(format!("{url}/internal/defects"))
        .timeout(std::time::Duration::from_secs(10))
        .json(defects)
        .send()
        .await
        .map_err(|e| SwitchError::Failed(format!("{component}: {e}")))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::CONFLICT {
        return Err(SwitchError::NeedsRestart(body));
    }
    if !status.is_success() {
        return Err(SwitchError::Failed(format!(
            "{component} answered {status}: {body}"
        )));
    }
    Ok(())
}

/// Why [`Running::switch_defects`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// The defect acts at start-up: start a topology with it instead.
    #[error("needs a fresh topology: {0}")]
    NeedsRestart(String),
    #[error("switching defects failed: {0}")]
    Failed(String),
}

/// `QALENS_JWT_SECRET`, or the default.
pub fn jwt_secret_from_env() -> String {
    std::env::var("QALENS_JWT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_JWT_SECRET.to_string())
}

/// A topology this process started: the containers' handles (dropping one removes its
/// container) and the network, plus the [`Running`] view every run uses.
pub struct Topology {
    running: Running,
    network: String,
    containers: HashMap<Component, ContainerAsync<GenericImage>>,
    endpoints: Endpoints,
    started_in: Duration,
    /// How long each component took to become ready, in start order.
    timings: Vec<(String, Duration)>,
}

impl std::ops::Deref for Topology {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.running
    }
}

impl Topology {
    /// Creates the network and starts every component, each waited on by its ready
    /// condition. On failure, whatever was started is removed before the error returns.
    pub async fn start(docker: &Docker, options: TopologyOptions) -> anyhow::Result<Self> {
        let started = Instant::now();
        let run_id = options.run_id.clone();
        match Self::try_start(docker, &options, started).await {
            Ok(t) => Ok(t),
            Err(e) => {
                if let Err(cleanup_err) = cleanup::remove_run(docker, &run_id).await {
                    eprintln!(
                        "qalens: cleanup after failed start of {run_id} failed: {cleanup_err:#}"
                    );
                }
                Err(e)
            }
        }
    }

    async fn try_start(
        docker: &Docker,
        options: &TopologyOptions,
        started: Instant,
    ) -> anyhow::Result<Self> {
        let run_id = &options.run_id;
        let network = format!("{run_id}-net");
        let labels = cleanup::labels(run_id, options.keep);
        docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone().into_iter().collect()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating network {network}"))?;

        let spec = components::Shared {
            run_id,
            network: &network,
            labels: &labels,
            images: &options.images,
            refsys_bin: &options.refsys_bin,
            gateways: options.gateways,
            links: &options.links,
            jwt_secret: &options.jwt_secret,
            extra_env: &options.extra_env,
            defects: &options.defects,
        };
        // Each chain runs its waves in order; the chains run concurrently.
        let chains = Component::start_plan(options.gateways, &options.links)
            .into_iter()
            .map(|waves| {
                let spec = &spec;
                async move {
                    let mut out = vec![];
                    for wave in waves {
                        let started =
                            futures::future::join_all(wave.into_iter().map(|c| async move {
                                let t = Instant::now();
                                (c, spec.start(c).await, t.elapsed())
                            }))
                            .await;
                        let failed = started.iter().any(|(_, r, _)| r.is_err());
                        out.extend(started);
                        if failed {
                            break;
                        }
                    }
                    out
                }
            });
        let mut containers = HashMap::new();
        let mut timings = vec![];
        let mut first_error = None;
        for (component, result, took) in futures::future::join_all(chains)
            .await
            .into_iter()
            .flatten()
        {
            timings.push((component.name(), took));
            match result {
                Ok(container) => {
                    containers.insert(component, container);
                }
                Err(e) => {
                    first_error.get_or_insert(e.context(format!("starting {component}")));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }

        let ids = containers
            .iter()
            .map(|(c, h)| (c.name(), h.id().to_string()))
            .collect();
        let running = Running::new(docker, run_id, ids, options.jwt_secret.clone());
        let endpoints = running.current_endpoints().await?;
        Ok(Self {
            running,
            network,
            containers,
            endpoints,
            started_in: started.elapsed(),
            timings,
        })
    }

    /// The view of the topology that runs use.
    pub fn running(&self) -> &Running {
        &self.running
    }

    /// The endpoints as they were when the topology became ready.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// How long [`Topology::start`] took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// How long each component took from its start request until it was ready.
    pub fn timings(&self) -> &[(String, Duration)] {
        &self.timings
    }

    /// Removes every container and the network, concurrently; reports what was left.
    pub async fn teardown(self) -> anyhow::Result<()> {
        let Self {
            running,
            network,
            containers,
            ..
        } = self;
        let (run_id, docker) = (running.run_id().to_string(), running.docker().clone());
        let removals = containers.into_values().map(|c| c.rm());
        let results = futures::future::join_all(removals).await;
        let mut first_error = results
            .into_iter()
            .find_map(Result::err)
            .map(anyhow::Error::new);
        if let Err(e) = docker.remove_network(&network).await {
            first_error.get_or_insert(anyhow::Error::new(e));
        }
        // Whatever is still labelled with this run (a container half-created when a
        // signal arrived, say) goes too.
        if let Err(e) = cleanup::remove_run(&docker, &run_id).await {
            first_error.get_or_insert(e);
        }
        match first_error {
            Some(e) => Err(e.context(format!("tearing down {run_id}"))),
            None => Ok(()),
        }
    }

    /// Leaves the containers running (labelled `qalens.keep` only if started so) and
    /// forgets them; `qalens down <run id>` removes them later.
    pub fn detach(self) -> Endpoints {
        let endpoints = self.endpoints.clone();
        // Dropping a ContainerAsync removes it, so the handles must not be dropped.
        std::mem::forget(self.containers);
        endpoints
    }
}
