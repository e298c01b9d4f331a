//! Every feature file of the repository against the `refsys` binary built with this test,
//! through a `qalens` built elsewhere. This is the mutation campaign's scenario stage
//! (`ci/mutants features`): cargo-mutants rebuilds this crate with one mutation and runs
//! this test, so the binary the containers mount is the mutated one.
//!
//! Compiled only with the `scenarios` feature. It reads:
//! - `QALENS_BIN`: an absolute path to a `qalens` built from an unmutated tree (required);
//! - `QALENS_MUTANTS_ROOT`: the repository whose `features/` run (default: this crate's
//!   parent, which in cargo-mutants' scratch copy is the copy);
//! - `QALENS_DOCKER_LOCK`: when set, a file `flock` takes before the run, so a campaign
//!   in the background never shares the Docker engine with another suite;
//! - the `QALENS_*_IMAGE` variables `ci/prepare` exports.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_feature_passes_against_this_binary() {
    let qalens = std::env::var("QALENS_BIN")
        .expect("QALENS_BIN must name a qalens binary built from an unmutated tree");
    let root = std::env::var_os("QALENS_MUTANTS_ROOT").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .to_path_buf()
        },
        PathBuf::from,
    );
    let refsys = env!("CARGO_BIN_EXE_refsys");
    let mut command = match std::env::var("QALENS_DOCKER_LOCK") {
        Ok(lock) => {
            let mut flock = Command::new("flock");
            flock.arg(lock).arg(&qalens);
            flock
        }
        Err(_) => Command::new(&qalens),
    };
    // Fail fast: a caught mutant stops at its first failed scenario.
    command
        .args(["run", "--fail-fast"])
        .current_dir(&root)
        .env("QALENS_REFSYS_BIN", refsys);
    let status = command.status().unwrap();
    assert!(
        status.success(),
        "qalens run against {refsys} in {} ended with {status}",
        root.display()
    );
}
