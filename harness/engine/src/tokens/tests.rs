use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::command::{COMMAND_DEADLINE, TokenCommand};
use super::*;

fn keys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/keys")
}

fn who() -> Who<'static> {
    Who {
        client: "alice-s1",
        tier: Tier::Paid,
        scope: "items:read limited:read",
    }
}

fn jwt_issuer(alg: JwtAlg, key: &str) -> Issuer {
    let mut claims = BTreeMap::new();
    claims.insert("aud".to_string(), Value::from("shop"));
    claims.insert("name".to_string(), Value::from("user {client} ({tier})"));
    let identity = Identity {
        jwt: Some(qalens_model::system::Jwt {
            alg,
            secret: None,
            private_key: Some(PathBuf::from(key)),
            claims,
        }),
        token: None,
        command: None,
        scopes: vec![],
    };
    Issuer::from_system(Some(&identity), &keys(), Path::new("shop.yml")).unwrap()
}

fn token_of(header: &str) -> &str {
    header.strip_prefix("Bearer ").expect("a bearer header")
}

fn verify(token: &str, alg: Algorithm, public: &str) -> Result<Value, String> {
    let pem = std::fs::read(keys().join(public)).unwrap();
    let key = match alg {
        Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
        _ => DecodingKey::from_ec_pem(&pem),
    }
    .unwrap();
    let mut v = Validation::new(alg);
    v.set_audience(&["shop"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

#[test]
fn rs256_and_es256_tokens_verify_with_the_matching_public_key_only() {
    for (alg, jalg, private, public, other) in [
        (
            JwtAlg::RS256,
            Algorithm::RS256,
            "test-only-rs256-private.pem",
            "test-only-rs256-public.pem",
            "test-only-es256-public.pem",
        ),
        (
            JwtAlg::ES256,
            Algorithm::ES256,
            "test-only-es256-private.pem",
            "test-only-es256-public.pem",
            "test-only-rs256-public.pem",
        ),
    ] {
        let issuer = jwt_issuer(alg, private);
        let valid = issuer.fetched(&who(), now() + 60).unwrap().unwrap();
        let claims = verify(token_of(&valid), jalg, public).unwrap();
        assert_eq!(claims["sub"], "alice-s1");
        assert_eq!(claims["tier"], "paid");
        assert_eq!(claims["scope"], "items:read limited:read");
        assert_eq!(
            claims["name"], "user alice-s1 (paid)",
            "placeholders are filled"
        );
        // Another key of another kind cannot even be used for this algorithm.
        let pem = std::fs::read(keys().join(other)).unwrap();
        let mismatched = match jalg {
            Algorithm::RS256 => DecodingKey::from_ec_pem(&pem),
            _ => DecodingKey::from_rsa_pem(&pem),
        }
        .unwrap();
        assert!(
            jsonwebtoken::decode::<Value>(token_of(&valid), &mismatched, &Validation::new(jalg))
                .is_err()
        );
        // Signed by another key of the same kind: refused by the system's public key.
        let wrong = issuer.abused(&who(), Abuse::WrongKey, 60).unwrap();
        let e = verify(token_of(&wrong), jalg, public).unwrap_err();
        assert!(e.contains("InvalidSignature"), "{alg:?}: {e}");
        let expired = issuer
            .abused(&who(), Abuse::ExpiredAt(now() - 120), 60)
            .unwrap();
        let e = verify(token_of(&expired), jalg, public).unwrap_err();
        assert!(e.contains("ExpiredSignature"), "{alg:?}: {e}");
        let tampered = issuer.abused(&who(), Abuse::Tampered, 60).unwrap();
        let e = verify(token_of(&tampered), jalg, public).unwrap_err();
        assert!(e.contains("InvalidSignature"), "{alg:?}: {e}");
        let none = issuer.abused(&who(), Abuse::AlgNone, 60).unwrap();
        assert!(verify(token_of(&none), jalg, public).is_err());
        assert!(token_of(&none).ends_with('.'), "no signature: {none}");
    }
}

#[test]
fn hs256_tokens_are_what_the_reference_gateway_accepts() {
    let issuer = Issuer::hs256("s3cret");
    // The gateway's reading: HS256 only, expired from `exp` on, the tier in lowercase.
    let key = DecodingKey::from_secret(b"s3cret");
    let mut gateway = Validation::new(Algorithm::HS256);
    gateway.leeway = 0;
    let verify = |token: &str| jsonwebtoken::decode::<Value>(token, &key, &gateway);
    let valid = issuer.fetched(&who(), now() + 60).unwrap().unwrap();
    let claims = verify(token_of(&valid)).unwrap().claims;
    assert_eq!(
        (&claims["sub"], &claims["tier"]),
        (&"alice-s1".into(), &"paid".into())
    );
    assert_eq!(claims["scope"], "items:read limited:read");
    for abuse in [
        Abuse::WrongKey,
        Abuse::AlgNone,
        Abuse::Tampered,
        Abuse::ExpiredAt(now() - 1),
    ] {
        let bad = issuer.abused(&who(), abuse, 60).unwrap();
        assert!(verify(token_of(&bad)).is_err(), "{abuse:?} was accepted");
    }
    let tampered = issuer.abused(&who(), Abuse::Tampered, 60).unwrap();
    let claims = token_of(&tampered).split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["scope"], "admin items:read limited:read");
}

#[test]
fn a_key_file_that_is_not_the_algorithms_key_is_refused_naming_it() {
    let identity = |alg, key: &str| Identity {
        jwt: Some(qalens_model::system::Jwt {
            alg,
            secret: None,
            private_key: Some(PathBuf::from(key)),
            claims: BTreeMap::new(),
        }),
        token: None,
        command: None,
        scopes: vec![],
    };
    for (alg, key) in [
        (JwtAlg::RS256, "test-only-es256-private.pem"),
        (JwtAlg::ES256, "test-only-rs256-private.pem"),
        (JwtAlg::RS256, "test-only-rs256-public.pem"),
    ] {
        let e = Issuer::from_system(Some(&identity(alg, key)), &keys(), Path::new("f.yml"))
            .err()
            .unwrap_or_else(|| panic!("{alg:?} took {key}"))
            .to_string();
        assert!(e.contains(key) && e.contains("private key"), "{e}");
    }
}

#[test]
fn a_static_token_or_a_command_cannot_make_hostile_tokens_and_says_why() {
    let fixed = Identity {
        jwt: None,
        token: Some("t0ken".into()),
        command: None,
        scopes: vec![],
    };
    let issuer = Issuer::from_system(Some(&fixed), Path::new("."), Path::new("shop.yml")).unwrap();
    assert_eq!(
        issuer.fetched(&who(), 0).unwrap().as_deref(),
        Some("Bearer t0ken")
    );
    let e = issuer
        .abused(&who(), Abuse::ExpiredAt(1), 60)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("shop.yml")
            && e.contains("an expired token")
            && e.contains("x-qalens.identity.jwt"),
        "{e}"
    );
    let anonymous = Issuer::from_system(None, Path::new("."), Path::new("f.yml")).unwrap();
    assert_eq!(anonymous.fetched(&who(), 0).unwrap(), None);
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into(), "token-cmd".into()]
}

