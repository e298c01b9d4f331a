use super::*;
use crate::StepRecord;

const FEATURE: &str = "@fixture
Feature: Checkout

  @serial @checkout
  Scenario Outline: An order of <n>
    Given a free client \"alice\"
    When the client places an order for <n> of \"SKU-1\"
    Then the response status is 201

    @small
    Examples:
      | n |
      | 1 |
      | 2 |
";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn step(kw: &str, ty: StepType, text: &str, line: usize, status: StepStatus) -> StepRecord {
    StepRecord {
        keyword: kw.into(),
        ty,
        text: text.into(),
        line,
        docstring: None,
        table: None,
        background: false,
        status,
        started: (status != StepStatus::NotRun).then(|| at(line as u64)),
        duration: Duration::from_millis(500),
        error: (status == StepStatus::Failed).then(|| "expected 201, saw 500".into()),
    }
}

/// The second example row, failing at its second step.
fn record() -> ScenarioRecord {
    ScenarioRecord {
        feature: "Checkout".into(),
        name: "An order of 2".into(),
        path: "features/o.feature".into(),
        line: 14,
        location: "features/o.feature:14".into(),
        lens: "checkout".into(),
        tags: vec!["@serial".into()],
        started: at(5),
        finished: at(9),
        steps: vec![
            step(
                "Given ",
                StepType::Given,
                "a free client \"alice\"",
                6,
                StepStatus::Passed,
            ),
            step(
                "When ",
                StepType::When,
                "the client places an order for 2 of \"SKU-1\"",
                7,
                StepStatus::Failed,
            ),
            step(
                "Then ",
                StepType::Then,
                "the response status is 201",
                8,
                StepStatus::NotRun,
            ),
        ],
        hook_failure: None,
        logs: Some("== logs of api\nboom\n".into()),
    }
}

fn messages() -> Vec<Value> {
    let facts = RunFacts {
        started: at(0),
        finished: at(10),
        success: false,
        parse_errors: vec![],
    };
    let sources = BTreeMap::from([("features/o.feature".to_string(), FEATURE.to_string())]);
    let defs = [
        Definition {
            keyword: "Given".into(),
            pattern: r#"^a (free|paid) client "([^"]*)"$"#.into(),
            defined_at: "harness/src/steps/identity.rs:12".into(),
        },
        Definition {
            keyword: "Then".into(),
            pattern: r"^the response status is (\d+)$".into(),
            defined_at: "harness/src/steps/http.rs:40".into(),
        },
    ];
    render(&facts, &[record()], &sources, &defs)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn one<'a>(ms: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<_> = ms.iter().filter_map(|m| m.get(kind)).collect();
    assert_eq!(found.len(), 1, "{kind}: {found:?}");
    found[0]
}

#[test]
fn an_outline_row_is_a_pickle_pointing_at_its_row_and_steps() {
    let ms = messages();
    let doc = one(&ms, "gherkinDocument");
    let feature = &doc["feature"];
    assert_eq!(feature["tags"][0]["name"], "@fixture");
    assert_eq!(
        feature["tags"][0]["location"],
        json!({"line": 1, "column": 1})
    );
    let scenario = &feature["children"][0]["scenario"];
    assert_eq!(scenario["tags"][1]["name"], "@checkout");
    assert_eq!(
        scenario["tags"][1]["location"],
        json!({"line": 4, "column": 11})
    );
    let examples = &scenario["examples"][0];
    assert_eq!(
        examples["tableHeader"]["location"],
        json!({"line": 12, "column": 7})
    );
    let row = &examples["tableBody"][1];
    assert_eq!(row["location"]["line"], 14);
    assert_eq!(
        row["cells"][0],
        json!({"location": {"line": 14, "column": 9}, "value": "2"})
    );

    let pickle = one(&ms, "pickle");
    assert_eq!(pickle["astNodeIds"], json!([scenario["id"], row["id"]]));
    assert_eq!(pickle["location"]["line"], 14);
    let tags: Vec<&str> = pickle["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["@fixture", "@serial", "@checkout", "@small"]);
    assert_eq!(
        pickle["steps"][1]["astNodeIds"],
        json!([scenario["steps"][1]["id"], row["id"]])
    );
    assert_eq!(
        pickle["steps"][1]["text"],
        "the client places an order for 2 of \"SKU-1\""
    );
}

#[test]
fn a_failure_is_failed_then_skipped_with_the_logs_attached_to_the_failed_step() {
    let ms = messages();
    let case = one(&ms, "testCase");
    let steps = case["testSteps"].as_array().unwrap();
    // Given matched its definition (with its arguments); When matched none here.
    assert_eq!(steps[0]["stepDefinitionIds"].as_array().unwrap().len(), 1);
    assert_eq!(
        steps[0]["stepMatchArgumentsLists"][0]["stepMatchArguments"][1]["group"]["value"],
        "alice"
    );
    assert!(steps[1]["stepDefinitionIds"].as_array().unwrap().is_empty());
    let statuses: Vec<&str> = ms
        .iter()
        .filter_map(|m| m.get("testStepFinished"))
        .map(|f| f["testStepResult"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PASSED", "FAILED", "SKIPPED"]);
    let attachment = one(&ms, "attachment");
    assert_eq!(attachment["testStepId"], steps[1]["id"]);
    assert_eq!(attachment["body"], "== logs of api\nboom\n");
    assert!(ms[0].get("meta").is_some(), "meta first");
    let last = ms.last().unwrap();
    assert_eq!(last["testRunFinished"]["success"], false);
    let started = one(&ms, "testCaseStarted");
    assert_eq!(
        started["timestamp"],
        json!({"seconds": 1_000_005, "nanos": 0})
    );
}
