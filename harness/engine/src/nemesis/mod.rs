//! The nemesis, in Jepsen's sense: each fault a scenario applies is data ([`Applied`])
//! with its heal, and [`heal_all`] undoes whatever is still in effect when the scenario
//! ends. Here are the operations (a container's, [`apply`]; a link's, [`set_link`]; one
//! scenario's requests on a link, [`set_scoped`]; a clock's, [`clock::skew`]); the steps
//! that apply them are `steps::faults` and `steps::clock`.

pub mod clock;
mod error;
#[cfg(test)]
mod tests;

use std::time::Duration;

use testcontainers::bollard::query_parameters::{
    KillContainerOptions, RestartContainerOptions, StartContainerOptions, StopContainerOptions,
};

use crate::clients::exec::Stage;
use crate::context::{Run, RunContext};

pub use error::{NemesisError, OpFailure};

/// A fault that is still in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Stopped or killed: heal by starting it.
    Down(String),
    /// Paused: heal by unpausing it.
    Paused(String),
    /// A network fault on a link (`api-db`), either way or one way: heal by
    /// clearing it.
    Link(String),
    /// A skewed clock: heal by setting its offset back to zero.
    Skewed(String),
    /// A fault on one scenario's requests over a link (`api-db`): heal by clearing that
    /// scenario's fault; other scenarios' faults on the link stay.
    Scoped { link: String, scenario: String },
}

impl Applied {
    /// What the run's fault log names it by: the component or link, and for a scoped
    /// fault the scenario whose requests it faults.
    pub fn target(&self) -> String {
        match self {
            Applied::Down(c) | Applied::Paused(c) | Applied::Link(c) | Applied::Skewed(c) => {
                c.clone()
            }
            Applied::Scoped { link, scenario } => scoped_target(link, scenario),
        }
    }
}

/// The fault log's name for a fault on `scenario`'s requests over `link`.
pub fn scoped_target(link: &str, scenario: &str) -> String {
    format!("{link} for {scenario}")
}

pub fn container(ctx: &RunContext, component: &str) -> Result<String, NemesisError> {
    ctx.containers
        .get(component)
        .cloned()
        .ok_or_else(|| NemesisError::UnknownComponent {
            component: component.to_string(),
            known: ctx.containers.keys().cloned().collect(),
        })
}

/// The name (`api-db`) and control URL of the fault proxy on a link.
pub fn link_url(ctx: &RunContext, from: &str, to: &str) -> Result<(String, String), NemesisError> {
    let name = format!("{from}-{to}");
    let url = ctx
        .endpoints
        .links
        .get(&name)
        .cloned()
        .ok_or_else(|| NemesisError::UnknownLink {
            from: from.to_string(),
            to: to.to_string(),
            known: ctx.endpoints.links.keys().cloned().collect(),
        })?;
    Ok((name, url))
}

/// Re-reads the host ports of `component` after it started again (a restart moves
/// them) and points every endpoint that used the old ones at the new ones.
async fn refresh_endpoint(run: &Run, component: &str) -> Result<(), NemesisError> {
    let ctx = run.context();
    let id = container(&ctx, component)?;
    let ports = crate::topology::endpoints::published_ports(&ctx.docker, &id).await?;
    let host = crate::topology::endpoints::engine_host();
    let now = ports
        .into_iter()
        .map(|(inner, outer)| (inner, format!("{host}:{outer}")))
        .collect();
    let component = component.to_string();
    run.update(move |ctx| ctx.endpoints.moved(&component, now));
    Ok(())
}

/// Whether the steps talk to `service` directly over HTTP: the entry, the gateway, a
/// service with an inspection or defect-control endpoint.
fn reached_directly(system: &qalens_model::system::System, service: &str) -> bool {
    let q = &system.qalens;
    let hooks = q.hooks.iter();
    q.entry.as_ref().is_some_and(|e| e.service == service)
        || q.gateway.as_ref().is_some_and(|g| g.service == service)
        || hooks
            .clone()
            .flat_map(|h| &h.inspection)
            .any(|sp| sp.service == service)
        || hooks
            .flat_map(|h| &h.defects)
            .any(|d| d.services.iter().any(|s| s == service))
}

