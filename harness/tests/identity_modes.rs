//! Identity modes end to end, on the reference gateway alone (one replica and Redis)
//! checking RS256 tokens with a test-only public key: qalens signing RS256 tokens itself
//! (valid ones open a route; expired, wrongly signed, alg-none and tampered ones are
//! refused, and so are tokens not valid yet, issued in the future, without an expiry or
//! expiring a century ahead, with a critical header extension or a non-numeric `nbf`), and a token command (`token.sh`, signing with openssl) whose tokens the
//! gateway accepts. `qalens check` flags the hostile-token steps for the command mode,
//! with file and line, before anything starts.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

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
        output.contains("13 scenario(s): 13 passed, 0 failed"),
        "{output}"
    );
    for kind in [
        "an expired token is refused",
        "a token signed with the wrong key is refused",
        "an unsigned alg-none token is refused",
        "a tampered token is refused",
        "a token that is not valid before 1 hour from now is refused",
        "a token issued 10 years in the future is refused",
        "a token that expires in 100 years is refused",
        "a token without an expiry is refused",
        "a token whose crit header names an unknown extension is refused",
        "a token whose nbf claim is not a number is refused",
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
    assert_eq!(flagged.len(), 10, "one per example row: {text}");
    for kind in [
        "an expired token",
        "a token signed with the wrong key",
        "an unsigned alg-none token",
        "a tampered token",
        "a token that is not valid before 1 hour from now",
        "a token issued 10 years in the future",
        "a token that expires in 100 years",
        "a token without an expiry",
        "a token whose crit header names an unknown extension",
        "a token whose nbf claim is not a number",
    ] {
        assert!(
            flagged
                .iter()
                .any(|l| l.contains(&format!("{kind} needs x-qalens.identity.jwt"))),
            "{kind}: {text}"
        );
    }
}

/// `qalens token` with these arguments: its stdout, or its exit code and stderr.
fn token(args: &[&str]) -> Result<String, (Option<i32>, String)> {
    let mut cmd = qalens(&[&["token", "--client", "alice", "--tier", "paid"], args].concat());
    // rs256.yml mounts the refsys binary: any existing file will do, nothing starts.
    cmd.env("QALENS_REFSYS_BIN", env!("CARGO_BIN_EXE_qalens"));
    let out = cmd.output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim().to_string())
    } else {
        Err((
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        ))
    }
}

/// The claims of `token` if `key` (a PEM public key) verifies its RS256 signature.
fn rs256_claims(token: &str) -> serde_json::Value {
    let pem = std::fs::read(fixtures("keys").join("test-only-rs256-public.pem")).unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(&pem).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{token} is not an RS256 token of the test key: {e}"))
        .claims
}

#[test]
fn qalens_token_gives_what_the_system_files_identity_gives() {
    // RS256 with a private key file, the file's extra claims included.
    let signed = token(&["--system", &identity("rs256.yml"), "--scope", "a:read"]).unwrap();
    let claims = rs256_claims(&signed);
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert_eq!(claims["tier"], "paid", "{claims}");
    assert_eq!(claims["scope"], "a:read", "{claims}");
    assert_eq!(claims["iss"], "qalens-tests", "{claims}");
    // A token command: what it printed for this client (signed by openssl).
    let printed = token(&["--system", &identity("command.yml"), "--scope", "b:read"]).unwrap();
    let claims = rs256_claims(&printed);
    assert_eq!(
        (&claims["sub"], &claims["scope"]),
        (&"alice".into(), &"b:read".into()),
        "{claims}"
    );
    // A static token, as it is.
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/nginx-shop/qalens.yml"
    );
    assert_eq!(token(&["--system", example]).unwrap(), "shop-static-token");
    // No identity: nothing to print, exit 2 naming the file.
    let none = fixtures("systems").join("healthcheck.yml");
    let (code, stderr) = token(&["--system", &none.display().to_string()]).unwrap_err();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("healthcheck.yml has no x-qalens.identity"),
        "{stderr}"
    );
}
