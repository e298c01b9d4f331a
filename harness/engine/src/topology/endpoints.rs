//! Where the harness reaches each component: the host of the Docker engine plus the host
//! port Docker published for a container port, read from the engine itself.
//!
//! Reading the ports from `docker inspect` (not from the handles that started the
//! containers) lets a run attach to a topology another process started (`qalens up
//! --detach`), and lets a fault step re-read a port after a restart moved it.

use std::collections::{BTreeMap, HashMap};

use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::InspectContainerOptions;

use super::{Endpoints, PROXY_CONTROL_PORT, TopologyError};
use qalens_model::system::{ServicePort, System};

/// The host at which published container ports are reached: the host of `DOCKER_HOST`
/// when the engine is remote (`tcp://docker:2375` gives `docker`), else the loopback
/// address. `TESTCONTAINERS_HOST_OVERRIDE` wins over both, as in testcontainers.
pub(crate) fn engine_host() -> String {
    engine_host_from(
        std::env::var("TESTCONTAINERS_HOST_OVERRIDE")
            .ok()
            .as_deref(),
        std::env::var("DOCKER_HOST").ok().as_deref(),
    )
}

fn engine_host_from(host_override: Option<&str>, docker_host: Option<&str>) -> String {
    if let Some(h) = host_override.map(str::trim).filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    let remote = docker_host.map(str::trim).and_then(|url| {
        let rest = ["tcp://", "http://", "https://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            // An IPv6 literal keeps its brackets so `host:port` stays parseable.
            Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or_default()),
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(h, _)| h)
                .to_string(),
        };
        Some(host).filter(|h| !h.is_empty() && h != "[]")
    });
    remote.unwrap_or_else(|| "127.0.0.1".to_string())
}

/// Host ports by container port, for one container as the engine sees it now.
pub(crate) async fn published_ports(
    docker: &Docker,
    id: &str,
) -> Result<HashMap<u16, u16>, TopologyError> {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|cause| TopologyError::InspectContainer {
            id: id.to_string(),
            cause,
        })?;
    let ports = info
        .network_settings
        .and_then(|n| n.ports)
        .unwrap_or_default();
    Ok(ports
        .into_iter()
        .filter_map(|(key, bindings)| {
            let inner: u16 = key.strip_suffix("/tcp")?.parse().ok()?;
            // Docker may publish IPv4 and IPv6 on different host ports: take IPv4's.
            let outer = bindings?
                .into_iter()
                .filter(|b| !b.host_ip.as_deref().unwrap_or_default().contains(':'))
                .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()))?;
            Some((inner, outer))
        })
        .collect())
}

/// What the endpoints take from files the system file names (the identity's private key,
/// the OpenAPI document of `x-qalens.routes`): read and built once, when a topology is
/// found running ([`super::Running`]), and handed out with every [`Endpoints`].
#[derive(Clone)]
pub(crate) struct FromFiles {
    identity: crate::tokens::Issuer,
    routes: Vec<qalens_model::system::routes::DocumentedRoute>,
}

impl FromFiles {
    /// Reads the files `system` names; an unreadable or wrong one is an error.
    pub(crate) fn read(system: &System) -> Result<Self, TopologyError> {
        let q = &system.qalens;
        let identity =
            crate::tokens::Issuer::from_system(q.identity.as_ref(), &system.dir, &system.file)
                .map_err(TopologyError::Identity)?;
        let routes = match &q.routes {
            Some(r) => qalens_model::system::routes::documented(r, &system.dir)
                .map_err(TopologyError::Routes)?,
            None => vec![],
        };
        Ok(Self { identity, routes })
    }
}

/// Every endpoint of a topology of `system` whose containers are `containers` (name
/// within the run to container id), with the ports read from the engine now.
pub(crate) async fn read(
    docker: &Docker,
    run_id: &str,
    containers: &BTreeMap<String, String>,
    system: &System,
    files: &FromFiles,
) -> Result<Endpoints, TopologyError> {
    let host = engine_host();
    let inspected = futures::future::join_all(
        containers
            .iter()
            .map(|(name, id)| async move { (name, published_ports(docker, id).await) }),
    )
    .await;
    let mut published: BTreeMap<String, BTreeMap<u16, String>> = BTreeMap::new();
    for (name, ports) in inspected {
        let ports = ports?
            .into_iter()
            .map(|(inner, outer)| (inner, format!("{host}:{outer}")))
            .collect();
        published.insert(name.clone(), ports);
    }
    assemble(run_id, published, system, files)
}

