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

/// The ports of a fault proxy's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyPorts {
    /// Where callers connect: [`PROXY_PORT`], or the callee's port for a takeover.
    pub listen: u16,
    /// The control API: [`PROXY_CONTROL_PORT`], or the next port the callee does not use.
    pub control: u16,
    /// The callee's other ports, carried untouched: a proxy that takes over a name
    /// answers for every port of it.
    pub passthrough: Vec<u16>,
}

/// The ports of the fault proxy on `link`.
pub(crate) fn proxy_ports(system: &System, link: &Link) -> ProxyPorts {
    if !link.takeover {
        return ProxyPorts {
            listen: PROXY_PORT,
            control: PROXY_CONTROL_PORT,
            passthrough: vec![],
        };
    }
    let listen = link.to.port;
    let passthrough: Vec<u16> = system
        .callee(&link.to.service)
        .map(|(s, _)| s.ports.iter().copied().filter(|p| *p != listen).collect())
        .unwrap_or_default();
    let control = (PROXY_CONTROL_PORT..=u16::MAX)
        .find(|p| *p != listen && !passthrough.contains(p))
        .unwrap_or(PROXY_CONTROL_PORT);
    ProxyPorts {
        listen,
        control,
        passthrough,
    }
}

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

    /// Where a takeover link's proxy forwards to: the callee's container name
    /// (`<run id>-db`, `<run id>-gateway-2`), or for every replica of a scaled service an
    /// alias they share (`<run id>-gateway`).
    fn origin(&self, link: &Link) -> String {
        format!("{}-{}", self.run_id, link.to.service)
    }

    /// The network names a takeover link's proxy answers to instead of its callee: the
    /// service's name (`db`; `gateway` for every replica), or for one replica both its
    /// share of the service's name and its own (`gateway`, `gateway-2`).
    fn taken_names(&self, link: &Link) -> Vec<String> {
        match self.system.callee(&link.to.service) {
            Some((s, Some(n))) if link.takeover => vec![s.name.clone(), format!("{}-{n}", s.name)],
            Some((s, None)) if link.takeover => vec![s.name.clone()],
            _ => vec![],
        }
    }

    /// The network aliases of replica `n` of `service`: the service's name, `<service>-<n>`
    /// and the file's aliases, less the names a proxied takeover link took over, plus the
    /// shared name its proxy forwards to when it took over every replica.
    fn aliases(&self, service: &Service, n: Option<u8>) -> Vec<String> {
        let mut aliases = vec![service.name.clone()];
        if let Some(n) = n {
            aliases.push(format!("{}-{n}", service.name));
        }
        aliases.extend(service.aliases.iter().cloned());
        for &i in self.links {
            let link = self.link(i);
            let Some((callee, m)) = self.system.callee(&link.to.service) else {
                continue;
            };
            if !link.takeover || callee.name != service.name || (m.is_some() && m != n) {
                continue;
            }
            let taken = self.taken_names(link);
            aliases.retain(|a| !taken.contains(a));
            if m.is_none() && n.is_some() {
                aliases.push(self.origin(link));
            }
        }
        aliases
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
            if let Some(value) = link.rewire.as_ref().and_then(|var| env.get_mut(var)) {
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
                let aliases = self.aliases(s, *n);
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
                let ports = proxy_ports(self.system, link);
                let upstream = if link.takeover {
                    format!("{}:{}", self.origin(link), link.to.port)
                } else {
                    link.to.to_string()
                };
                let passthrough: Vec<String> =
                    ports.passthrough.iter().map(u16::to_string).collect();
                let env = BTreeMap::from([
                    ("RUST_LOG".to_string(), "info".to_string()),
                    ("PROXY_UPSTREAM".to_string(), upstream),
                    (
                        "PROXY_BIND".to_string(),
                        format!("0.0.0.0:{}", ports.listen),
                    ),
                    (
                        "PROXY_CONTROL_BIND".to_string(),
                        format!("0.0.0.0:{}", ports.control),
                    ),
                    ("PROXY_PASSTHROUGH".to_string(), passthrough.join(",")),
                ]);
                let mut aliases = vec![self.name(unit)];
                aliases.extend(self.taken_names(link));
                (
                    self.proxy_image.to_string(),
                    Some(vec![QALENS_IN_CONTAINER.to_string(), "proxy".to_string()]),
                    None,
                    env,
                    vec![ports.listen, ports.control],
                    vec![(
                        self.proxy_bin.display().to_string(),
                        QALENS_IN_CONTAINER.to_string(),
                    )],
                    aliases,
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
pub(super) mod tests {
    use super::*;

    /// A front door reading its upstreams from a configuration file, three gateway
    /// replicas, a database with a second port and a worker that depends on it.
    pub(in crate::topology) fn system(links: &str) -> System {
        let text = format!(
            "services:\n  \
             front: {{ image: web, expose: [80], depends_on: [gateway] }}\n  \
             gateway: {{ image: web, expose: [8080], deploy: {{ replicas: 3 }}, \
             environment: {{ DB: \"db:5432\" }} }}\n  \
             db: {{ image: db, expose: [5432, 9090] }}\n  \
             worker: {{ image: w, depends_on: [db] }}\n\
             x-qalens:\n  links:\n{links}"
        );
        System::parse(Path::new("shop.yml"), Path::new("."), &text, &|_| None).unwrap()
    }

    /// The plan of `system` with a proxy on every link it declares.
    pub(in crate::topology) fn with_plan<T>(system: &System, f: impl FnOnce(&Plan) -> T) -> T {
        let links: Vec<usize> = (0..system.qalens.links.len()).collect();
        let labels = BTreeMap::new();
        let image = ImageRef {
            name: "runtime".into(),
            tag: "1".into(),
        };
        f(&Plan {
            system,
            run_id: "run",
            network: "run-net",
            labels: &labels,
            proxy_image: &image,
            proxy_bin: Path::new("/bin/qalens"),
            links: &links,
            defects: &[],
        })
    }

    /// A container's network aliases and environment, as its create request has them.
    fn created(plan: &Plan, unit: Unit) -> (Vec<String>, Vec<String>) {
        let body = plan.body(&unit);
        let aliases = body.networking_config.unwrap().endpoints_config.unwrap()["run-net"]
            .aliases
            .clone()
            .unwrap();
        (aliases, body.env.unwrap())
    }

    fn replica(service: &str, n: Option<u8>) -> Unit {
        Unit::Replica {
            service: service.into(),
            n,
        }
    }

    #[test]
    fn a_takeover_proxy_answers_to_one_replicas_names_and_forwards_to_its_container() {
        let system = system("    - { from: front, to: \"gateway-2:8080\", takeover: true }\n");
        with_plan(&system, |plan| {
            let (aliases, env) = created(plan, Unit::Proxy(0));
            assert_eq!(aliases, ["link-front-gateway-2", "gateway", "gateway-2"]);
            for var in [
                "PROXY_UPSTREAM=run-gateway-2:8080",
                "PROXY_BIND=0.0.0.0:8080",
                "PROXY_CONTROL_BIND=0.0.0.0:9090",
                "PROXY_PASSTHROUGH=",
            ] {
                assert!(env.contains(&var.to_string()), "{var} not in {env:?}");
            }
            // Replica 2 is reached only by its container name now; the others keep theirs.
            assert!(created(plan, replica("gateway", Some(2))).0.is_empty());
            assert_eq!(
                created(plan, replica("gateway", Some(1))).0,
                ["gateway", "gateway-1"]
            );
            assert_eq!(created(plan, replica("front", None)).0, ["front"]);
        });
    }

    #[test]
    fn a_takeover_of_a_scaled_service_forwards_to_a_name_its_replicas_share() {
        let system = system("    - { from: front, to: \"gateway:8080\", takeover: true }\n");
        with_plan(&system, |plan| {
            let (aliases, env) = created(plan, Unit::Proxy(0));
            assert_eq!(aliases, ["link-front-gateway", "gateway"]);
            assert!(env.contains(&"PROXY_UPSTREAM=run-gateway:8080".to_string()));
            for n in 1..=3 {
                assert_eq!(
                    created(plan, replica("gateway", Some(n))).0,
                    [format!("gateway-{n}"), "run-gateway".to_string()]
                );
            }
        });
    }

    #[test]
    fn a_takeover_proxy_carries_the_callees_other_ports_and_moves_its_control_api() {
        let system = system("    - { from: gateway, to: \"db:9090\", takeover: true }\n");
        let link = &system.qalens.links[0];
        assert_eq!(
            proxy_ports(&system, link),
            ProxyPorts {
                listen: 9090,
                control: 9091,
                passthrough: vec![5432],
            }
        );
        with_plan(&system, |plan| {
            let (aliases, env) = created(plan, Unit::Proxy(0));
            assert_eq!(aliases, ["link-gateway-db", "db"]);
            for var in [
                "PROXY_UPSTREAM=run-db:9090",
                "PROXY_BIND=0.0.0.0:9090",
                "PROXY_CONTROL_BIND=0.0.0.0:9091",
                "PROXY_PASSTHROUGH=5432",
            ] {
                assert!(env.contains(&var.to_string()), "{var} not in {env:?}");
            }
            assert!(created(plan, replica("db", None)).0.is_empty());
            // The caller's environment is left as it is: it reaches the proxy by name.
            let (_, gateway_env) = created(plan, replica("gateway", Some(1)));
            assert!(gateway_env.contains(&"DB=db:5432".to_string()));
        });
    }

    #[test]
    fn a_rewired_link_keeps_the_callees_names_and_rewrites_the_callers_variable() {
        let system = system("    - { from: gateway, to: \"db:5432\", rewire: DB }\n");
        let link = &system.qalens.links[0];
        assert_eq!(
            proxy_ports(&system, link),
            ProxyPorts {
                listen: PROXY_PORT,
                control: PROXY_CONTROL_PORT,
                passthrough: vec![],
            }
        );
        with_plan(&system, |plan| {
            let (aliases, env) = created(plan, Unit::Proxy(0));
            assert_eq!(aliases, ["link-gateway-db"]);
            assert!(env.contains(&"PROXY_UPSTREAM=db:5432".to_string()));
            assert_eq!(created(plan, replica("db", None)).0, ["db"]);
            let (_, gateway_env) = created(plan, replica("gateway", Some(3)));
            assert!(gateway_env.contains(&"DB=run-link-gateway-db:8080".to_string()));
        });
    }

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