#[tokio::test]
async fn the_command_prints_a_token_per_client_from_placeholders_and_environment() {
    let dir = std::env::temp_dir().join(format!("qalens-tok-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // It runs in the system file's directory, once per client, tier and scope.
    let mut argv = sh(
        "echo run >> runs.log; printf '%s|%s' \"$2\" \"$QALENS_SCOPE\" > scope.txt; \
         printf '  tok.%s.%s.%s  \\n' \"$1\" \"$QALENS_CLIENT\" \"$QALENS_TIER\"",
    );
    argv.push("{client}/{tier}".into());
    argv.push("{scope}".into());
    let identity = Identity {
        jwt: None,
        token: None,
        command: Some(argv),
        scopes: vec![],
    };
    let issuer = Issuer::from_system(Some(&identity), &dir, Path::new("f.yml")).unwrap();
    // The path for callers that cannot wait never runs the command.
    let e = issuer.fetched(&who(), 0).unwrap_err().to_string();
    assert!(
        e.contains("no token was fetched yet for client alice-s1") && e.contains("f.yml"),
        "{e}"
    );
    assert!(!dir.join("runs.log").exists(), "fetched ran the command");
    let token = issuer.valid(&who(), 0).await.unwrap().unwrap();
    assert_eq!(token, "Bearer tok.alice-s1/paid.alice-s1.paid");
    let scope = std::fs::read_to_string(dir.join("scope.txt")).unwrap();
    assert_eq!(scope, "items:read limited:read|items:read limited:read");
    assert_eq!(issuer.valid(&who(), 0).await.unwrap().unwrap(), token);
    assert_eq!(issuer.fetched(&who(), 0).unwrap().unwrap(), token);
    let runs = std::fs::read_to_string(dir.join("runs.log")).unwrap();
    assert_eq!(runs.lines().count(), 1, "the token is kept: {runs}");
    let bob = Who {
        client: "bob",
        ..who()
    };
    assert!(
        issuer
            .valid(&bob, 0)
            .await
            .unwrap()
            .unwrap()
            .contains("bob")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failing_silent_or_slow_command_is_an_error_naming_it_and_its_stderr() {
    async fn run(script: &str, deadline: Duration) -> String {
        TokenCommand::with_deadline(sh(script), PathBuf::from("."), deadline)
            .token(&who(), "shop.yml")
            .await
            .unwrap_err()
            .to_string()
    }
    let e = run("echo 'no such user' >&2; exit 3", COMMAND_DEADLINE).await;
    assert!(
        e.contains("identity command `sh -c")
            && e.contains("shop.yml")
            && e.contains("exit status: 3")
            && e.contains("no such user")
            && e.contains("alice-s1"),
        "{e}"
    );
    let e = run("echo '   '", COMMAND_DEADLINE).await;
    assert!(
        e.contains("printed no token") && e.contains("stderr was empty"),
        "{e}"
    );
    let e = run("exec sleep 30", Duration::from_millis(300)).await;
    assert!(e.contains("did not finish within 0.3 s"), "{e}");
    let e = TokenCommand::new(vec!["/nonexistent/qalens-token".into()], PathBuf::from("."))
        .token(&who(), "shop.yml")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("could not start"), "{e}");
}

/// On a single-threaded runtime, the command runs while other tasks go on: this command
/// waits (5 s at most) for a file that only another future on the same thread creates. A
/// command that blocked the thread would never see it and fail.
#[tokio::test(flavor = "current_thread")]
async fn the_command_leaves_the_runtime_thread_free_while_it_runs() {
    let dir = std::env::temp_dir().join(format!("qalens-tok-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let command = TokenCommand::with_deadline(
        sh(
            "i=0; while [ ! -e go ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; \
            [ -e go ] || { echo 'go never appeared' >&2; exit 1; }; echo tok.$QALENS_CLIENT",
        ),
        dir.clone(),
        Duration::from_secs(20),
    );
    let go = dir.join("go");
    let alice = who();
    let (token, ()) = tokio::join!(command.token(&alice, "f.yml"), async {
        tokio::task::yield_now().await;
        std::fs::write(&go, "").unwrap();
    });
    assert_eq!(token.unwrap(), "tok.alice-s1");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_scope_but_leaves_out_the_routes_own_and_no_near_miss_of_it() {
    let all: BTreeSet<&str> = ["items:read", "items:write", "admin"].into();
    let scope = every_scope_but(&all, "items:write");
    let granted: BTreeSet<&str> = scope.split(' ').collect();
    // No `items:writex` or `items:writ`: a token of the path-confusion sweep that a
    // substring comparison lets through would blame the paths for the scopes' fault.
    assert_eq!(granted, ["admin", "items:read"].into());
    // A route opened by several scopes: the token holds none of them.
    assert_eq!(every_scope_but(&all, "admin items:read"), "items:write");
}

#[test]
fn near_misses_of_a_scope_are_cut_and_extended_and_never_real_scopes() {
    let all: BTreeSet<&str> = ["admin", "items:read", "items:rea"].into();
    assert_eq!(near_misses_of(&all, "admin"), "admi adminx");
    // `items:rea` is a real scope of the table: not a near miss.
    assert_eq!(near_misses_of(&all, "items:read"), "items:readx");
    // A one-letter scope has no empty near miss.
    assert_eq!(near_misses_of(&all, "a"), "ax");
}

/// The header and claims of a token, as JSON.
fn parts(header: &str) -> (Value, Value) {
    let mut segments = token_of(header).split('.');
    let mut json = || {
        let bytes = URL_SAFE_NO_PAD.decode(segments.next().unwrap()).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    (json(), json())
}

#[test]
fn hostile_claims_and_headers_are_signed_by_the_systems_key_for_every_algorithm() {
    let at = now() + 3600;
    let signed = |issuer: &Issuer, check: &dyn Fn(&str) -> Result<(), String>| {
        for abuse in [
            Abuse::NotBefore(at),
            Abuse::IssuedAt(at),
            Abuse::ExpiresAt(at),
            Abuse::NoExpiry,
            Abuse::CriticalExtension,
            Abuse::NotANumber(TimeClaim::Nbf),
            Abuse::NotANumber(TimeClaim::Iat),
            Abuse::NotANumber(TimeClaim::Exp),
        ] {
            let token = issuer.abused(&who(), abuse, 60).unwrap();
            let (header, claims) = parts(&token);
            // Only what the abuse changes is changed.
            assert_eq!(claims["sub"], "alice-s1", "{abuse:?}");
            assert_eq!(claims["scope"], "items:read limited:read", "{abuse:?}");
            match abuse {
                Abuse::NotBefore(t) => assert_eq!(claims["nbf"], t),
                Abuse::IssuedAt(t) => assert_eq!(claims["iat"], t),
                Abuse::ExpiresAt(t) => assert_eq!(claims["exp"], t),
                Abuse::NoExpiry => assert!(claims.get("exp").is_none(), "{claims}"),
                Abuse::CriticalExtension => {
                    assert_eq!(header["crit"], serde_json::json!([UNKNOWN_EXTENSION]));
                    assert_eq!(header[UNKNOWN_EXTENSION], true);
                }
                Abuse::NotANumber(c) => assert_eq!(claims[c.name()], "garbage"),
                _ => unreachable!(),
            }
            if !matches!(abuse, Abuse::CriticalExtension) {
                assert!(header.get("crit").is_none(), "{abuse:?}: {header}");
            }
            check(token_of(&token)).unwrap_or_else(|e| panic!("{abuse:?}: {e}"));
        }
    };
    // HS256: the signature is the secret's (the claims are left to the verifier).
    let hs = Issuer::hs256("s3cret");
    let secret = DecodingKey::from_secret(b"s3cret");
    signed(&hs, &|t| {
        let (input, signature) = t.rsplit_once('.').unwrap();
        jsonwebtoken::crypto::verify(signature, input.as_bytes(), &secret, Algorithm::HS256)
            .map_err(|e| e.to_string())?
            .then_some(())
            .ok_or_else(|| "bad signature".to_string())
    });
    for (alg, jalg, private, public) in [
        (
            JwtAlg::RS256,
            Algorithm::RS256,
            "test-only-rs256-private.pem",
            "test-only-rs256-public.pem",
        ),
        (
            JwtAlg::ES256,
            Algorithm::ES256,
            "test-only-es256-private.pem",
            "test-only-es256-public.pem",
        ),
    ] {
        let issuer = jwt_issuer(alg, private);
        let pem = std::fs::read(keys().join(public)).unwrap();
        let key = match jalg {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
            _ => DecodingKey::from_ec_pem(&pem),
        }
        .unwrap();
        signed(&issuer, &|t| {
            let (header, _) = parts(&format!("Bearer {t}"));
            assert_eq!(header["alg"], format!("{jalg:?}"));
            let (input, signature) = t.rsplit_once('.').unwrap();
            jsonwebtoken::crypto::verify(signature, input.as_bytes(), &key, jalg)
                .map_err(|e| e.to_string())?
                .then_some(())
                .ok_or_else(|| "bad signature".to_string())
        });
    }
    // A static token cannot make them, and says so.
    let fixed = Identity {
        jwt: None,
        token: Some("t0ken".into()),
        command: None,
        scopes: vec![],
    };
    let issuer = Issuer::from_system(Some(&fixed), Path::new("."), Path::new("shop.yml")).unwrap();
    let e = issuer
        .abused(&who(), Abuse::NoExpiry, 60)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("without an expiry") && e.contains("x-qalens.identity.jwt"),
        "{e}"
    );
}

#[test]
fn a_presented_token_is_decoded_for_failure_messages() {
    let issuer = Issuer::hs256("s3cret");
    let token = issuer.abused(&who(), Abuse::NotBefore(42), 60).unwrap();
    let shown = decoded(&token).unwrap();
    assert!(
        shown.starts_with(r#"header {"alg":"HS256","typ":"JWT"}, claims {"#)
            && shown.contains(r#""nbf":42"#),
        "{shown}"
    );
    assert_eq!(decoded("Bearer not.a-jwt"), None);
    assert_eq!(decoded("Basic abc"), None);
}

/// A front door that pins clients by their Authorization header must see one token per
/// client: the token a client presents stays the same across seconds (a token signed
/// per request changed with its `exp` every second), until it nearly expires.
#[test]
fn a_client_presents_one_token_for_its_lifetime() {
    let issuer = Issuer::hs256("s3cret");
    let first = issuer.presented(&who()).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(issuer.presented(&who()).unwrap().unwrap(), first);
    let claims = parts(&first).1;
    assert!(
        claims["exp"].as_u64().unwrap() >= now() + TOKEN_TTL - 5,
        "{claims}"
    );
    // A clone of the issuer (each scenario's context holds one) keeps the same token.
    assert_eq!(issuer.clone().presented(&who()).unwrap().unwrap(), first);

    // Another scope is another token; asked again, the same one.
    let narrow = Who {
        scope: "items:read",
        ..who()
    };
    let other = issuer.presented(&narrow).unwrap().unwrap();
    assert_ne!(other, first);
    assert_eq!(issuer.presented(&narrow).unwrap().unwrap(), other);

    // A kept token within RENEW_BEFORE of its expiry is signed again.
    let Mode::Jwt(signer) = &issuer.mode else {
        unreachable!("an HS256 issuer signs")
    };
    for (_, exp) in signer.kept.lock().unwrap().values_mut() {
        *exp = now() + RENEW_BEFORE - 1;
    }
    let renewed = issuer.presented(&who()).unwrap().unwrap();
    assert_ne!(renewed, first);
    assert_eq!(issuer.presented(&who()).unwrap().unwrap(), renewed);

    // A static token is the same token anyway.
    let fixed = Issuer::from_system(
        Some(&Identity {
            jwt: None,
            token: Some("t0k".into()),
            command: None,
            scopes: vec![],
        }),
        Path::new("."),
        Path::new("shop.yml"),
    )
    .unwrap();
    assert_eq!(
        fixed.presented(&who()).unwrap().as_deref(),
        Some("Bearer t0k")
    );
}

/// A wrong secret passes every hostile-token scenario and fails only the positive
/// controls with a bare 401: the hint says what to check and what the token carried.
#[test]
fn a_refused_valid_token_names_the_identity_to_check_and_its_claims() {
    let issuer = Issuer::hs256("s3cret");
    let token = issuer.presented(&who()).unwrap().unwrap();
    let hint = issuer.refused_hint(&token).unwrap();
    for part in [
        "the gateway refused (401) a valid token qalens signed with x-qalens.identity",
        "the secret or key, alg HS256, and the issuer and audience claims",
        "the token carried header {\"alg\":\"HS256\",\"typ\":\"JWT\"}, claims {",
        "\"sub\":\"alice-s1\"",
    ] {
        assert!(hint.contains(part), "no {part:?} in {hint}");
    }
    let fixed = Issuer::from_system(
        Some(&Identity {
            jwt: None,
            token: Some("t0k".into()),
            command: None,
            scopes: vec![],
        }),
        Path::new("."),
        Path::new("shop.yml"),
    )
    .unwrap();
    let hint = fixed.refused_hint("Bearer t0k").unwrap();
    assert!(
        hint.contains("the static token of x-qalens.identity.token in shop.yml"),
        "{hint}"
    );
    let anonymous = Issuer::from_system(None, Path::new("."), Path::new("shop.yml")).unwrap();
    assert_eq!(anonymous.refused_hint("Bearer x"), None);
}
