//! Faults on components: stop, start, kill, pause, unpause, restart. Every fault a
//! scenario applies is recorded in its world and undone when the scenario ends, pass or
//! fail (see [`qalens_engine::nemesis::heal_all`], run by the runner's after-hook). Each fault applied and healed
//! is also recorded in the run's fault log ([`qalens_engine::faults`]) for the HTML timeline. Scenarios that apply faults to
//! shared components claim them (`@disrupts:db`, see `qalens_engine::scheduler`) so they run
//! alone with every scenario that uses them.
//!
//! A fault "for this scenario's requests" acts only on the HTTP requests that carry the
//! scenario's mark (its baggage, see `qalens_engine::clients::mark`) over a link, on a
//! system that propagates it; every other request on the link passes untouched.

use std::time::Duration;

use cucumber::{then, when};

use super::StepResult;
use crate::world::QaWorld;
use qalens_engine::clients::http::Target;
use qalens_engine::nemesis::{Applied, apply, running, set_link, set_scoped};
use qalens_engine::wait;
use qalens_proxy::{Fault, ScopedFault};

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

/// Puts `fault` on the scenario's own requests over the link from `from` to `to` (those
/// whose baggage names the scenario) and records it; every other request passes.
async fn scoped(
    world: &mut QaWorld,
    from: &str,
    to: &str,
    fault: ScopedFault,
    what: &str,
) -> StepResult {
    let run = world.run()?;
    let scenario = world.mark.scenario().to_string();
    let link = set_scoped(&run.context(), from, to, &scenario, fault).await?;
    let applied = Applied::Scoped { link, scenario };
    world.faults.retain(|f| *f != applied);
    if fault == ScopedFault::None {
        run.faults().healed(&applied.target());
    } else {
        run.faults().applied(
            &applied.target(),
            &format!("{what} for this scenario's requests"),
        );
        world.faults.push(applied);
    }
    Ok(())
}

#[when(expr = "the link from {word} to {word} answers {int} for this scenario's requests")]
async fn scoped_abort(world: &mut QaWorld, from: String, to: String, status: u16) -> StepResult {
    let what = format!("answers {status}");
    scoped(world, &from, &to, ScopedFault::Abort { status }, &what).await
}

#[when(expr = "the link from {word} to {word} delays this scenario's requests by {int} ms")]
async fn scoped_latency(world: &mut QaWorld, from: String, to: String, ms: u64) -> StepResult {
    let what = format!("delays the answers by {ms} ms");
    scoped(world, &from, &to, ScopedFault::Latency { ms }, &what).await
}

#[when(
    regex = r"^the link from (\S+) to (\S+) (drops|holds) the answers to this scenario's requests$"
)]
async fn scoped_answers(world: &mut QaWorld, from: String, to: String, what: String) -> StepResult {
    let fault = if what == "holds" {
        ScopedFault::HoldAnswer { ms: None }
    } else {
        ScopedFault::DropAnswer
    };
    scoped(world, &from, &to, fault, &format!("{what} the answers")).await
}

#[when(expr = "the link from {word} to {word} is healed for this scenario's requests")]
async fn scoped_heal(world: &mut QaWorld, from: String, to: String) -> StepResult {
    scoped(world, &from, &to, ScopedFault::None, "healed").await
}
