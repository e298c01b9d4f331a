use super::*;
use qalens_engine::scheduler::Components;
use qalens_report::{StepRecord, StepStatus};
use std::time::{Duration, SystemTime};

fn record(name: &str, lens: &str, tags: &[&str], secs: u64, error: Option<&str>) -> ScenarioRecord {
    let at = SystemTime::UNIX_EPOCH;
    ScenarioRecord {
        feature: "F".into(),
        name: name.into(),
        path: "features/x.feature".into(),
        line: 3 + secs as usize,
        location: format!("features/x.feature:{}", 3 + secs),
        lens: lens.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        started: at,
        finished: at + Duration::from_secs(secs),
        steps: vec![StepRecord {
            keyword: "Then ".into(),
            ty: cucumber::gherkin::StepType::Then,
            text: "it holds".into(),
            line: 4,
            docstring: None,
            table: None,
            background: false,
            status: error.map_or(StepStatus::Passed, StepStatus::of_failure),
            started: Some(at),
            duration: Duration::ZERO,
            error: error.map(str::to_string),
        }],
        hook_failure: None,
        logs: None,
    }
}

fn phase(scenarios: Vec<ScenarioRecord>) -> Phase {
    Phase {
        summary: Summary {
            scenarios,
            parse_errors: vec![],
        },
        report: None,
    }
}

#[test]
fn the_canary_is_the_widest_passing_claim_that_disrupts_nothing() {
    let correct = Summary {
        scenarios: vec![
            record(
                "disruptor",
                "checkout",
                &[
                    "@checkout",
                    "@uses:gateway,redis,rabbitmq",
                    "@disrupts:redis",
                ],
                1,
                None,
            ),
            record("serial", "checkout", &["@checkout", "@serial"], 1, None),
            record(
                "slow and wide",
                "checkout",
                &["@checkout", "@uses:gateway,redis,rabbitmq"],
                5,
                None,
            ),
            record(
                "quick and wide",
                "checkout",
                &["@checkout", "@uses:gateway,redis", "@uses:rabbitmq"],
                2,
                None,
            ),
            record(
                "narrow",
                "security",
                &["@security", "@uses:gateway"],
                0,
                None,
            ),
            record("unclaimed", "security", &["@security"], 0, None),
            // A claim the scheduler cannot read claims everything: it disrupts.
            record(
                "malformed",
                "checkout",
                &["@checkout", "@uses:gateway,redis,rabbitmq,nosuch"],
                0,
                None,
            ),
            // As wide and quicker, but it failed.
            record(
                "failed",
                "checkout",
                &["@checkout", "@uses:gateway,redis,rabbitmq"],
                1,
                Some("boom"),
            ),
        ],
        parse_errors: vec![],
    };
    let c = canary(&reference_components(), &correct).unwrap();
    assert_eq!(
        (c.name.as_str(), c.key.as_str()),
        ("quick and wide", "features/x.feature:5")
    );
    let others = Summary {
        scenarios: vec![
            record("unclaimed", "security", &["@security"], 1, None),
            record("quicker", "security", &["@security"], 0, None),
        ],
        parse_errors: vec![],
    };
    assert_eq!(
        canary(&reference_components(), &others).unwrap().name,
        "quicker"
    );
}

#[test]
fn only_a_disruptor_stopped_halfway_leaves_the_system_to_settle() {
    let cancelled = format!("{} (last seen: PENDING)", qalens_engine::stop::CANCELLED);
    let disrupts = ["@outages", "@disrupts:redis"];
    // A disruptor that passed ran its recovery checks.
    assert!(!left_unsettled(
        &reference_components(),
        &[phase(vec![record("a", "o", &disrupts, 1, None)])]
    ));
    // One that failed or was cancelled halfway did not.
    assert!(left_unsettled(
        &reference_components(),
        &[phase(vec![record("a", "o", &disrupts, 1, Some("503"))])]
    ));
    assert!(left_unsettled(
        &reference_components(),
        &[phase(vec![record(
            "a",
            "o",
            &["@serial"],
            1,
            Some(&cancelled)
        )])]
    ));
    // One cancelled before it started touched nothing; nor did a failed mere user.
    let mut never = record("a", "o", &disrupts, 0, None);
    never.hook_failure = Some(format!(
        "Before hook failed: {}",
        qalens_engine::stop::CANCELLED
    ));
    assert!(!left_unsettled(
        &reference_components(),
        &[phase(vec![never])]
    ));
    assert!(!left_unsettled(
        &reference_components(),
        &[phase(vec![record(
            "a",
            "o",
            &["@uses:redis"],
            1,
            Some("x")
        )])]
    ));
}

#[test]
fn a_defect_runs_its_lens_first_then_the_rest_each_stopping_at_a_failure() {
    let options = RunOptions::new(vec![PathBuf::from("features")]);
    let p = phases(&options, Some("rate-limit"), false);
    let tags: Vec<_> = p.iter().map(|o| o.tags.clone().unwrap()).collect();
    assert_eq!(tags, ["@rate-limit", "not @rate-limit"]);
    assert!(p.iter().all(|o| o.fail_fast));
    for t in &tags {
        runner::parse_tags(t).unwrap();
    }

    let narrowed = RunOptions {
        tags: Some("@checkout or @rate-limit".into()),
        ..options.clone()
    };
    let p = phases(&narrowed, Some("rate-limit"), false);
    assert_eq!(
        p[1].tags.as_deref(),
        Some("(@checkout or @rate-limit) and (not @rate-limit)")
    );
    runner::parse_tags(p[1].tags.as_deref().unwrap()).unwrap();

    let p = phases(&options, Some("rate-limit"), true);
    assert_eq!(p.len(), 1);
    assert!(!p[0].fail_fast && p[0].tags.is_none());
    let p = phases(&options, None, false);
    assert_eq!(p.len(), 1);
    assert!(p[0].fail_fast && p[0].tags.is_none());
}

/// The components of the reference system, as claims name them.
fn reference_components() -> Components {
    Components::of(&qalens_model::system::System::reference().unwrap())
}
