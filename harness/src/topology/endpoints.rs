//! Where the harness reaches each component: the host of the Docker engine plus the host
//! port Docker published for a container port, read from the engine itself.
//!
//! Reading the ports from `docker inspect` (not from the handles that started the
//! containers) lets a run attach to a topology another process started (`qalens up
//! --detach`), and lets a fault step re-read a port after a restart moved it.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::InspectContainerOptions;

use super::{CONTROL_PORT, Endpoints, SERVICE_PORT};

/// The host at which published container ports are reached: the host of `DOCKER_HOST`
/// when the engine is remote (`tcp://docker:2375` gives `docker`), else the loopback
/// address. `TESTCONTAINERS_HOST_OVERRIDE` wins over both, as in testcontainers.
pub fn engine_host() -> String {
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
pub async fn published_ports(docker: &Docker, id: &str) -> anyhow::Result<HashMap<u16, u16>> {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .with_context(|| format!("inspecting container {id}"))?;
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

/// Every endpoint of a topology whose containers are `containers` (component name to
/// container id), read from the engine now.
pub async fn read(
    docker: &Docker,
    run_id: &str,
    containers: &BTreeMap<String, String>,
    jwt_secret: &str,
) -> anyhow::Result<Endpoints> {
    let host = engine_host();
    let inspected = futures::future::join_all(
        containers
            .iter()
            .map(|(name, id)| async move { (name, published_ports(docker, id).await) }),
    )
    .await;
    let mut ports: BTreeMap<&str, HashMap<u16, u16>> = BTreeMap::new();
    for (name, p) in inspected {
        ports.insert(name.as_str(), p?);
    }
    let addr = |component: &str, port: u16| -> anyhow::Result<String> {
        let outer = ports
            .get(component)
            .with_context(|| format!("the topology has no {component}"))?
            .get(&port)
            .with_context(|| format!("{component} has no host port for {port} (is it running?)"))?;
        Ok(format!("{host}:{outer}"))
    };
    let http = |component: &str| addr(component, SERVICE_PORT).map(|a| format!("http://{a}"));

    let mut controls = BTreeMap::new();
    let mut links = BTreeMap::new();
    let mut replicas = BTreeMap::new();
    for name in ports.keys() {
        if let Some(link) = name.strip_prefix("link-") {
            links.insert(
                link.to_string(),
                format!("http://{}", addr(name, CONTROL_PORT)?),
            );
            continue;
        }
        if let Some(n) = name
            .strip_prefix("gateway-")
            .and_then(|n| n.parse::<u8>().ok())
        {
            replicas.insert(n, http(name)?);
        }
        if ports[name].contains_key(&CONTROL_PORT) {
            controls.insert(
                name.to_string(),
                format!("http://{}", addr(name, CONTROL_PORT)?),
            );
        }
    }
    Ok(Endpoints {
        run_id: run_id.to_string(),
        gateway: http("frontdoor")?,
        gateways: replicas.into_values().collect(),
        orders: http("orders")?,
        payments: http("payments")?,
        inventory: http("inventory")?,
        email: http("email")?,
        analytics: http("analytics")?,
        amqp: format!("amqp://guest:guest@{}/%2f", addr("rabbitmq", 5672)?),
        rabbitmq_management: format!("http://{}", addr("rabbitmq", 15672)?),
        redis: format!("redis://{}", addr("redis", 6379)?),
        jwt_secret: jwt_secret.to_string(),
        controls,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::engine_host_from;

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
