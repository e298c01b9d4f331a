//! The system under test: the services of the system file (`qalens_model::system`) and the fault
//! proxies on its declared links, in containers on a private network.
//!
//! One [`Topology`] per run, started once and shared by every scenario. Containers are
//! named `<run id>-<service>[-<n>]` (and `<run id>-link-<from>-<to>` for proxies), carry
//! the labels of [`crate::cleanup`], and reach each other by service name (a network alias
//! shared by a service's replicas). They start in `depends_on` order, everything
//! independent at once (`start`), each waited on by its ready check (`ready`).

mod build;
mod components;
pub(crate) mod endpoints;
mod error;
pub mod faketime;
mod pull;
pub use pull::check_images;
mod ready;
mod running;
mod start;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use testcontainers::bollard::Docker;
use testcontainers::bollard::models::NetworkCreateRequest;

use crate::cleanup;
use qalens_model::images::Images;
use qalens_model::system::System;

pub(crate) use components::PROXY_CONTROL_PORT;
pub use error::{TopologyError, UnknownLink};
pub use running::Running;

/// What to start.
#[derive(Debug, Clone)]
pub struct TopologyOptions {
    pub run_id: String,
    /// The system file, checked.
    pub system: Arc<System>,
    /// The fault proxies' image (the runtime image) and the `qalens` binary they run
    /// (`qalens proxy`).
    pub images: Images,
    pub proxy_bin: PathBuf,
    /// Label the resources `qalens.keep=true` so no sweep removes them.
    pub keep: bool,
    /// Links with a fault proxy (indices into `x-qalens.links`).
    pub links: Vec<usize>,
    /// Known defects to switch on at start-up (see `refsys defects`), through the
    /// system file's defect hook.
    pub defects: Vec<String>,
}

/// A defect the `refsys` binary knows, with the lens (tag without `@`) meant to catch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDefect {
    pub name: String,
    pub lens: Option<String>,
}

