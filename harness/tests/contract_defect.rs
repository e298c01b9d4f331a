//! A producer that breaks its contract fails the end-to-end contract steps: with the
//! `renamed-field` defect, orders sends payments `amount` instead of `amount_cents`, and
//! `features/contracts` fails with the schema violation, not with an unrelated error.
//! (The consumer-side test of the same defect is reference-system/tests/contracts_broken_producer.rs.)

mod common;

use common::*;

#[test]
fn a_renamed_field_fails_the_contract_scenarios_with_the_schema_error() {
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../features/contracts");
    let child = qalens(&[
        "run",
        features.to_str().unwrap(),
        "--defect",
        "renamed-field",
    ])
    .spawn()
    .unwrap();
    let pid = child.id();
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("break ChargeRequest v1")
            && out.contains("\"amount_cents\" is a required property")
            && out.contains("'amount' was unexpected"),
        "{out}"
    );
    assert_nothing_left(pid, &out);
}
