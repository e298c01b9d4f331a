//! No run leaks a container or a network: on success, on failure, on a harness crash, on
//! SIGTERM and on SIGINT. Each test runs the real `qalens` binary against the real
//! reference system and inspects Docker by the owner label of that process; the tests
//! run two at a time ([`common::topology_slot`]), which also shows that runs on one
//! machine do not collide.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use common::*;

#[test]
fn a_passing_run_removes_everything_and_exits_0() {
    let _slot = topology_slot();
    let child = qalens(&["run", fixtures("pass").to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    assert_nothing_left(pid, &out);
}

#[test]
fn a_failing_run_removes_everything_and_exits_1() {
    let _slot = topology_slot();
    let child = qalens(&["run", fixtures("fail").to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("expected status 418, saw 201"), "{out}");
    assert_nothing_left(pid, &out);
}

#[test]
fn a_harness_crash_removes_everything_and_exits_101() {
    let _slot = topology_slot();
    let child = qalens(&["run", fixtures("pass").to_str().unwrap()])
        .env("QALENS_PANIC_AFTER_TOPOLOGY", "1")
        .spawn()
        .unwrap();
    let pid = child.id();
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(101), "{out}");
    assert!(out.contains("simulated harness crash"), "{out}");
    assert_nothing_left(pid, &out);
}

#[test]
fn sigterm_during_start_up_removes_everything_and_exits_143() {
    let _slot = topology_slot();
    let mut child = qalens(&["run", fixtures("pass").to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for_containers(&mut child, 1);
    signal(&child, "-TERM");
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(143), "{out}");
    assert_nothing_left(pid, &out);
}

#[test]
fn ctrl_c_during_a_scenario_removes_everything_and_exits_130() {
    let _slot = topology_slot();
    let mut child = qalens(&["run", fixtures("slow").to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    // The topology is up once the run says so; the scenario then watches for 60 s, so
    // the signal arrives mid-scenario (not during start-up, which has its own test).
    let output = Lines::of(&mut child);
    let seen = output.wait_for("started in", std::time::Duration::from_secs(180));
    assert!(seen, "the topology never started:\n{}", output.text());
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    let out = output.rest();
    assert!(
        !out.contains("PASS") && !out.contains("FAIL"),
        "the scenario ended before the signal:\n{out}"
    );
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(
        out.contains("interrupted; removing the topology"),
        "not the interrupt path:\n{out}"
    );
    assert_nothing_left(pid, &out);
}
