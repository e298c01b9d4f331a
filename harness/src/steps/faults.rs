//! Faults on components: stop, start, kill, pause, unpause, restart. Every fault a
//! scenario applies is recorded in its world and undone when the scenario ends, pass or
//! fail (see `heal_all`, run by the runner's after-hook). Each fault applied and healed
//! is also recorded in the run's fault log ([`crate::report`]) for the HTML timeline. Scenarios that apply faults to
//! shared components claim them (`@disrupts:db`, see `crate::scheduler`) so they run
//! alone with every scenario that uses them.

use std::time::Duration;

use cucumber::{then, when};
use testcontainers::bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, RestartContainerOptions, StartContainerOptions,
    StopContainerOptions,
};

use super::StepResult;
use super::http::{Call, Target};
use crate::context;
use crate::nemesis::{Applied, container, link_url};
use crate::report;
use crate::wait;
use crate::world::QaWorld;

/// Re-reads the host ports of `component` after it started again (a restart moves
/// them) and points every endpoint that used the old ones at the new ones.
async fn refresh_endpoint(component: &str) -> StepResult {
    let ctx = context::current()?;
    let id = container(component)?;
    let ports = crate::topology::endpoints::published_ports(&ctx.docker, &id)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let host = crate::topology::endpoints::engine_host();
    let now = ports
        .into_iter()
        .map(|(inner, outer)| (inner, format!("{host}:{outer}")))
        .collect();
    let component = component.to_string();
    context::update(move |ctx| ctx.endpoints.moved(&component, now))
}

/// Waits until a component started at `since` (Unix seconds) passes the ready check its
/// system file gives it (`healthcheck`, else `x-qalens.ready`, else running), then
/// re-reads its ports.
async fn wait_ready(component: &str, deadline: Duration, since: i32) -> StepResult {
    let ctx = context::current()?;
    let id = container(component)?;
    crate::topology::wait_ready(&ctx.docker, &ctx.system, &id, component, deadline, since)
        .await
        .map_err(|e| format!("{e:#}"))?;
    refresh_endpoint(component).await
}

