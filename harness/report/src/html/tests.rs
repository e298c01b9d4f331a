use super::*;
use crate::StepRecord;

fn at(secs: f64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000) + Duration::from_secs_f64(secs)
}

fn scenario(name: &str, line: usize, from: f64, to: f64, error: Option<&str>) -> ScenarioRecord {
    ScenarioRecord {
        feature: "Feature <one>".into(),
        name: name.into(),
        path: "features/a.feature".into(),
        line,
        location: format!("features/a.feature:{line}"),
        lens: "outages".into(),
        tags: vec!["@outages".into(), "@serial".into()],
        started: at(from),
        finished: at(to),
        steps: vec![StepRecord {
            keyword: "Then ".into(),
            ty: cucumber::gherkin::StepType::Then,
            text: "the response status is 201".into(),
            line: line + 1,
            docstring: None,
            table: None,
            background: false,
            // As the recorder records it: a cancellation's error cancels the step.
            status: error.map_or(StepStatus::Passed, StepStatus::of_failure),
            started: Some(at(from)),
            duration: Duration::from_millis(250),
            error: error.map(str::to_string),
        }],
        hook_failure: None,
        logs: error.map(|_| "== logs of api\n<b>boom</b>\n".to_string()),
    }
}

fn fault(target: &str, from: f64, to: Option<f64>) -> FaultSpan {
    FaultSpan {
        target: target.into(),
        kind: "paused".into(),
        applied: at(from),
        healed: to.map(at),
    }
}

/// Text that would be markup if it were not escaped: an element, quotes that would close
/// an attribute, and an ampersand.
const HOSTILE: &str = r#"<script>alert("x") & 'y'</script>"#;
/// `HOSTILE` as it must appear in the page, in text and in (double-quoted) attributes.
const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;) &amp; 'y'&lt;/script&gt;";
/// Closes a double-quoted attribute and opens another.
const BREAKOUT: &str = r#"x" onmouseover="alert(1)"#;

#[test]
fn text_is_escaped_everywhere() {
    let info = RunInfo {
        run_id: format!("qalens-{HOSTILE}"),
        shard: Some(format!("1/2 {HOSTILE}")),
        tags: Some(format!("@serial and {HOSTILE}")),
        defects: vec![HOSTILE.into()],
        parse_errors: vec![format!("bad.feature: {HOSTILE}")],
        ..Default::default()
    };
    let mut failing = scenario(
        &format!("name {HOSTILE}"),
        3,
        0.0,
        1.0,
        Some(&format!("expected 201, seen 500: {HOSTILE}")),
    );
    failing.feature = format!("Feature {HOSTILE}");
    failing.lens = BREAKOUT.into();
    failing.tags.push(BREAKOUT.into());
    failing.steps[0].text = format!("the body is {HOSTILE}");
    failing.logs = Some(format!("== logs of api\n{HOSTILE}\n"));
    let mut hook = scenario("hook", 9, 1.0, 2.0, None);
    hook.hook_failure = Some(format!("After hook failed: {HOSTILE}"));
    let page = render(
        &info,
        &[failing, hook],
        &[FaultSpan {
            kind: HOSTILE.into(),
            ..fault(BREAKOUT, 0.2, None)
        }],
    );
    // Nothing injected: the only script element is the page's own, and no attribute was
    // closed early.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(!page.contains("onmouseover=\""), "{page}");
    assert!(!page.contains(HOSTILE));
    // Each text is there, escaped, where it belongs.
    let shown = |needle: &str| assert!(page.contains(needle), "no {needle:?} in\n{page}");
    shown(&format!(
        "<title>qalens run qalens-{ESCAPED}: failed</title>"
    ));
    shown(&format!("<code>qalens-{ESCAPED}</code>"));
    shown(&format!("<dt>shard</dt><dd>1/2 {ESCAPED}</dd>"));
    shown(&format!("<dt>tags</dt><dd>@serial and {ESCAPED}</dd>"));
    shown(&format!("<dt>defects</dt><dd>{ESCAPED}</dd>"));
    shown(&format!(
        "<pre class=\"error\">parse error: bad.feature: {ESCAPED}</pre>"
    ));
    shown(&format!(
        "</span> Feature {ESCAPED} › name {ESCAPED}<a class=\"permalink\""
    ));
    shown(&format!(">name {ESCAPED}</a>"));
    shown(&format!("<td><b>Then</b> the body is {ESCAPED}</td>"));
    shown(&format!(
        "<pre class=\"error\">expected 201, seen 500: {ESCAPED}</pre>"
    ));
    shown(&format!(
        "<pre class=\"logs\">== logs of api\n{ESCAPED}\n</pre>"
    ));
    shown(&format!(
        "<pre class=\"error\">After hook failed: {ESCAPED}</pre>"
    ));
    // In attributes, and in the filters built from them.
    let breakout = "x&quot; onmouseover=&quot;alert(1)";
    shown(&format!("data-lens=\"{breakout}\""));
    shown(&format!("data-tags=\"@outages @serial {breakout}\""));
    shown(&format!("<option>{breakout}</option>"));
    shown(&format!("value=\"{breakout}\">{breakout}</label>"));
    shown(&format!("data-fault=\"{breakout}\""));
    shown(&format!("title=\"{breakout} {ESCAPED} (never healed)\""));
    shown(&format!("<span class=\"tag\">{breakout}</span>"));
}

