//! Start order from `depends_on`: every service starts as soon as what it depends on is
//! started (`service_started`) or ready (`service_healthy`), everything independent at
//! once, after the broker's container (it boots slowest). A caller of a proxied link also
//! waits for its proxy to be started, so its first connection finds the proxy's name (for
//! a takeover link, so does every service that depends on the callee). The first failure
//! stops the rest.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use testcontainers::bollard::Docker;
use tokio::sync::watch;
use tokio::time::Instant;

use super::TopologyError;
use super::components::{Plan, Unit};
use super::ready;
use qalens_model::system::Condition;

/// How long one container may take to become ready.
pub(super) const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

/// How far a group of containers (a service's replicas, or one proxy) has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Started,
    Ready,
    Failed,
}

/// The containers that started, by name within the run, and how long each took.
pub(super) struct Started {
    pub containers: BTreeMap<String, String>,
    /// In the order they became ready.
    pub timings: Vec<(String, Duration)>,
}

/// A group's key: the service name, or the proxy's name (`link-api-ledger`).
fn group_of(plan: &Plan, unit: &Unit) -> String {
    match unit {
        Unit::Replica { service, .. } => service.clone(),
        Unit::Proxy(_) => plan.name(unit),
    }
}

/// Starts every unit of `plan`; on the first failure the others are dropped (their
/// containers carry the run's labels; the caller removes them).
pub(super) async fn start_all(docker: &Docker, plan: &Plan<'_>) -> Result<Started, TopologyError> {
    let mut groups: BTreeMap<String, Vec<Unit>> = BTreeMap::new();
    for unit in plan.units() {
        groups.entry(group_of(plan, &unit)).or_default().push(unit);
    }
    let mut senders = BTreeMap::new();
    let mut receivers = BTreeMap::new();
    for name in groups.keys() {
        let (tx, rx) = watch::channel(State::Pending);
        senders.insert(name.clone(), tx);
        receivers.insert(name.clone(), rx);
    }
    let containers = Mutex::new(BTreeMap::new());
    let timings = Mutex::new(Vec::new());

    let runs = groups.iter().map(|(name, units)| {
        let tx = &senders[name];
        let deps = dependencies(plan, name);
        let (receivers, containers, timings) = (&receivers, &containers, &timings);
        async move {
            let outcome = async {
                for (dep, condition) in &deps {
                    let mut rx = receivers[dep].clone();
                    let needed = match condition {
                        Condition::Started => State::Started,
                        Condition::Healthy => State::Ready,
                    };
                    let state = *rx
                        .wait_for(|s| *s == State::Failed || reached(*s, needed))
                        .await
                        .map_err(|cause| TopologyError::WaitingFor {
                            dep: dep.clone(),
                            cause,
                        })?;
                    if state == State::Failed {
                        return Err(TopologyError::DependencyFailed {
                            name: name.clone(),
                            dep: dep.clone(),
                        });
                    }
                }
                let t0 = Instant::now();
                let ids = futures::future::try_join_all(units.iter().map(|u| async move {
                    let id = plan.create_and_start(docker, u).await?;
                    lock(containers).insert(plan.name(u), id.clone());
                    Ok::<_, TopologyError>((u, id))
                }))
                .await?;
                tx.send_replace(State::Started);
                futures::future::try_join_all(ids.iter().map(|(u, id)| async move {
                    let unit_name = plan.name(u);
                    ready::wait(
                        docker,
                        id,
                        &plan.host(u),
                        &plan.ready(u),
                        STARTUP_TIMEOUT,
                        0,
                    )
                    .await?;
                    lock(timings).push((unit_name, t0.elapsed()));
                    Ok::<_, TopologyError>(())
                }))
                .await?;
                tx.send_replace(State::Ready);
                Ok(())
            }
            .await;
            if outcome.is_err() {
                tx.send_replace(State::Failed);
            }
            outcome.map_err(|cause| TopologyError::Starting {
                name: name.clone(),
                cause: Box::new(cause),
            })
        }
    });
    futures::future::try_join_all(runs).await?;
    Ok(Started {
        containers: containers.into_inner().unwrap_or_else(|e| e.into_inner()),
        timings: timings.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
}

fn reached(state: State, needed: State) -> bool {
    matches!(
        (state, needed),
        (State::Ready, _) | (State::Started, State::Started)
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What group `name` waits for: its `depends_on`, the proxies of its proxied links, and
/// the broker's container (see [`broker_first`]).
fn dependencies(plan: &Plan, name: &str) -> Vec<(String, Condition)> {
    let mut deps = own_dependencies(plan, name);
    if let Some(broker) = broker_first(plan)
        && broker != name
    {
        deps.push((broker, Condition::Started));
    }
    deps
}

fn own_dependencies(plan: &Plan, name: &str) -> Vec<(String, Condition)> {
    let Some(service) = plan.system.services.get(name) else {
        return vec![];
    };
    let mut deps = service.depends_on.clone();
    for &i in plan.links {
        let link = &plan.system.qalens.links[i];
        // A takeover proxy answers to its callee's name: every service that depends on
        // the callee finds that name on the proxy from its first lookup (nginx resolves
        // its upstreams once, at start-up).
        let callee = plan.system.callee(&link.to.service).map(|(s, _)| &s.name);
        let calls = link.takeover && callee.is_some_and(|c| deps.iter().any(|(d, _)| d == c));
        if link.from == name || calls {
            deps.push((plan.name(&Unit::Proxy(i)), Condition::Started));
        }
    }
    deps
}

/// The broker (`x-qalens.broker`) boots slowest and its consumers wait for it, so its
/// container is created and started before the others, which then start at once while
/// it boots: on a machine with few cores, sixteen containers created together put the
/// broker's start seconds back. Only a broker that waits for nothing itself.
fn broker_first(plan: &Plan) -> Option<String> {
    let broker = &plan.system.qalens.broker.as_ref()?.service;
    (plan.system.services.contains_key(broker) && own_dependencies(plan, broker).is_empty())
        .then(|| broker.clone())
}

#[cfg(test)]
mod tests {
    use super::super::components::tests::{system, with_plan};
    use super::*;

    fn waits_for(plan: &Plan, name: &str) -> Vec<String> {
        dependencies(plan, name)
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }

    /// A takeover proxy must hold the callee's name before anyone who resolves it starts:
    /// the link's caller and every service that depends on the callee.
    #[test]
    fn every_service_depending_on_a_taken_over_callee_waits_for_its_proxy() {
        let taken = system("    - { from: gateway, to: \"db:5432\", takeover: true }\n");
        with_plan(&taken, |plan| {
            assert_eq!(waits_for(plan, "gateway"), ["link-gateway-db"]);
            assert_eq!(waits_for(plan, "worker"), ["db", "link-gateway-db"]);
            assert_eq!(waits_for(plan, "front"), ["gateway"]);
            assert!(waits_for(plan, "link-gateway-db").is_empty());
        });
        // A rewired link reaches its proxy by the proxy's own name: only its caller waits.
        let rewired = system("    - { from: gateway, to: \"db:5432\", rewire: DB }\n");
        with_plan(&rewired, |plan| {
            assert_eq!(waits_for(plan, "worker"), ["db"]);
            assert_eq!(waits_for(plan, "gateway"), ["link-gateway-db"]);
        });
    }
}