/// Applies one operation to a component's container.
pub async fn apply(component: &str, op: &str) -> StepResult {
    let ctx = context::current()?;
    let id = container(component)?;
    let docker = &ctx.docker;
    let is_broker = |b: &crate::system::Broker| {
        ctx.system
            .services
            .get(&b.service)
            .is_some_and(|s| s.replica_names().iter().any(|(_, n)| n == component))
    };
    let broker = ctx.system.qalens.broker.as_ref().is_some_and(is_broker);
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i32);
    let result = match op {
        "stopped" if broker => stop_broker_cleanly(docker, &id).await,
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
        other => return Err(format!("unknown operation {other:?}")),
    };
    result.map_err(|e| format!("{component} could not be {op}: {e}"))?;
    if matches!(op, "started" | "restarted") {
        wait_ready(component, Duration::from_secs(60), since).await?;
        // A service starts with the defects of its environment only: give it back the
        // ones switched on at run time.
        let ctx = context::current()?;
        if !ctx.switched_defects.is_empty()
            && let Some(url) = ctx.endpoints.controls.get(component)
        {
            crate::topology::put_defects(&ctx.http, component, url, &ctx.switched_defects)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[when(regex = r"^the (\S+) container is (stopped|killed|paused|unpaused|started|restarted)$")]
async fn container_op(world: &mut QaWorld, component: String, op: String) -> StepResult {
    let began = std::time::SystemTime::now();
    let applied = apply(&component, &op).await;
    match op.as_str() {
        "stopped" | "killed" | "paused" if applied.is_ok() => {
            report::fault_applied_at(&component, &op, began)
        }
        "started" | "unpaused" if applied.is_ok() => report::fault_healed(&component),
        // A restart is a fault from its start until the component is healthy again (or
        // the step gave up waiting).
        "restarted" => {
            report::fault_applied_at(&component, "restarted", began);
            report::fault_healed(&component);
        }
        _ => {}
    }
    applied?;
    match op.as_str() {
        "stopped" | "killed" => world.faults.push(Applied::Down(component)),
        "paused" => world.faults.push(Applied::Paused(component)),
        "started" => world
            .faults
            .retain(|f| *f != Applied::Down(component.clone())),
        "unpaused" => world
            .faults
            .retain(|f| *f != Applied::Paused(component.clone())),
        _ => {}
    }
    Ok(())
}

#[then(expr = "within {int} seconds {word} {string} on gateway replica {int} answers {int}")]
async fn eventually_answers(
    world: &mut QaWorld,
    seconds: u64,
    method: String,
    path: String,
    replica: usize,
    status: u16,
) -> StepResult {
    let call = Call::new(world, &method, Target::Replica(replica), &path)?;
    let ex = wait::until(Duration::from_secs(seconds), || {
        let call = call.clone();
        async move {
            let ex = call.send().await?;
            if ex.status == status {
                Ok(Some(ex))
            } else {
                Err(ex.to_string())
            }
        }
    })
    .await
    .map_err(|seen| format!("expected {status} within {seconds} s; last answer:\n{seen}"))?;
    world.last = Some(ex);
    Ok(())
}

#[then(expr = "within {int} seconds the {word} container has stopped")]
async fn container_stopped(world: &mut QaWorld, seconds: u64, component: String) -> StepResult {
    let ctx = context::current()?;
    let id = container(&component)?;
    let docker = ctx.docker.clone();
    wait::until(Duration::from_secs(seconds), || {
        let (docker, id) = (docker.clone(), id.clone());
        async move {
            let info = docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await
                .map_err(|e| e.to_string())?;
            let state = info.state.unwrap_or_default();
            if state.running == Some(false) {
                Ok(Some(()))
            } else {
                Err(format!("still running ({:?})", state.status))
            }
        }
    })
    .await
    .map_err(|seen| format!("{component} did not stop within {seconds} s: {seen}"))?;
    // It is down now: the scenario's end starts it again if the scenario does not.
    report::fault_applied(&component, "stopped on its own");
    world.faults.push(Applied::Down(component));
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
) -> Result<(), testcontainers::bollard::errors::Error> {
    use futures::StreamExt;
    use testcontainers::bollard::exec::StartExecResults;
    let exec = docker
        .create_exec(
            id,
            testcontainers::bollard::models::ExecConfig {
                cmd: Some(vec!["rabbitmqctl".into(), "stop".into()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await?;
    if let StartExecResults::Attached { mut output, .. } = docker.start_exec(&exec.id, None).await?
    {
        // Drained to the end: the command has finished when its output ends.
        while let Some(chunk) = output.next().await {
            if chunk.is_err() {
                break;
            }
        }
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
        other => other,
    }
}

/// Sets the fault of the proxy on the link from `from` to `to`.
async fn set_link(from: &str, to: &str, fault: serde_json::Value) -> Result<String, String> {
    let (name, url) = link_url(from, to)?;
    let res = context::current()?
        .http
        .put(format!("{url}/internal/fault"))
        .json(&fault)
        .send()
        .await
        .map_err(|e| format!("the fault proxy on {name} did not answer: {e}"))?;
    if !res.status().is_success() {
        return Err(format!(
            "the fault proxy on {name} answered {}",
            res.status()
        ));
    }
    Ok(name)
}

#[when(expr = "the link from {word} to {word} adds {int} ms of latency")]
async fn link_latency(world: &mut QaWorld, from: String, to: String, ms: u64) -> StepResult {
    let name = set_link(&from, &to, serde_json::json!({"mode": "latency", "ms": ms})).await?;
    report::fault_applied(&name, &format!("adds {ms} ms of latency"));
    world.faults.push(Applied::Link(name));
    Ok(())
}

#[when(
    regex = r"^the link from (\S+) to (\S+) (black-holes traffic|resets connections|is healed)$"
)]
async fn link_fault(world: &mut QaWorld, from: String, to: String, what: String) -> StepResult {
    let mode = match what.as_str() {
        "black-holes traffic" => "blackhole",
        "resets connections" => "reset",
        _ => "none",
    };
    let name = set_link(&from, &to, serde_json::json!({"mode": mode})).await?;
    if mode == "none" {
        report::fault_healed(&name);
        world.faults.retain(|f| *f != Applied::Link(name.clone()));
    } else {
        report::fault_applied(&name, &what);
        world.faults.push(Applied::Link(name));
    }
    Ok(())
}

/// One-way faults: requests (from `from` to `to`) pass and the callee does the work,
/// while its answers are held until the link heals, or lost with the connection.
#[when(regex = r"^the link from (\S+) to (\S+) (holds|drops) the answers$")]
async fn link_answers(world: &mut QaWorld, from: String, to: String, what: String) -> StepResult {
    let mode = if what == "holds" {
        "holdanswers"
    } else {
        "dropanswers"
    };
    let name = set_link(&from, &to, serde_json::json!({"mode": mode})).await?;
    world.faults.push(Applied::Link(name));
    Ok(())
}

/// Undoes every fault the scenario left in effect, newest first.
pub async fn heal_all(world: &mut QaWorld) {
    while let Some(fault) = world.faults.pop() {
        let result = match &fault {
            Applied::Down(c) => apply(c, "started").await,
            Applied::Paused(c) => apply(c, "unpaused").await,
            Applied::Skewed(c) => super::clock::skew(c, 0).await,
            Applied::Link(name) => match name.split_once('-') {
                Some((from, to)) => set_link(from, to, serde_json::json!({"mode": "none"}))
                    .await
                    .map(|_| ()),
                None => Err(format!("malformed link name {name}")),
            },
        };
        match result {
            Ok(()) => report::fault_healed(match &fault {
                Applied::Down(c) | Applied::Paused(c) | Applied::Link(c) | Applied::Skewed(c) => c,
            }),
            Err(e) => eprintln!("qalens: could not undo {fault:?}: {e}"),
        }
    }
}
