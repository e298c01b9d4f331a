use super::*;

fn order() -> OrderView {
    OrderView {
        id: uuid::Uuid::now_v7(),
        customer: "alice".into(),
        sku: "SKU-1".into(),
        quantity: 1,
        amount_cents: 1250,
        status: OrderStatus::Cancelled,
        reason: None,
    }
}

#[test]
fn none_or_exactly_one_record_in_the_wanted_state() {
    let o = order();
    let released = (&"r1", "RELEASED".to_string());
    let reserved = (&"r2", "RESERVED".to_string());
    assert!(one_in_state::<&str>("reservation", &o, &[], "NONE").is_ok());
    assert!(
        one_in_state(
            "reservation",
            &o,
            std::slice::from_ref(&released),
            "RELEASED"
        )
        .is_ok()
    );

    let err = one_in_state(
        "reservation",
        &o,
        std::slice::from_ref(&reserved),
        "RELEASED",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("in state RELEASED") && err.contains("r2"),
        "{err}"
    );
    let err = one_in_state("reservation", &o, std::slice::from_ref(&released), "NONE")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected no reservation"), "{err}");
    let err = one_in_state("reservation", &o, &[released.clone(), released], "RELEASED")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected one reservation"), "{err}");
    assert!(one_in_state::<&str>("charge", &o, &[], "CHARGED").is_err());
}

#[test]
fn states_are_named_as_the_contracts_serialize_them() {
    let names = state_names(&[ChargeStatus::Charged, ChargeStatus::Refunded]);
    assert_eq!(names, ["CHARGED", "REFUNDED", "NONE"]);
    assert!(check_state("REFUNDED", &names).is_ok());
    let err = check_state("refunded", &names).unwrap_err().to_string();
    assert!(err.contains("CHARGED, REFUNDED, NONE"), "{err}");
}