/// The endpoints of a topology of `system` whose containers publish `published`
/// (`host:port` by container name and container port); no I/O.
fn assemble(
    run_id: &str,
    published: BTreeMap<String, BTreeMap<u16, String>>,
    system: &System,
    files: &FromFiles,
) -> Result<Endpoints, TopologyError> {
    let addr = |container: &str, port: u16| -> Result<String, TopologyError> {
        published
            .get(container)
            .ok_or_else(|| TopologyError::NoContainer {
                container: container.to_string(),
            })?
            .get(&port)
            .cloned()
            .ok_or_else(|| TopologyError::NoHostPort {
                container: container.to_string(),
                port,
            })
    };
    // The first replica of a service answers for it (`db`, or `gateway-1`).
    let answering: BTreeMap<String, String> = system
        .services
        .iter()
        .filter_map(|(name, s)| Some((name.clone(), s.replica_names().into_iter().next()?.1)))
        .collect();
    let service_addr = |sp: &ServicePort| -> Result<String, TopologyError> {
        let container = answering
            .get(&sp.service)
            .ok_or_else(|| TopologyError::NoService {
                service: sp.service.clone(),
            })?;
        addr(container, sp.port)
    };
    let q = &system.qalens;

    let gateway = match &q.entry {
        Some(entry) => format!("http://{}", service_addr(entry)?),
        None => String::new(),
    };
    let mut gateways = vec![];
    if let Some(g) = &q.gateway {
        for (_, name) in system.services[&g.service].replica_names() {
            gateways.push(format!("http://{}", addr(&name, g.port)?));
        }
    }
    let (mut amqp, mut rabbitmq_management) = (String::new(), String::new());
    if let Some(b) = &q.broker {
        let (h, p) = service_addr(&ServicePort {
            service: b.service.clone(),
            port: b.port,
        })?
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .ok_or(TopologyError::NoPortInAddress)?;
        amqp = b.amqp.replace("{host}", &h).replace("{port}", &p);
        if let Some(m) = b.management_port {
            rabbitmq_management = format!(
                "http://{}",
                service_addr(&ServicePort {
                    service: b.service.clone(),
                    port: m,
                })?
            );
        }
    }
    let mut inspection = BTreeMap::new();
    for sp in q.hooks.iter().flat_map(|h| &h.inspection) {
        inspection.insert(sp.service.clone(), format!("http://{}", service_addr(sp)?));
    }
    let mut controls = BTreeMap::new();
    if let Some(d) = q.hooks.as_ref().and_then(|h| h.defects.as_ref()) {
        for service in &d.services {
            for (_, name) in system.services[service].replica_names() {
                controls.insert(name.clone(), format!("http://{}", addr(&name, d.port)?));
            }
        }
    }
    let mut links = BTreeMap::new();
    for name in published.keys() {
        if let Some(link) = name.strip_prefix("link-") {
            // A takeover proxy moves its control API off a port its callee uses.
            let control = q
                .links
                .iter()
                .find(|l| l.name() == link)
                .map_or(PROXY_CONTROL_PORT, |l| {
                    super::components::proxy_ports(system, l).control
                });
            links.insert(link.to_string(), format!("http://{}", addr(name, control)?));
        }
    }
    let queues = q
        .broker
        .iter()
        .flat_map(|b| &b.queues)
        .map(|queue| (queue.name.clone(), queue.dead_letter.clone()))
        .collect();
    Ok(Endpoints {
        run_id: run_id.to_string(),
        gateway,
        gateways,
        amqp,
        rabbitmq_management,
        inspection,
        identity: files.identity.clone(),
        routes: files.routes.clone(),
        queues,
        controls,
        links,
        containers: published,
        answering,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A system file in a fresh directory of its own, naming a private key and an OpenAPI
    /// document beside it.
    fn system_with_files() -> (std::path::PathBuf, System) {
        let dir =
            std::env::temp_dir().join(format!("qalens-files-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys");
        std::fs::copy(
            format!("{keys}/test-only-rs256-private.pem"),
            dir.join("key.pem"),
        )
        .unwrap();
        std::fs::write(
            dir.join("api.yml"),
            "openapi: 3.0.0\npaths:\n  /health:\n    get: { security: [] }\n",
        )
        .unwrap();
        let file = dir.join("shop.yml");
        std::fs::write(
            &file,
            "services:\n  web:\n    image: shop/web:1\n    expose: [8080]\n\
             x-qalens:\n  entry: web:8080\n\
             \x20 identity:\n    jwt: { alg: RS256, private_key: key.pem }\n\
             \x20 routes: { openapi: api.yml }\n",
        )
        .unwrap();
        let system = System::load_with(&file, &|_| None).unwrap();
        (dir, system)
    }

    #[test]
    fn endpoints_are_built_from_files_read_once() {
        let (dir, system) = system_with_files();
        let files = FromFiles::read(&system).unwrap();
        // The files are gone; endpoints built after that still carry what they held.
        std::fs::remove_file(dir.join("key.pem")).unwrap();
        std::fs::remove_file(dir.join("api.yml")).unwrap();
        let published = BTreeMap::from([(
            "web".to_string(),
            BTreeMap::from([(8080, "127.0.0.1:4321".to_string())]),
        )]);
        for _ in 0..2 {
            let e = assemble("qalens-1", published.clone(), &system, &files).unwrap();
            assert_eq!(e.gateway, "http://127.0.0.1:4321");
            assert!(e.identity.signs(), "{:?}", e.identity);
            let routes: Vec<_> = e.routes.iter().map(|r| (&*r.path, r.public)).collect();
            assert_eq!(routes, [("/health", true)]);
        }
        // Reading them now fails: nothing above read them again.
        assert!(FromFiles::read(&system).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_service_is_answered_by_the_first_replica_the_system_file_names() {
        let text = "services:\n  web:\n    image: shop/web:1\n    expose: [8080]\n\
                    \x20   deploy: { replicas: 2 }\n\
                    \x20 db:\n    image: shop/db:1\n    expose: [5432]\n\
                    x-qalens:\n  entry: web:8080\n";
        let system = System::parse(
            std::path::Path::new("shop.yml"),
            std::path::Path::new("."),
            text,
            &|_| None,
        )
        .unwrap();
        let port = |p: u16, at: &str| BTreeMap::from([(p, at.to_string())]);
        let published = BTreeMap::from([
            ("web-1".to_string(), port(8080, "127.0.0.1:1001")),
            ("web-2".to_string(), port(8080, "127.0.0.1:1002")),
            ("db".to_string(), port(5432, "127.0.0.1:1003")),
        ]);
        let files = FromFiles::read(&system).unwrap();
        let e = assemble("qalens-1", published, &system, &files).unwrap();
        assert_eq!(e.service("web", 8080).as_deref(), Some("127.0.0.1:1001"));
        assert_eq!(e.service("db", 5432).as_deref(), Some("127.0.0.1:1003"));
        assert_eq!(e.service("db", 8080), None);
        // A container's name is not a service's: `web-2` is a replica of `web`.
        assert_eq!(e.service("web-2", 8080), None);
        assert_eq!(e.service("web-1", 8080), None);
    }

    /// A takeover proxy on a callee that uses port 9090 has its control API on 9091: the
    /// nemesis reaches it there.
    #[test]
    fn a_takeover_proxys_control_api_is_found_on_the_port_it_moved_to() {
        let system = super::super::components::tests::system(
            "    - { from: gateway, to: \"db:5432\", takeover: true }\n",
        );
        let port = |p: u16, at: &str| (p, at.to_string());
        let mut published: BTreeMap<String, BTreeMap<u16, String>> = ["front", "db", "worker"]
            .into_iter()
            .chain(["gateway-1", "gateway-2", "gateway-3"])
            .map(|c| (c.to_string(), BTreeMap::new()))
            .collect();
        published.insert(
            "link-gateway-db".into(),
            BTreeMap::from([port(5432, "127.0.0.1:2001"), port(9091, "127.0.0.1:2002")]),
        );
        let files = FromFiles::read(&system).unwrap();
        let e = assemble("qalens-1", published, &system, &files).unwrap();
        assert_eq!(e.links["gateway-db"], "http://127.0.0.1:2002");
    }

    #[test]
    fn the_engine_host_comes_from_docker_host_or_the_override() {
        assert_eq!(engine_host_from(None, None), "127.0.0.1");
        assert_eq!(
            engine_host_from(None, Some("unix:///var/run/docker.sock")),
            "127.0.0.1"
        );
        assert_eq!(
            engine_host_from(None, Some("tcp://127.0.0.2:2375")),
            "127.0.0.2"
        );
        assert_eq!(engine_host_from(None, Some("tcp://docker:2376/")), "docker");
        assert_eq!(engine_host_from(None, Some("tcp://[::1]:2375")), "[::1]");
        assert_eq!(
            engine_host_from(Some("docker.internal"), Some("tcp://docker:2375")),
            "docker.internal"
        );
        assert_eq!(
            engine_host_from(Some(" "), Some("https://engine.ci:2376")),
            "engine.ci"
        );
    }
}
