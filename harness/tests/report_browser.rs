//! The HTML report as a person sees it: a real run (one scenario that pauses a container
//! and passes, one that fails on purpose, `tests/fixtures/report`) writes the page, which
//! headless Chromium opens; the DOM it dumps after the page's scripts ran must show the
//! summary counts, the failing step's message, the component logs, and the fault as a
//! span on the timeline. The screenshot is kept in `target/qalens/report.png`.
//!
//! Needs Chromium (`ci/ensure-chromium` installs Debian's; `QALENS_CHROMIUM` names another
//! binary): without one this test fails and says how to install it.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::formatter::chromium;
use common::{fixtures, qalens};

/// Runs Chromium headless on `page` (a file URL, maybe with a query and a fragment) with
/// `extra` flags; its stdout. Killed after 90 s.
fn headless(browser: &Path, profile: &Path, page: &str, extra: &[&str]) -> String {
    let mut command = tokio::process::Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1200,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(page)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Reads both pipes while waiting (a large DOM would fill a pipe nobody reads), and
    // kills the browser (kill_on_drop) when the deadline passes.
    let out = common::runtime()
        .block_on(async {
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", browser.display()));
            tokio::time::timeout(Duration::from_secs(90), child.wait_with_output()).await
        })
        .unwrap_or_else(|_| panic!("chromium did not finish within 90 s"))
        .expect("chromium output");
    assert!(
        out.status.success(),
        "chromium failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_html_report_shows_counts_the_failure_and_the_fault_in_a_browser() {
    // Before the run: a missing browser fails at once, with the advice.
    let browser = chromium();
    let dir = std::env::temp_dir().join(format!("qalens-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");

    let run = qalens(&[
        "run",
        fixtures("report").to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "one scenario fails on purpose:\n{out}"
    );
    assert!(page.is_file(), "no report written:\n{out}");

    let url = format!("file://{}", page.display());
    let profile = dir.join("profile");
    let dom = headless(&browser, &profile, &url, &["--dump-dom"]);
    let shown = |needle: &str| {
        assert!(
            dom.contains(needle),
            "the page does not show {needle:?}; DOM:\n{dom}"
        )
    };
    // The summary counts.
    shown(r#"id="count-total">2 scenarios<"#);
    shown(r#"id="count-passed">1 passed<"#);
    shown(r#"id="count-failed">1 failed<"#);
    // The filters' script ran: it counts what is shown.
    shown(r#"id="shown">2 of 2 scenarios shown<"#);
    // The failing step, its message (expected/seen) and the component logs.
    shown(r#"<td class="st-failed">failed</td><td><b>Then</b> the response status is 418</td>"#);
    shown("expected status 418, saw 201");
    shown("<summary>component logs</summary>");
    // The step after the failure never ran.
    shown(r#"<td class="st-not-run">not run</td>"#);
    // The fault: a shaded span on the timeline, labelled with the component it touched,
    // and listed under the scenario that applied it.
    shown(r#"<div class="fault" data-fault="email""#);
    shown(r#"class="fault-label""#);
    shown(">email paused</div>");
    shown("faults applied: email paused at +");
    // Permalinks.
    let feature = fixtures("report").join("report.feature");
    let fault_anchor = qalens_report::html::anchor(&format!("{}:5", feature.display()));
    shown(&format!(r#"id="{fault_anchor}""#));
    shown(&format!(r##"href="#{fault_anchor}""##));
    // The passing scenario's steps are folded...
    let folded = format!(r#"id="{fault_anchor}""#);
    let section = &dom[dom.find(&folded).unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("<details><summary>4 steps"), "{section}");

    // ...and its permalink opens them.
    let linked = headless(
        &browser,
        &profile,
        &format!("{url}#{fault_anchor}"),
        &["--dump-dom"],
    );
    let section = &linked[linked.find(&folded).unwrap()..];
    assert!(
        section.contains(r#"<details open=""><summary>4 steps"#),
        "the permalink did not open the scenario:\n{section}"
    );

    // A filter from the URL hides the passing scenario, bar and section.
    let failed_only = headless(
        &browser,
        &profile,
        &format!("{url}?status=failed"),
        &["--dump-dom"],
    );
    assert!(
        failed_only.contains(r#"id="shown">1 of 2 scenarios shown<"#),
        "{failed_only}"
    );
    let opening_tag = |dom: &str, id: &str| -> String {
        let at = dom.find(&format!(r#"id="{id}""#)).expect("the section");
        let start = dom[..at].rfind('<').unwrap();
        dom[start..at + dom[at..].find('>').unwrap()].to_string()
    };
    let passing = opening_tag(&failed_only, &fault_anchor);
    assert!(passing.contains("display: none"), "{passing}");
    let failing_anchor = qalens_report::html::anchor(&format!("{}:12", feature.display()));
    let failing = opening_tag(&failed_only, &failing_anchor);
    assert!(!failing.contains("display: none"), "{failing}");

    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qalens");
    std::fs::create_dir_all(&target).unwrap();
    let shot = target.join("report.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &browser,
        &profile,
        &url,
        &[&format!("--screenshot={}", shot.display())],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "the screenshot {} is {size} bytes",
        shot.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
