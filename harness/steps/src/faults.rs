//! Faults on components: stop, start, kill, pause, unpause, restart. Every fault a
//! scenario applies is recorded in its world and undone when the scenario ends, pass or
//! fail (see [`qalens_engine::nemesis::heal_all`], run by the runner's after-hook). Each fault applied and healed
//! is also recorded in the run's fault log ([`qalens_engine::faults`]) for the HTML timeline. Scenarios that apply faults to
//! shared components claim them (`@disrupts:db`, see `qalens_engine::scheduler`) so they run
//! alone with every scenario that uses them.

use std::time::Duration;

use cucumber::{then, when};

use super::StepResult;
use crate::world::QaWorld;
use qalens_engine::clients::http::Target;
use qalens_engine::nemesis::{Applied, apply, running, set_link};
use qalens_engine::wait;
use qalens_proxy::Fault;

#[when(regex = r"^the (\S+) container is (stopped|killed|paused|unpaused|started|restarted)$")]
async fn container_op(world: &mut QaWorld, component: String, op: String) -> StepResult {
    let began = std::time::SystemTime::now();
    let run = world.run()?;
    let applied = apply(&run, &component, &op).await;
    let log = run.faults();
    match op.as_str() {
        "stopped" | "killed" | "paused" if applied.is_ok() => {
            log.applied_at(&component, &op, began)
        }
        "started" | "unpaused" if applied.is_ok() => log.healed(&component),
        // A restart is a fault from its start until the component is healthy again (or
        // the step gave up waiting).
        "restarted" => {
            log.applied_at(&component, "restarted", began);
            log.healed(&component);
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
    let call = world.call(&method, Target::Replica(replica), &path)?;
    let ex = wait::until(Duration::from_secs(seconds), || {
        let call = call.clone();
        async move {
            let ex = call.send().await.map_err(|e| e.to_string())?;
            if ex.status == status {
                Ok(Some(ex))
            } else {
                Err(ex.to_string())
            }
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| format!("expected {status} within {seconds} s; last answer:\n{seen}"))
    })?;
    world.last = Some(ex);
    Ok(())
}

#[then(expr = "within {int} seconds the {word} container has stopped")]
async fn container_stopped(world: &mut QaWorld, seconds: u64, component: String) -> StepResult {
    let ctx = world.ctx()?;
    wait::until(Duration::from_secs(seconds), || {
        let (ctx, component) = (ctx.clone(), component.clone());
        async move {
            match running(&ctx, &component).await.map_err(|e| e.to_string())? {
                (false, _) => Ok(Some(())),
                (true, status) => Err(format!("still running ({status})")),
            }
        }
    })
    .await
    .map_err(|waited| {
        waited.map(|seen| format!("{component} did not stop within {seconds} s: {seen}"))
    })?;
    // It is down now: the scenario's end starts it again if the scenario does not.
    world
        .run()?
        .faults()
        .applied(&component, "stopped on its own");
    world.faults.push(Applied::Down(component));
    Ok(())
}

#[when(expr = "the link from {word} to {word} adds {int} ms of latency")]
async fn link_latency(world: &mut QaWorld, from: String, to: String, ms: u64) -> StepResult {
    let run = world.run()?;
    let name = set_link(&run.context(), &from, &to, Fault::Latency { ms }).await?;
    run.faults()
        .applied(&name, &format!("adds {ms} ms of latency"));
    world.faults.push(Applied::Link(name));
    Ok(())
}

#[when(
    regex = r"^the link from (\S+) to (\S+) (black-holes traffic|resets connections|is healed)$"
)]
async fn link_fault(world: &mut QaWorld, from: String, to: String, what: String) -> StepResult {
    let fault = match what.as_str() {
        "black-holes traffic" => Fault::Blackhole,
        "resets connections" => Fault::Reset,
        _ => Fault::None,
    };
    let run = world.run()?;
    let name = set_link(&run.context(), &from, &to, fault).await?;
    if fault == Fault::None {
        run.faults().healed(&name);
        world.faults.retain(|f| *f != Applied::Link(name.clone()));
    } else {
        run.faults().applied(&name, &what);
        world.faults.push(Applied::Link(name));
    }
    Ok(())
}

/// One-way faults: requests (from `from` to `to`) pass and the callee does the work,
/// while its answers are held until the link heals, or lost with the connection.
#[when(regex = r"^the link from (\S+) to (\S+) (holds|drops) the answers$")]
async fn link_answers(world: &mut QaWorld, from: String, to: String, what: String) -> StepResult {
    let fault = if what == "holds" {
        Fault::HoldAnswers
    } else {
        Fault::DropAnswers
    };
    let name = set_link(&*world.ctx()?, &from, &to, fault).await?;
    world.faults.push(Applied::Link(name));
    Ok(())
}