#[test]
fn concurrent_scenarios_get_separate_rows_and_sequential_ones_share_one() {
    // a and b overlap; c starts when a ends; d overlaps c only.
    let lanes = lanes(&[(0.0, 10.0), (5.0, 20.0), (10.0, 30.0), (21.0, 25.0)]);
    assert_eq!(lanes, vec![0, 1, 0, 1]);
    let scenarios = [
        scenario("a", 1, 0.0, 4.0, None),
        scenario("b", 2, 1.0, 3.0, None),
        scenario("c", 3, 4.0, 8.0, None),
    ];
    let tl = timeline(&scenarios, &[]);
    assert_eq!(tl.length, Duration::from_secs(8));
    assert_eq!(
        tl.scenarios[0],
        Placed {
            left: 0.0,
            width: 50.0,
            lane: 0
        }
    );
    assert_eq!(
        tl.scenarios[1],
        Placed {
            left: 12.5,
            width: 25.0,
            lane: 1
        }
    );
    assert_eq!(
        tl.scenarios[2],
        Placed {
            left: 50.0,
            width: 50.0,
            lane: 0
        }
    );
}

#[test]
fn faults_are_spans_on_the_same_axis_and_an_unhealed_one_runs_to_the_end() {
    let scenarios = [scenario("a", 1, 0.0, 10.0, None)];
    let faults = [
        fault("ledger", 2.0, Some(4.0)),
        fault("api-ledger", 3.0, None),
        fault("mailer", 5.0, Some(6.0)),
    ];
    let tl = timeline(&scenarios, &faults);
    assert_eq!(
        tl.faults[0],
        Placed {
            left: 20.0,
            width: 20.0,
            lane: 0
        }
    );
    assert_eq!(
        tl.faults[1],
        Placed {
            left: 30.0,
            width: 70.0,
            lane: 1
        }
    );
    assert_eq!(
        tl.faults[2],
        Placed {
            left: 50.0,
            width: 10.0,
            lane: 0
        }
    );
    let page = render(&RunInfo::default(), &scenarios, &faults);
    assert!(page.contains("style=\"left:20.000%;width:20.000%\" title=\"ledger paused\""));
    assert!(page.contains("title=\"api-ledger paused (never healed)\""));
    assert!(page.contains("faults applied: ledger paused at +2.00 s, healed at +4.00 s"));
}

#[test]
fn the_page_has_a_summary_and_an_anchor_per_scenario() {
    let scenarios = [
        scenario("ok", 3, 0.0, 1.0, None),
        scenario("broken", 9, 0.0, 2.0, Some("expected 201, seen 500")),
        scenario("again", 9, 2.0, 3.0, None),
    ];
    let page = render(&RunInfo::default(), &scenarios, &[]);
    assert!(page.contains("id=\"count-passed\">2 passed<"));
    assert!(page.contains("id=\"count-failed\">1 failed<"));
    assert!(page.contains("id=\"scenario-features-a-feature-3\""));
    assert!(page.contains("id=\"scenario-features-a-feature-9\""));
    assert!(page.contains("id=\"scenario-features-a-feature-9-2\""));
    assert!(page.contains("<tr><td>outages</td><td class=\"n passed\">2</td><td class=\"n failed\">1</td><td class=\"n\">4.00 s</td></tr>"), "{page}");
    assert!(page.contains("<pre class=\"error\">expected 201, seen 500</pre>"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no network"
    );
}

/// A fail-fast run's cancelled scenario is neither passed nor failed, on the page and in
/// the summary the exit code and the self-test read.
#[test]
fn a_cancelled_scenario_counts_as_neither_passed_nor_failed() {
    let cancelled = format!(
        "{} (last seen while waiting: PENDING)",
        qalens_engine::stop::CANCELLED
    );
    let scenarios = [
        scenario("ok", 3, 0.0, 1.0, None),
        scenario("broken", 9, 0.0, 2.0, Some("expected 201, seen 500")),
        scenario("stopped", 15, 0.0, 2.5, Some(&cancelled)),
    ];
    assert_eq!(scenarios[2].verdict(), Verdict::Cancelled);
    assert_eq!(scenarios[1].verdict(), Verdict::Failed);
    let mut hook = scenario("never started", 21, 0.0, 0.0, None);
    hook.hook_failure = Some(format!(
        "Before hook failed: {}",
        qalens_engine::stop::CANCELLED
    ));
    assert_eq!(hook.verdict(), Verdict::Cancelled);
    // A cancelled scenario whose faults could not be healed failed.
    let mut unhealed = scenarios[2].clone();
    unhealed.hook_failure = Some("After hook failed: the container did not start".into());
    assert_eq!(unhealed.verdict(), Verdict::Failed);

    let summary = crate::progress::Summary {
        scenarios: [&scenarios[..], &[hook]].concat(),
        parse_errors: vec![],
    };
    assert_eq!(
        (summary.passed(), summary.failed(), summary.cancelled()),
        (1, 1, 2)
    );
    assert!(
        !summary.success(),
        "a run with cancelled scenarios did not pass"
    );
    assert_eq!(summary.by_lens()[0].1, 1);
    assert_eq!(summary.by_lens()[0].2, 1);

    let page = render(&RunInfo::default(), &scenarios, &[]);
    assert!(page.contains("id=\"count-failed\">1 failed<"), "{page}");
    assert!(page.contains(">1 cancelled</span>"), "{page}");
    assert!(page.contains("<span class=\"cancelled\">CANCELLED</span> Feature"));
}
