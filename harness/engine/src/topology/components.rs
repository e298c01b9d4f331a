//! What each container of a topology is, and how it is created: a replica of a service of
//! the system file, or a fault proxy on one of its declared links.
//!
//! Containers are created through the Docker API that testcontainers re-exports (bollard)
//! rather than testcontainers' runner, because a service must carry network aliases (its
//! service name, shared by its replicas, and `<service>-<n>`) from the moment its process
//! starts: nginx resolves its upstreams at start-up, and testcontainers 0.28 has no way to
//! set aliases at creation.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use testcontainers::bollard::Docker;
use testcontainers::bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig,
};
use testcontainers::bollard::query_parameters::{
    CreateContainerOptionsBuilder, StartContainerOptions,
};

use super::TopologyError;
use qalens_model::images::ImageRef;
use qalens_model::system::{Healthcheck, Link, ReadyLog, Service, Stream, System};

/// Where the `qalens` binary is mounted in a fault proxy, which runs `qalens proxy`.
const QALENS_IN_CONTAINER: &str = "/usr/local/bin/qalens";
/// The port a fault proxy listens on for the caller.
pub(crate) const PROXY_PORT: u16 = qalens_proxy::PORT;
/// A fault proxy's control port (`/internal/fault`).
pub(crate) const PROXY_CONTROL_PORT: u16 = qalens_proxy::CONTROL_PORT;

/// One container of the topology.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Unit {
    /// Replica `n` of a service (`None` for a service that is not numbered).
    Replica { service: String, n: Option<u8> },
    /// The fault proxy on link `i` of `x-qalens.links`.
    Proxy(usize),
}

/// When a container counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ready {
    /// Its `healthcheck` passes (run through Docker's exec API).
    Health(Healthcheck),
    /// It printed this line.
    Log(ReadyLog),
    /// It runs.
    Running,
}

/// Everything the containers of one topology share.
pub(super) struct Plan<'a> {
    pub system: &'a System,
    pub run_id: &'a str,
    pub network: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// The fault proxies' image and the `qalens` binary they run.
    pub proxy_image: &'a ImageRef,
    pub proxy_bin: &'a Path,
    /// Indices into `x-qalens.links` of the links that get a proxy.
    pub links: &'a [usize],
    /// Defects switched on at start-up, through `x-qalens.hooks.defects.env`.
    pub defects: &'a [String],
}