/// The defects the `refsys` binary knows (`refsys defects`: a name and a lens per line).
pub fn known_defects(refsys_bin: &std::path::Path) -> Result<Vec<KnownDefect>, TopologyError> {
    let out = std::process::Command::new(refsys_bin)
        .arg("defects")
        .output()
        .map_err(|cause| TopologyError::RunningDefects {
            bin: refsys_bin.to_path_buf(),
            cause,
        })?;
    if !out.status.success() {
        return Err(TopologyError::DefectsFailed {
            bin: refsys_bin.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
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
    pub fn with_defects(mut self, defects: &[String]) -> Result<Self, TopologyError> {
        if defects.is_empty() {
            return Ok(self);
        }
        let hook = self
            .system
            .qalens
            .hooks
            .as_ref()
            .and_then(|h| h.defects.as_ref());
        if hook.and_then(|h| h.env.as_ref()).is_none() {
            return Err(TopologyError::NoDefectHook {
                file: self.system.file.clone(),
            });
        }
        let known: Vec<String> = known_defects(&qalens_model::images::refsys_binary()?)?
            .into_iter()
            .map(|d| d.name)
            .collect();
        for d in defects {
            if !known.contains(d) {
                return Err(TopologyError::UnknownDefect {
                    name: d.clone(),
                    known,
                });
            }
        }
        self.defects = defects.to_vec();
        Ok(self)
    }
}

impl TopologyOptions {
    /// A fresh run id for `system`, the proxies' image from the environment, the `qalens`
    /// binary they run, and the links `QALENS_LINKS` names ([`links_from_env`]).
    pub fn from_env(system: Arc<System>) -> Result<Self, TopologyError> {
        let links = links_from_env(&system)?;
        Self::with_links(system, links)
    }

    /// As [`TopologyOptions::from_env`], with proxies on `links` (indices into
    /// `x-qalens.links`, as [`links_from_env`] gives them) instead of reading
    /// `QALENS_LINKS` again.
    pub fn with_links(system: Arc<System>, links: Vec<usize>) -> Result<Self, TopologyError> {
        Ok(Self {
            run_id: cleanup::new_run_id(),
            system,
            images: Images::from_env()?,
            proxy_bin: qalens_model::images::qalens_binary()?,
            keep: false,
            links,
            defects: vec![],
        })
    }
}

/// The links that get a proxy in a run started now: those `QALENS_LINKS` names (default:
/// those the file does not mark `proxied: false`; see [`select_links`]). The one place
/// the variable is read.
pub fn links_from_env(system: &System) -> Result<Vec<usize>, TopologyError> {
    let spec = std::env::var("QALENS_LINKS")
        .ok()
        .filter(|s| !s.trim().is_empty());
    select_links(system, spec.as_deref()).map_err(|cause| TopologyError::LinksEnv {
        spec: spec.unwrap_or_default(),
        cause,
    })
}

/// The names of `links` (indices into `x-qalens.links`), as feature files use them.
pub fn link_names(system: &System, links: &[usize]) -> Vec<String> {
    links
        .iter()
        .map(|i| system.qalens.links[*i].name())
        .collect()
}

/// The names of the links with a fault proxy among a running topology's component names
/// (its `link-<from>-<to>` containers).
pub fn proxied_among<'a>(components: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    components
        .into_iter()
        .filter_map(|c| c.strip_prefix("link-"))
        .map(str::to_string)
        .collect()
}

/// The links that get a proxy: `spec` (comma-separated link names, `all`, or `none`), or
/// without one, every link the file does not mark `proxied: false`.
pub fn select_links(system: &System, spec: Option<&str>) -> Result<Vec<usize>, UnknownLink> {
    let links = &system.qalens.links;
    let Some(spec) = spec.map(str::trim) else {
        return Ok((0..links.len()).filter(|i| links[*i].proxied).collect());
    };
    if spec == "all" {
        return Ok((0..links.len()).collect());
    }
    let mut chosen = vec![];
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "none" {
            continue;
        }
        let i = links
            .iter()
            .position(|l| l.name() == name)
            .ok_or_else(|| UnknownLink {
                name: name.to_string(),
                file: system.file.clone(),
                known: links.iter().map(|l| l.name()).collect(),
            })?;
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Where a test reaches each component: the Docker engine's host and the published
/// ports (`endpoints::engine_host`), read from the engine (`endpoints::read`).
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub run_id: String,
    /// Every published port: `host:port` by container name (`api`, `gateway-2`,
    /// `link-api-db`) and container port.
    pub containers: BTreeMap<String, BTreeMap<u16, String>>,
    /// The entry point (`x-qalens.entry`) as an `http://` URL: the door real clients use.
    pub gateway: String,
    /// Each replica of the `x-qalens.gateway` service directly, replica 1 first.
    pub gateways: Vec<String>,
    /// `amqp://` URL of the broker (`x-qalens.broker`).
    pub amqp: String,
    /// The broker's management API.
    pub rabbitmq_management: String,
    /// Each inspection endpoint (`x-qalens.hooks.inspection`) as an `http://` URL, by
    /// service.
    pub inspection: BTreeMap<String, String>,
    /// How clients get their tokens (`x-qalens.identity`, any mode).
    pub identity: crate::tokens::Issuer,
    /// The routes the system file documents (`x-qalens.routes`); empty when it has none.
    pub routes: Vec<qalens_model::system::routes::DocumentedRoute>,
    /// Each declared queue (`x-qalens.broker.queues`) and its dead-letter queue, if any.
    pub queues: BTreeMap<String, Option<String>>,
    /// Each defect-control endpoint (`x-qalens.hooks.defects`), by container name.
    pub controls: BTreeMap<String, String>,
    /// Each link's fault proxy control API (`/internal/fault`), by link name
    /// (`api-db`).
    pub links: BTreeMap<String, String>,
    /// The container that answers for each service: its first replica, as
    /// [`qalens_model::system::Service::replica_names`] names it (`db`, `gateway-1`).
    #[serde(skip)]
    pub answering: BTreeMap<String, String>,
}

impl Endpoints {
    /// Records that container `name` now publishes `now` (container port to
    /// `host:port`), and points every endpoint that used one of its old addresses at the
    /// new one.
    pub(crate) fn moved(&mut self, name: &str, now: BTreeMap<u16, String>) {
        let before = self
            .containers
            .insert(name.to_string(), now.clone())
            .unwrap_or_default();
        for (port, old) in before {
            let Some(new) = now.get(&port).filter(|n| **n != old) else {
                continue;
            };
            let swap = |v: &mut String| *v = components::replace_address(v, &old, new);
            swap(&mut self.gateway);
            swap(&mut self.amqp);
            swap(&mut self.rabbitmq_management);
            self.gateways.iter_mut().for_each(swap);
            self.inspection.values_mut().for_each(swap);
            self.controls.values_mut().for_each(swap);
            self.links.values_mut().for_each(swap);
        }
    }

    /// `host:port` of `service`'s container `port` (its first replica answers for a
    /// scaled service), if the system file has that service and it publishes the port.
    pub fn service(&self, service: &str, port: u16) -> Option<String> {
        let container = self.answering.get(service)?;
        self.containers.get(container)?.get(&port).cloned()
    }

    /// The inspection endpoint (`x-qalens.hooks.inspection`) of `service` as an
    /// `http://` URL, or an error naming the key that would provide it.
    pub fn inspection(&self, service: &str) -> Result<String, TopologyError> {
        self.inspection
            .get(service)
            .cloned()
            .ok_or_else(|| TopologyError::NoInspection {
                service: service.to_string(),
            })
    }
}

/// Waits until container `name` (id `id`) of a topology of `system`, started at `since`
/// (Unix seconds), passes its ready check from the system file.
pub(crate) async fn wait_ready(
    docker: &Docker,
    system: &System,
    id: &str,
    name: &str,
    deadline: Duration,
    since: i32,
) -> Result<(), TopologyError> {
    ready::wait(
        docker,
        id,
        name,
        &components::ready_of(system, name),
        deadline,
        since,
    )
    .await
}

/// Switches on exactly `defects` in one service through its control API at `url`.
pub(crate) async fn put_defects(
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

/// A topology this process started: its containers and network, plus the [`Running`]
/// view every run uses. [`Topology::teardown`] removes it; [`Topology::detach`] leaves it.
pub struct Topology {
    running: Running,
    endpoints: Endpoints,
    started_in: Duration,
    /// How long each container took from its create request until it was ready.
    timings: Vec<(String, Duration)>,
}

impl std::ops::Deref for Topology {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.running
    }
}

impl Topology {
    /// Creates the network and starts every container, each waited on by its ready
    /// check. On failure, whatever was started is removed before the error returns.
    pub async fn start(docker: &Docker, options: TopologyOptions) -> Result<Self, TopologyError> {
        let started = Instant::now();
        let run_id = options.run_id.clone();
        match Self::try_start(docker, &options, started).await {
            Ok(t) => Ok(t),
            Err(e) => {
                // Creations the failed start had already sent may complete after the
                // first removal: remove until nothing more appears.
                if let Err(cleanup_err) =
                    cleanup::remove_run_settled(docker, &run_id, Duration::from_secs(2)).await
                {
                    eprintln!(
                        "qalens: cleanup after failed start of {run_id} failed: {cleanup_err}"
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
    ) -> Result<Self, TopologyError> {
        let run_id = &options.run_id;
        let network = format!("{run_id}-net");
        let mut labels = cleanup::labels(run_id, options.keep);
        // `qalens run --attach RUN_ID` reads the system file back from here.
        labels.extend([cleanup::system_label(&options.system.file)]);
        docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone().into_iter().collect()),
                ..Default::default()
            })
            .await
            .map_err(|cause| TopologyError::CreateNetwork {
                network: network.clone(),
                cause,
            })?;

        let plan = components::Plan {
            system: &options.system,
            run_id,
            network: &network,
            labels: &labels,
            proxy_image: &options.images.runtime,
            proxy_bin: &options.proxy_bin,
            links: &options.links,
            defects: &options.defects,
        };
        let started_units = start::start_all(docker, &plan).await?;
        let running = Running::new(
            docker,
            run_id,
            started_units.containers.clone(),
            options.system.clone(),
        )?;
        let endpoints = running.current_endpoints().await?;
        Ok(Self {
            running,
            endpoints,
            started_in: started.elapsed(),
            timings: started_units.timings,
        })
    }

    /// The endpoints as they were when the topology became ready.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// How long [`Topology::start`] took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// How long each container took from its create request until it was ready, in the
    /// order they became ready.
    pub fn timings(&self) -> &[(String, Duration)] {
        &self.timings
    }

    /// Removes every container and the network of the run (by its label, so a container
    /// half-created when a signal arrived goes too), as [`cleanup::remove_run`] does.
    pub async fn teardown(self) -> Result<(), TopologyError> {
        let run_id = self.running.run_id().to_string();
        cleanup::remove_run(self.running.docker(), &run_id)
            .await
            .map(|_| ())
            .map_err(|cause| TopologyError::Teardown { run_id, cause })
    }

    /// Leaves the containers running (labelled `qalens.keep` only if started so) and
    /// forgets them; `qalens down <run id>` removes them later.
    pub fn detach(self) -> Endpoints {
        self.endpoints
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_running_topologys_proxied_links_are_its_link_containers() {
        let components =
            ["api", "gateway-2", "link-api-ledger", "link-gateway-redis"].map(str::to_string);
        assert_eq!(
            super::proxied_among(&components),
            ["api-ledger", "gateway-redis"]
        );
    }
}
