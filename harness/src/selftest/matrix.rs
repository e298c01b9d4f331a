//! The self-test's defect-by-lens matrix as one self-contained HTML page (`qalens
//! selftest --html PATH`; the run report's style, no script, nothing loaded from the
//! network).
//!
//! Blind spots and false alarms come first; then the matrix, one row per variant (the
//! ones with a problem first), one column per lens, each cell naming the scenarios that
//! failed in it (name and `file:line`, linked to the scenario in its run's HTML report
//! when the self-test wrote one). A defect whose runs stopped at the first failing
//! scenario says so: the scenarios after it were not run.

use maud::{DOCTYPE, Markup, html};
use std::collections::BTreeSet;

use super::{Caught, Matrix, Variant};
use qalens_report::html::{CSS, page_head};

const MORE_CSS: &str = r#"
table.matrix td,table.matrix th{border:1px solid #ddd;vertical-align:top}
table.matrix td.target{background:#eef6ee}table.matrix td.missed{background:#fdecea}
table.matrix tr.problem th{color:#b3141b}
.caught{margin:.15em 0}.caught code{color:#666;font-size:.85em}
.note{color:#666;font-size:.85em}
ul.problems li{margin:.3em 0}
"#;

/// The page: see the module docs.
pub(crate) fn render(m: &Matrix) -> String {
    let verdict = if m.passed() { "passed" } else { "failed" };
    let caught = m.defects.iter().filter(|v| !v.failed.is_empty()).count();
    let lenses: BTreeSet<&str> = m
        .defects
        .iter()
        .chain(std::iter::once(&m.correct))
        .flat_map(|v| v.failed.keys().map(String::as_str).chain(v.lens.as_deref()))
        .collect();
    let mut rows: Vec<&Variant> = std::iter::once(&m.correct).chain(&m.defects).collect();
    // Problems first, in their order; then the rest, in theirs.
    rows.sort_by_key(|v| !problem(v));
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            (page_head(&format!("qalens selftest: {verdict}"), &[CSS, MORE_CSS]))
            body {
                "\n"
                h1 { "qalens selftest: " span class=(verdict) { (verdict) } }
                "\n"
                p.totals {
                    span #count-defects { (m.defects.len()) " defects" }
                    span.passed #count-caught { (caught) " caught" }
                    span.failed #count-blind { (m.blind_spots.len()) " blind spots" }
                    span.failed #count-false { (m.false_alarms.len()) " false alarms" }
                }
                "\n"
                p #mode {
                    @if m.full {
                        code { "--full" } ": every defect ran every scenario, so a cell lists \
                        every scenario of its lens that failed."
                    } @else {
                        "Early stop: each defect ran the scenarios of its own lens first and \
                        stopped at the first scenario that failed (scenarios still running were \
                        cancelled: they stopped at their next wait and healed their faults, and \
                        count as neither passed nor failed); only when none failed did the other \
                        lenses run. A caught defect shows the scenario(s) that caught it; the \
                        scenarios after them were not run, so an empty cell does not mean that \
                        lens would miss it (" code { "qalens selftest --full" } " runs them all)."
                    }
                }
                "\n"
                (problems(m))
                h2 { "Defect by lens" }
                "\n"
                table.matrix #matrix {
                    tr {
                        th { "variant" }
                        @for l in &lenses {
                            th { (l) }
                        }
                        th { "verdict" }
                    }
                    "\n"
                    @for v in rows {
                        (row(m, v, &lenses))
                        "\n"
                    }
                }
                "\n"
            }
        }
        "\n"
    }
    .into_string()
}

/// Blind spots and false alarms, or a sentence saying there are none.
fn problems(m: &Matrix) -> Markup {
    html! {
        h2 { "Blind spots and false alarms" }
        "\n"
        @if m.blind_spots.is_empty() && m.false_alarms.is_empty() {
            p id="problems" class="passed" {
                "No blind spot and no false alarm: every defect was caught and the correct \
                system passed every scenario."
            }
        } @else {
            ul id="problems" class="problems" {
                "\n"
                @for v in m.defects.iter().filter(|v| v.failed.is_empty()) {
                    li.failed {
                        b { "Blind spot" } ": " a href={ "#" (row_id(&v.name)) } { (v.name) }
                        @if let Some(l) = &v.lens { " (meant for @" (l) ")" }
                        ": none of the " (v.scenarios) " scenarios that ran failed."
                    }
                    "\n"
                }
                @for c in &m.correct.caught {
                    li.failed {
                        b { "False alarm" } ": " (caught_link(c))
                        " failed against the correct system."
                    }
                    "\n"
                }
                @if let Some(errors) = m.correct.failed.get("parse-error") {
                    @for e in errors {
                        li.failed { b { "parse-error" } ": " (e) }
                        "\n"
                    }
                }
            }
        }
        "\n"
    }
}

fn problem(v: &Variant) -> bool {
    if v.is_correct() {
        !v.failed.is_empty()
    } else {
        v.failed.is_empty()
    }
}

fn row_id(variant: &str) -> String {
    let slug: String = variant
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("variant-{slug}")
}

fn caught_link(c: &Caught) -> Markup {
    html! {
        @match &c.report {
            Some(href) => a href=(href) { (c.name) },
            None => (c.name),
        }
        " " code { (c.location) }
    }
}

/// One variant's row of `m`.
fn row(m: &Matrix, v: &Variant, lenses: &BTreeSet<&str>) -> Markup {
    // The correct system ran every scenario.
    let total = m.correct.scenarios;
    let (class, verdict) = match (v.is_correct(), v.failed.is_empty()) {
        (true, true) => ("passed", "all passed"),
        (true, false) => ("failed", "FALSE ALARM"),
        (false, true) => ("failed", "BLIND SPOT"),
        (false, false) => ("passed", "caught"),
    };
    let stopped = m.stopped_early(v) && !v.failed.is_empty() && v.scenarios < total;
    html! {
        tr id=(row_id(&v.name)) class=[problem(v).then_some("problem")] {
            th {
                (v.name)
                div.note { (v.scenarios) " scenarios ran, " (format!("{:.0}", v.seconds)) " s" }
            }
            @for l in lenses {
                @let target = v.lens.as_deref() == Some(*l);
                @let class = match (target, v.failed.contains_key(*l)) {
                    (true, true) => Some("target"),
                    (true, false) if v.failed.is_empty() => Some("missed"),
                    _ => None,
                };
                td class=[class] {
                    @for c in v.caught.iter().filter(|c| c.lens == *l) {
                        div.caught { (caught_link(c)) }
                    }
                    @if *l == "parse-error" && let Some(errors) = v.failed.get(*l) {
                        @for e in errors {
                            div.caught { (e) }
                        }
                    }
                    @if target {
                        div.note { "its lens" }
                    }
                }
            }
            td {
                span class=(class) { (verdict) }
                @if stopped {
                    div.note {
                        "stopped at the first failing scenario: " (v.scenarios) " of " (total)
                        " scenarios ran"
                        @if v.cancelled > 0 { ", " (v.cancelled) " were cancelled" }
                        ", the rest were not run"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn variant(name: &str, lens: Option<&str>, caught: &[(&str, &str, &str)]) -> Variant {
        let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (l, n, _) in caught {
            failed.entry(l.to_string()).or_default().push(n.to_string());
        }
        Variant {
            name: name.into(),
            lens: lens.map(str::to_string),
            scenarios: if caught.is_empty() || name == "correct" {
                7
            } else {
                3
            },
            failed,
            cancelled: 0,
            caught: caught
                .iter()
                .map(|(l, n, at)| Caught {
                    lens: l.to_string(),
                    name: n.to_string(),
                    location: at.to_string(),
                    report: Some(format!("selftest/{name}-1.html#scenario-x")),
                })
                .collect(),
            seconds: 3.0,
        }
    }

    fn matrix() -> Matrix {
        let correct = variant(
            "correct",
            None,
            &[("checkout", "A <flaky> one", "features/carts/a.feature:3")],
        );
        let defects = vec![
            variant(
                "racy-limiter",
                Some("rate-limit"),
                &[(
                    "rate-limit",
                    "A burst",
                    "features/rate_limit/limits.feature:37",
                )],
            ),
            variant("open-route", Some("unprotected-route"), &[]),
        ];
        Matrix {
            full: false,
            false_alarms: vec!["A <flaky> one".into()],
            blind_spots: vec!["open-route".into()],
            correct,
            defects,
        }
    }

    #[test]
    fn problems_come_first_and_each_cell_links_to_the_scenario_that_caught_the_defect() {
        let page = render(&matrix());
        let at = |needle: &str| {
            page.find(needle)
                .unwrap_or_else(|| panic!("no {needle:?} in\n{page}"))
        };
        assert!(page.contains("<span class=\"failed\" id=\"count-blind\">1 blind spots</span>"));
        assert!(page.contains("<span class=\"passed\" id=\"count-caught\">1 caught</span>"));
        // The problem list, before the matrix.
        let blind = at(
            "<b>Blind spot</b>: <a href=\"#variant-open-route\">open-route</a> (meant for @unprotected-route): none of the 7 scenarios that ran failed.",
        );
        let false_alarm = at(
            "<b>False alarm</b>: <a href=\"selftest/correct-1.html#scenario-x\">A &lt;flaky&gt; one</a> <code>features/carts/a.feature:3</code>",
        );
        let table = at("<table class=\"matrix\"");
        assert!(blind < table && false_alarm < table);
        // Rows: the problems first (the false alarm, the blind spot), then the caught.
        let rows = [
            at("<tr id=\"variant-correct\" class=\"problem\">"),
            at("<tr id=\"variant-open-route\" class=\"problem\">"),
            at("<tr id=\"variant-racy-limiter\">"),
        ];
        assert!(rows[0] < rows[1] && rows[1] < rows[2], "{rows:?}");
        // The cell that caught it: the scenario's name, linked, and its file:line.
        assert!(page.contains("<td class=\"target\"><div class=\"caught\"><a href=\"selftest/racy-limiter-1.html#scenario-x\">A burst</a> <code>features/rate_limit/limits.feature:37</code></div><div class=\"note\">its lens</div></td>"), "{page}");
        // The missed lens of the blind spot is marked.
        assert!(page.contains("<td class=\"missed\"><div class=\"note\">its lens</div></td>"));
        // Early stop is said, in the row and at the top.
        assert!(page.contains(
            "stopped at the first failing scenario: 3 of 7 scenarios ran, the rest were not run"
        ));
        assert!(page.contains("Early stop: each defect ran"));
        let m = matrix();
        assert!(m.stopped_early(&m.defects[0]) && !m.stopped_early(&m.correct));
        assert!(
            !page.contains("http://") && !page.contains("https://") && !page.contains("<script")
        );
    }

    #[test]
    fn names_errors_and_links_are_escaped() {
        const HOSTILE: &str = r#"<script>alert("x") & 'y'</script>"#;
        const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;) &amp; 'y'&lt;/script&gt;";
        let mut m = matrix();
        m.defects[0].name = format!("racy {HOSTILE}");
        let c = &mut m.defects[0].caught[0];
        c.name = format!("A burst {HOSTILE}");
        c.location = format!("f.feature:3 {HOSTILE}");
        c.report = Some(format!("r.html#{HOSTILE}"));
        m.defects[1].lens = Some(HOSTILE.into());
        m.correct.failed.insert(
            "parse-error".into(),
            vec![format!("bad.feature: {HOSTILE}")],
        );
        let page = render(&m);
        assert!(
            !page.contains("<script") && !page.contains(HOSTILE),
            "{page}"
        );
        let shown = |needle: &str| assert!(page.contains(needle), "no {needle:?} in\n{page}");
        shown(&format!(
            "<a href=\"r.html#{ESCAPED}\">A burst {ESCAPED}</a> <code>f.feature:3 {ESCAPED}</code>"
        ));
        shown(&format!("<th>racy {ESCAPED}<div class=\"note\">"));
        shown(&format!("(meant for @{ESCAPED})"));
        shown(&format!(
            "<li class=\"failed\"><b>parse-error</b>: bad.feature: {ESCAPED}</li>"
        ));
        shown(&format!(
            "<div class=\"caught\">bad.feature: {ESCAPED}</div>"
        ));
        shown(&format!("<th>{ESCAPED}</th>"));
    }

    #[test]
    fn a_full_matrix_without_problems_says_so() {
        let mut m = matrix();
        m.full = true;
        m.correct = variant("correct", None, &[]);
        m.defects.pop();
        m.false_alarms.clear();
        m.blind_spots.clear();
        let page = render(&m);
        assert!(page.contains("<title>qalens selftest: passed</title>"));
        assert!(page.contains("No blind spot and no false alarm"));
        assert!(page.contains("<code>--full</code>: every defect ran every scenario"));
        assert!(!page.contains("the rest were not run"));
    }
}