impl Plan<'_> {
    fn link(&self, i: usize) -> &Link {
        &self.system.qalens.links[i]
    }

    /// The name within the run (`api`, `gateway-2`, `link-api-ledger`): the
    /// component label, the step vocabulary, and the container name after the run id.
    pub(super) fn name(&self, unit: &Unit) -> String {
        match unit {
            Unit::Replica { service, n: None } => service.clone(),
            Unit::Replica {
                service,
                n: Some(n),
            } => format!("{service}-{n}"),
            Unit::Proxy(i) => format!("link-{}", self.link(*i).name()),
        }
    }

    /// The container name, which is also a host name on the network.
    pub(super) fn host(&self, unit: &Unit) -> String {
        format!("{}-{}", self.run_id, self.name(unit))
    }

    /// Every container: each service's replicas, then the proxies.
    pub(super) fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = self
            .system
            .services
            .values()
            .flat_map(|s| {
                s.replica_names().into_iter().map(|(n, _)| Unit::Replica {
                    service: s.name.clone(),
                    n,
                })
            })
            .collect();
        units.extend(self.links.iter().copied().map(Unit::Proxy));
        units
    }

    /// The unit's ready check.
    pub(super) fn ready(&self, unit: &Unit) -> Ready {
        ready_of(self.system, &self.name(unit))
    }

    /// A replica's environment: the file's, with every proxied link from this service
    /// rewired to its proxy, the replica number and the start-up defects.
    pub(super) fn environment(&self, service: &Service, n: Option<u8>) -> BTreeMap<String, String> {
        let mut env = service.environment.clone();
        for &i in self.links {
            let link = self.link(i);
            if link.from != service.name {
                continue;
            }
            let proxy = format!("{}:{PROXY_PORT}", self.host(&Unit::Proxy(i)));
            if let Some(value) = env.get_mut(&link.rewire) {
                *value = replace_address(value, &link.to.to_string(), &proxy);
            }
        }
        let q = &self.system.qalens;
        if let Some(g) = q.gateway.as_ref().filter(|g| g.service == service.name)
            && let Some(var) = &g.replica_env
        {
            env.insert(var.clone(), n.unwrap_or(1).to_string());
        }
        if let Some(hook) = q.hooks.as_ref().and_then(|h| h.defects.as_ref())
            && let Some(var) = &hook.env
            && hook.services.contains(&service.name)
        {
            env.insert(var.clone(), self.defects.join(","));
        }
        env
    }

    /// The container's create request.
    fn body(&self, unit: &Unit) -> ContainerCreateBody {
        let mut labels: HashMap<String, String> = self.labels.clone().into_iter().collect();
        labels.insert(crate::cleanup::COMPONENT_LABEL.into(), self.name(unit));
        let (image, cmd, entrypoint, env, ports, mounts, aliases) = match unit {
            Unit::Replica { service, n } => {
                let s = &self.system.services[service];
                // Compose's entrypoint is a list; Docker's too: its words then the command.
                let (entrypoint, cmd) = match (&s.entrypoint, &s.command) {
                    (Some(e), c) => (Some(e.clone()), Some(c.clone().unwrap_or_default())),
                    (None, c) => (None, c.clone()),
                };
                let mut aliases = vec![service.clone()];
                if let Some(n) = n {
                    aliases.push(format!("{service}-{n}"));
                }
                aliases.extend(s.aliases.iter().cloned());
                let mounts = s
                    .mounts
                    .iter()
                    .map(|m| (m.source.display().to_string(), m.target.clone()))
                    .collect();
                (
                    s.image.to_string(),
                    cmd,
                    entrypoint,
                    self.environment(s, *n),
                    s.ports.clone(),
                    mounts,
                    aliases,
                )
            }
            Unit::Proxy(i) => {
                let link = self.link(*i);
                let env = BTreeMap::from([
                    ("RUST_LOG".to_string(), "info".to_string()),
                    ("PROXY_UPSTREAM".to_string(), link.to.to_string()),
                ]);
                (
                    self.proxy_image.to_string(),
                    Some(vec![QALENS_IN_CONTAINER.to_string(), "proxy".to_string()]),
                    None,
                    env,
                    vec![PROXY_PORT, PROXY_CONTROL_PORT],
                    vec![(
                        self.proxy_bin.display().to_string(),
                        QALENS_IN_CONTAINER.to_string(),
                    )],
                    vec![self.name(unit)],
                )
            }
        };
        ContainerCreateBody {
            image: Some(image),
            cmd,
            entrypoint,
            env: Some(env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: Some(ports.iter().map(|p| format!("{p}/tcp")).collect()),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.to_string()),
                // Each exposed port on a random host port, as testcontainers does.
                publish_all_ports: Some(true),
                mounts: Some(
                    mounts
                        .into_iter()
                        .map(|(source, target)| Mount {
                            source: Some(source),
                            target: Some(target),
                            typ: Some(MountType::BIND),
                            read_only: Some(true),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    self.network.to_string(),
                    EndpointSettings {
                        aliases: Some(aliases),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        }
    }

    /// Creates and starts the unit's container; returns its id. A container that was
    /// created but did not start is removed by the caller's cleanup (it carries the
    /// run's labels).
    pub(super) async fn create_and_start(
        &self,
        docker: &Docker,
        unit: &Unit,
    ) -> Result<String, TopologyError> {
        let host = self.host(unit);
        let options = CreateContainerOptionsBuilder::new().name(&host).build();
        let created = match docker
            .create_container(Some(options), self.body(unit))
            .await
        {
            Ok(created) => created,
            Err(cause) => return Err(TopologyError::CreateContainer { host, cause }),
        };
        if let Err(cause) = docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
        {
            return Err(TopologyError::StartContainer { host, cause });
        }
        Ok(created.id)
    }
}

/// The ready check of the container called `name` within the run: a proxy's log line, or
/// its service's `healthcheck`, else its `x-qalens.ready` log line, else that it runs.
pub(super) fn ready_of(system: &System, name: &str) -> Ready {
    if name.starts_with("link-") {
        return Ready::Log(ReadyLog {
            log: qalens_proxy::READY_LINE.into(),
            stream: Stream::Stdout,
        });
    }
    let service = system
        .services
        .values()
        .find(|s| s.replica_names().iter().any(|(_, n)| n == name));
    let Some(s) = service else {
        return Ready::Running;
    };
    if let Some(h) = &s.healthcheck {
        Ready::Health(h.clone())
    } else if let Some(log) = system.qalens.ready.get(&s.name) {
        Ready::Log(log.clone())
    } else {
        Ready::Running
    }
}

/// Replaces the address `from` (`ledger:8080`) in `value` (`http://ledger:8080/x`) with
/// `to`, only where it stands as a whole host (after the start, `/` or `@`), so
/// `xledger:8080` is left alone.
pub(crate) fn replace_address(value: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut at_boundary = true;
    while !rest.is_empty() {
        if at_boundary && rest.starts_with(from) {
            let after = &rest[from.len()..];
            let ends = after.is_empty() || after.starts_with(['/', '?', '#', ',']);
            if ends {
                out.push_str(to);
                rest = after;
                at_boundary = false;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        at_boundary = matches!(c, '/' | '@' | ',');
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewiring_replaces_the_whole_address_only() {
        let r = |v: &str| replace_address(v, "ledger:8080", "run-link-api-ledger:8080");
        assert_eq!(r("http://ledger:8080"), "http://run-link-api-ledger:8080");
        assert_eq!(
            r("http://ledger:8080/x"),
            "http://run-link-api-ledger:8080/x"
        );
        assert_eq!(r("ledger:8080"), "run-link-api-ledger:8080");
        assert_eq!(r("http://xledger:8080"), "http://xledger:8080");
        assert_eq!(r("http://ledger:80801"), "http://ledger:80801");
        let amqp = replace_address(
            "amqp://guest:guest@rabbitmq:5672/%2f",
            "rabbitmq:5672",
            "p:8080",
        );
        assert_eq!(amqp, "amqp://guest:guest@p:8080/%2f");
    }
}