/// After a component started again at `since` (Unix seconds): re-reads its ports and,
/// when the steps talk to it directly ([`reached_directly`]), waits until it passes the
/// ready check its system file gives it (`healthcheck`, else `x-qalens.ready`, else
/// running). Other containers (a broker, a cache, a link's proxy) come back while the
/// scenario's own deadlines run, as they would for any client of the system.
async fn wait_ready(
    run: &Run,
    component: &str,
    deadline: Duration,
    since: i32,
) -> Result<(), NemesisError> {
    let ctx = run.context();
    let id = container(&ctx, component)?;
    let service = ctx
        .system
        .services
        .values()
        .find(|s| s.replica_names().iter().any(|(_, n)| n == component));
    if service.is_some_and(|s| reached_directly(&ctx.system, &s.name)) {
        crate::topology::wait_ready(&ctx.docker, &ctx.system, &id, component, deadline, since)
            .await?;
    }
    refresh_endpoint(run, component).await
}

/// Applies one operation to a component's container.
pub async fn apply(run: &Run, component: &str, op: &str) -> Result<(), NemesisError> {
    let ctx = run.context();
    let id = container(&ctx, component)?;
    let docker = &ctx.docker;
    let is_broker = |b: &qalens_model::system::Broker| {
        ctx.system
            .services
            .get(&b.service)
            .is_some_and(|s| s.replica_names().iter().any(|(_, n)| n == component))
    };
    let broker = ctx.system.qalens.broker.as_ref().is_some_and(is_broker);
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i32);
    let failed = |cause| NemesisError::Op {
        component: component.to_string(),
        op: op.to_string(),
        cause,
    };
    if op == "stopped" && broker {
        return stop_broker_cleanly(docker, &id, component)
            .await
            .map_err(failed);
    }
    let result = match op {
        "stopped" => {
            docker
                .stop_container(
                    &id,
                    Some(StopContainerOptions {
                        t: Some(5),
                        ..Default::default()
                    }),
                )
                .await
        }
        "killed" => {
            docker
                .kill_container(
                    &id,
                    Some(KillContainerOptions {
                        signal: "SIGKILL".into(),
                    }),
                )
                .await
        }
        "paused" => docker.pause_container(&id).await,
        "unpaused" => docker.unpause_container(&id).await,
        "started" => {
            docker
                .start_container(&id, None::<StartContainerOptions>)
                .await
        }
        "restarted" => {
            docker
                .restart_container(
                    &id,
                    Some(RestartContainerOptions {
                        t: Some(5),
                        ..Default::default()
                    }),
                )
                .await
        }
        other => {
            return Err(NemesisError::UnknownOp {
                op: other.to_string(),
            });
        }
    };
    result.map_err(|e| failed(OpFailure::Docker(e)))?;
    if matches!(op, "started" | "restarted") {
        wait_ready(run, component, Duration::from_secs(60), since).await?;
        // A service starts with the defects of its environment only: give it back the
        // ones switched on at run time.
        let ctx = run.context();
        if !ctx.switched_defects.is_empty()
            && let Some(url) = ctx.endpoints.controls.get(component)
        {
            crate::topology::put_defects(&ctx.http, component, url, &ctx.switched_defects)
                .await
                .map_err(NemesisError::Switch)?;
        }
    }
    Ok(())
}

