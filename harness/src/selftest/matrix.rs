//! The self-test's defect-by-lens matrix as one self-contained HTML page (`qalens
//! selftest --html PATH`; the run report's style, no script, nothing loaded from the
//! network).
//!
//! Blind spots and false alarms come first; then the matrix, one row per variant (the
//! ones with a problem first), one column per lens, each cell naming the scenarios that
//! failed in it (name and `file:line`, linked to the scenario in its run's HTML report
//! when the self-test wrote one). A defect whose runs stopped at the first failing
//! scenario says so: the scenarios after it were not run.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{Caught, Matrix, Variant};
use qalens_report::html::{CSS, escape};

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
    let mut h = String::new();
    let verdict = if m.passed() { "passed" } else { "failed" };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>qalens selftest: {verdict}</title><style>{CSS}{MORE_CSS}</style></head><body>\n\
         <h1>qalens selftest: <span class=\"{verdict}\">{verdict}</span></h1>\n"
    );
    let caught = m.defects.iter().filter(|v| !v.failed.is_empty()).count();
    let _ = writeln!(
        h,
        "<p class=\"totals\"><span id=\"count-defects\">{} defects</span>\
         <span class=\"passed\" id=\"count-caught\">{caught} caught</span>\
         <span class=\"failed\" id=\"count-blind\">{} blind spots</span>\
         <span class=\"failed\" id=\"count-false\">{} false alarms</span></p>",
        m.defects.len(),
        m.blind_spots.len(),
        m.false_alarms.len()
    );
    let mode = if m.full {
        "<code>--full</code>: every defect ran every scenario, so a cell lists every \
         scenario of its lens that failed."
            .to_string()
    } else {
        "Early stop: each defect ran the scenarios of its own lens first and stopped at the \
         first scenario that failed (scenarios still running were cancelled: they stopped \
         at their next wait and healed their faults, and count as neither passed nor \
         failed); only when none \
         failed did the other lenses run. A caught defect shows the scenario(s) that caught \
         it; the scenarios after them were not run, so an empty cell does not mean that \
         lens would miss it (<code>qalens selftest --full</code> runs them all)."
            .to_string()
    };
    let _ = writeln!(h, "<p id=\"mode\">{mode}</p>");

    // Problems first.
    h.push_str("<h2>Blind spots and false alarms</h2>\n");
    if m.blind_spots.is_empty() && m.false_alarms.is_empty() {
        h.push_str("<p id=\"problems\" class=\"passed\">No blind spot and no false alarm: every defect was caught and the correct system passed every scenario.</p>\n");
    } else {
        h.push_str("<ul id=\"problems\" class=\"problems\">\n");
        for v in m.defects.iter().filter(|v| v.failed.is_empty()) {
            let _ = writeln!(
                h,
                "<li class=\"failed\"><b>Blind spot</b>: <a href=\"#{}\">{}</a>{}: none of the \
                 {} scenarios that ran failed.</li>",
                row_id(&v.name),
                escape(&v.name),
                v.lens
                    .as_ref()
                    .map(|l| format!(" (meant for @{})", escape(l)))
                    .unwrap_or_default(),
                v.scenarios
            );
        }
        for c in &m.correct.caught {
            let _ = writeln!(
                h,
                "<li class=\"failed\"><b>False alarm</b>: {} failed against the correct system.</li>",
                caught_link(c)
            );
        }
        for (lens, errors) in m.correct.failed.iter().filter(|(l, _)| *l == "parse-error") {
            for e in errors {
                let _ = writeln!(
                    h,
                    "<li class=\"failed\"><b>{}</b>: {}</li>",
                    escape(lens),
                    escape(e)
                );
            }
        }
        h.push_str("</ul>\n");
    }

    // The matrix.
    let lenses: BTreeSet<&str> = m
        .defects
        .iter()
        .chain(std::iter::once(&m.correct))
        .flat_map(|v| v.failed.keys().map(String::as_str).chain(v.lens.as_deref()))
        .collect();
    h.push_str(
        "<h2>Defect by lens</h2>\n<table class=\"matrix\" id=\"matrix\"><tr><th>variant</th>",
    );
    for l in &lenses {
        let _ = write!(h, "<th>{}</th>", escape(l));
    }
    h.push_str("<th>verdict</th></tr>\n");
    let mut rows: Vec<&Variant> = std::iter::once(&m.correct).chain(&m.defects).collect();
    // Problems first, in their order; then the rest, in theirs.
    rows.sort_by_key(|v| !problem(v));
    for v in rows {
        row(&mut h, m, v, &lenses);
    }
    h.push_str("</table>\n</body></html>\n");
    h
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

fn caught_link(c: &Caught) -> String {
    let name = match &c.report {
        Some(href) => format!("<a href=\"{}\">{}</a>", escape(href), escape(&c.name)),
        None => escape(&c.name),
    };
    format!("{name} <code>{}</code>", escape(&c.location))
}

/// One variant's row of `m`.
fn row(h: &mut String, m: &Matrix, v: &Variant, lenses: &BTreeSet<&str>) {
    // The correct system ran every scenario.
    let total = m.correct.scenarios;
    let verdict = match (v.is_correct(), v.failed.is_empty()) {
        (true, true) => "<span class=\"passed\">all passed</span>",
        (true, false) => "<span class=\"failed\">FALSE ALARM</span>",
        (false, true) => "<span class=\"failed\">BLIND SPOT</span>",
        (false, false) => "<span class=\"passed\">caught</span>",
    };
    let _ = write!(
        h,
        "<tr id=\"{}\"{}><th>{}<div class=\"note\">{} scenarios ran, {:.0} s</div></th>",
        row_id(&v.name),
        if problem(v) { " class=\"problem\"" } else { "" },
        escape(&v.name),
        v.scenarios,
        v.seconds
    );
    for l in lenses {
        let target = v.lens.as_deref() == Some(*l);
        let class = match (target, v.failed.contains_key(*l)) {
            (true, true) => " class=\"target\"",
            (true, false) if v.failed.is_empty() => " class=\"missed\"",
            _ => "",
        };
        let _ = write!(h, "<td{class}>");
        for c in v.caught.iter().filter(|c| c.lens == *l) {
            let _ = write!(h, "<div class=\"caught\">{}</div>", caught_link(c));
        }
        if *l == "parse-error"
            && let Some(errors) = v.failed.get(*l)
        {
            for e in errors {
                let _ = write!(h, "<div class=\"caught\">{}</div>", escape(e));
            }
        }
        if target {
            h.push_str("<div class=\"note\">its lens</div>");
        }
        h.push_str("</td>");
    }
    let note = if m.stopped_early(v) && !v.failed.is_empty() && v.scenarios < total {
        format!(
            "<div class=\"note\">stopped at the first failing scenario: {} of {total} \
             scenarios ran{}, the rest were not run</div>",
            v.scenarios,
            match v.cancelled {
                0 => String::new(),
                n => format!(", {n} were cancelled"),
            }
        )
    } else {
        String::new()
    };
    let _ = writeln!(h, "<td>{verdict}{note}</td></tr>");
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
