//! `--system FILE`: a file that cannot be used is exit 2 with the file, service and key
//! named, before anything starts.

mod common;

use common::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn check_refuses_an_unsupported_key_with_exit_2_and_names_file_line_service_and_key() {
    let file = fixtures("systems/unsupported-key.yml");
    let out = qalens(&["check", "--system", file.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected = format!(
        "qalens: {}:6: service \"web\", key \"privileged\": unsupported key: unknown field \
         `privileged`, expected one of `image`,",
        file.display()
    );
    assert!(
        err.starts_with(&expected),
        "expected {expected:?}\n got {err:?}"
    );
}

#[test]
fn run_with_a_missing_image_exits_2_and_starts_nothing() {
    let file = fixtures("systems/missing-image.yml");
    let child = qalens(&[
        "run",
        "--system",
        file.to_str().unwrap(),
        fixtures("slow").to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: service \"web\", key \"image\": image qalens-no-such-image:never is not on \
             this Docker engine and cannot be pulled",
            file.display()
        )),
        "{err}"
    );
    assert!(owned_by(pid).is_empty(), "something was started:\n{err}");
}