/// Stops RabbitMQ the way an operator would (`rabbitmqctl stop`), then makes sure the
/// container is down. Not a plain `docker stop`: the image's PID 1 (the
/// `rabbitmq-server` shell wrapper) ignores SIGTERM, so that ends in a SIGKILL, and a
/// RabbitMQ 3.10 node killed soon after declaring a quorum queue can come back with the
/// queue unable to elect a leader: a broker failure mode, not the outage under test.
async fn stop_broker_cleanly(
    docker: &testcontainers::bollard::Docker,
    id: &str,
    component: &str,
) -> Result<(), OpFailure> {
    let cmd = ["rabbitmqctl".to_string(), "stop".into()];
    match crate::clients::exec::run(docker, id, component, &cmd).await {
        // Whatever rabbitmqctl said, the container is stopped below.
        Ok(_) => {}
        // The node's exit ends the container, which may cut the command's output or its
        // exit code short: the stop below tells whether it is down.
        Err(e) if matches!(e.stage, Stage::Output | Stage::Inspect) => {}
        Err(e) => return Err(OpFailure::Exec(Box::new(e))),
    }
    // Already stopped (the node's exit ends the container) or not: stopped after this.
    match docker
        .stop_container(
            id,
            Some(StopContainerOptions {
                t: Some(5),
                ..Default::default()
            }),
        )
        .await
    {
        Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 304,
            ..
        }) => Ok(()),
        other => other.map_err(OpFailure::Docker),
    }
}

/// Sets the fault of the proxy on the link from `from` to `to`.
pub async fn set_link(
    ctx: &RunContext,
    from: &str,
    to: &str,
    fault: qalens_proxy::Fault,
) -> Result<String, NemesisError> {
    put_fault(ctx, from, to, "/internal/fault", &fault).await
}

/// Sets the fault on the requests of `scenario` (those whose baggage names it) over the
/// link from `from` to `to`; [`qalens_proxy::ScopedFault::None`] heals them. Every other
/// request on the link passes untouched.
pub async fn set_scoped(
    ctx: &RunContext,
    from: &str,
    to: &str,
    scenario: &str,
    fault: qalens_proxy::ScopedFault,
) -> Result<String, NemesisError> {
    let path = format!("/internal/fault/scoped/{scenario}");
    put_fault(ctx, from, to, &path, &fault).await
}

/// PUTs `fault` to `path` of the control API of the proxy on the link from `from` to
/// `to`; returns the link's name.
async fn put_fault(
    ctx: &RunContext,
    from: &str,
    to: &str,
    path: &str,
    fault: &impl serde::Serialize,
) -> Result<String, NemesisError> {
    let (name, url) = link_url(ctx, from, to)?;
    let res = match ctx
        .http
        .put(format!("{url}{path}"))
        .json(fault)
        .send()
        .await
    {
        Ok(res) => res,
        Err(cause) => return Err(NemesisError::ProxySilent { link: name, cause }),
    };
    if !res.status().is_success() {
        return Err(NemesisError::ProxyStatus {
            link: name,
            status: res.status(),
        });
    }
    Ok(name)
}

/// Undoes every fault of `faults` (a scenario's, still in effect), newest first.
pub async fn heal_all(run: &Run, faults: &mut Vec<Applied>) {
    while let Some(fault) = faults.pop() {
        let result = match &fault {
            Applied::Down(c) => apply(run, c, "started").await,
            Applied::Paused(c) => apply(run, c, "unpaused").await,
            Applied::Skewed(c) => clock::skew(&run.context(), c, 0).await,
            Applied::Link(name) => match name.split_once('-') {
                Some((from, to)) => set_link(&run.context(), from, to, qalens_proxy::Fault::None)
                    .await
                    .map(|_| ()),
                None => Err(NemesisError::MalformedLink { name: name.clone() }),
            },
            Applied::Scoped { link, scenario } => match link.split_once('-') {
                Some((from, to)) => set_scoped(
                    &run.context(),
                    from,
                    to,
                    scenario,
                    qalens_proxy::ScopedFault::None,
                )
                .await
                .map(|_| ()),
                None => Err(NemesisError::MalformedLink { name: link.clone() }),
            },
        };
        match result {
            Ok(()) => run.faults().healed(&fault.target()),
            Err(e) => eprintln!("qalens: could not undo {fault:?}: {e}"),
        }
    }
}

/// Whether `component`'s container is running, and the status Docker gives it.
pub async fn running(ctx: &RunContext, component: &str) -> Result<(bool, String), NemesisError> {
    let id = container(ctx, component)?;
    let info = ctx
        .docker
        .inspect_container(
            &id,
            None::<testcontainers::bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(NemesisError::Inspect)?;
    let state = info.state.unwrap_or_default();
    Ok((state.running != Some(false), format!("{:?}", state.status)))
}
