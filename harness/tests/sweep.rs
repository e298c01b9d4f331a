//! After SIGKILL nothing in the process can clean up; the next `qalens` sweeps the
//! leftovers. A test binary of its own, because any concurrent `qalens run` would sweep
//! them first.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use common::*;

#[test]
fn sigkill_leftovers_are_swept_by_the_next_qalens() {
    let mut child = qalens(&["run", fixtures("slow").to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for_containers(&mut child, 2);
    signal(&child, "-KILL");
    let (status, out) = finish(child);
    assert_eq!(status.code(), None, "SIGKILL leaves no exit code\n{out}");
    // Nothing could clean up: the leftovers are there...
    assert!(
        !owned_by(pid).is_empty(),
        "expected leftovers after SIGKILL\n{out}"
    );
    // ...until the next qalens sweeps them.
    let sweep = qalens(&["sweep"]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&sweep.stdout),
        String::from_utf8_lossy(&sweep.stderr)
    );
    assert!(sweep.status.success(), "{text}");
    assert_nothing_left(pid, &text);
}
