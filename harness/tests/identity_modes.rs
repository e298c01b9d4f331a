//! Identity modes end to end, on the reference gateway alone (one replica and Redis)
//! checking RS256 tokens with a test-only public key: qalens signing RS256 tokens itself
//! (valid ones open a route; expired, wrongly signed, alg-none and tampered ones are
//! refused), and a token command (`token.sh`, signing with openssl) whose tokens the
//! gateway accepts. `qalens check` flags the hostile-token steps for the command mode,
//! with file and line, before anything starts.

mod common;

use common::*;

fn identity(name: &str) -> String {
    fixtures("identity").join(name).display().to_string()
}

fn run(system: &str, features: &str) -> String {
    let child = qalens(&["run", "--system", system, features])
        .spawn()
        .unwrap();
    let pid = child.id();
    let (status, output) = finish(child);
    assert_nothing_left(pid, &output);
    assert_eq!(status.code(), Some(0), "{output}");
    output
}

#[test]
fn qalens_signs_rs256_tokens_the_gateway_accepts_and_hostile_ones_it_refuses() {
    let output = run(&identity("rs256.yml"), &identity("features"));
    assert!(
        output.contains("7 scenario(s): 7 passed, 0 failed"),
        "{output}"
    );
    for kind in [
        "an expired token is refused",
        "a token signed with the wrong key is refused",
        "an unsigned alg-none token is refused",
        "a tampered token is refused",
        "The client's token opens a protected route",
    ] {
        let line = output.lines().find(|l| l.contains(kind));
        assert!(
            line.is_some_and(|l| l.starts_with("PASS")),
            "{kind}: {output}"
        );
    }
}

#[test]
fn a_token_command_gives_clients_tokens_and_check_flags_what_it_cannot_make() {
    let output = run(
        &identity("command.yml"),
        &identity("features/any_mode.feature"),
    );
    assert!(
        output.contains("3 scenario(s): 3 passed, 0 failed"),
        "{output}"
    );

    let out = qalens(&[
        "check",
        "--system",
        &identity("command.yml"),
        &identity("features/signed.feature"),
    ])
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let flagged: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("signed.feature:6: ") && l.contains("gets tokens from a command"))
        .collect();
    assert_eq!(flagged.len(), 4, "one per example row: {text}");
    for kind in [
        "an expired token",
        "a token signed with the wrong key",
        "an unsigned alg-none token",
        "a tampered token",
    ] {
        assert!(
            flagged
                .iter()
                .any(|l| l.contains(&format!("{kind} needs x-qalens.identity.jwt"))),
            "{kind}: {text}"
        );
    }
}
