//! Cucumber Messages as a person sees them in the official Cucumber HTML formatter
//! (`@cucumber/html-formatter`, the library pipeline cucumber-js uses), opened in headless
//! Chromium: shared by the messages test and the full-suite `features` target.
//!
//! [`render`] runs `formatter.mjs` beside this file (Node.js) on an NDJSON file and reads
//! back what the page shows of each test case; [`compare`] checks that against the
//! messages: every pickle is shown, and each step's text, as the page shows it after its
//! keyword, is the pickle step's text. A step whose arguments the formatter cannot place
//! shows doubled or missing text, which is what this catches; the schema does not.
//!
//! The formatter and puppeteer-core come from `ci/ensure-report-readers` (npm, pinned,
//! into `target/`), which [`readers`] runs; Chromium from `ci/ensure-chromium`
//! (`QALENS_CHROMIUM` names another binary).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The directory `ci/ensure-report-readers` installed the readers into (it installs them
/// when missing, and does nothing otherwise); panics with its advice when it cannot.
pub fn readers() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("ci/ensure-report-readers"))
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .expect("running ci/ensure-report-readers");
    assert!(
        out.status.success(),
        "the report readers (the Cucumber HTML formatter, puppeteer-core, the JUnit schema, \
         xmllint) are missing and ci/ensure-report-readers could not install them:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root.join(String::from_utf8_lossy(&out.stdout).trim())
}

/// Chromium: `QALENS_CHROMIUM`, else `chromium` (or `chromium-browser`, `google-chrome`)
/// on PATH; panics with how to install one.
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("QALENS_CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "QALENS_CHROMIUM={} is not a file; unset it to use `chromium` from PATH \
             (install it with `ci/ensure-chromium`)",
            p.display()
        );
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "this test opens a report in headless Chromium and found none on PATH.\n\
         Install it with `ci/ensure-chromium` (Debian, as root: `apt-get install -y chromium`),\n\
         or set QALENS_CHROMIUM to a Chromium or Chrome binary."
    );
}

/// One test case as the page shows it.
#[derive(Debug, Clone)]
pub struct ShownCase {
    /// The id of the heading above it: the scenario's AST node, or the example row's.
    pub ast_node_id: String,
    /// Per step: status, keyword, and the text after the keyword.
    pub steps: Vec<(String, String, String)>,
}

/// Renders `ndjson` with the official formatter into `html` and reads the page back in
/// headless Chromium (profile in `profile`, made fresh). Panics when Node.js or the
/// browser fails, or after 180 s.
pub fn render(ndjson: &Path, html: &Path, profile: &Path) -> Vec<ShownCase> {
    let readers = readers();
    let browser = chromium();
    let _ = std::fs::remove_dir_all(profile);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/formatter.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .args([
            readers.as_os_str(),
            ndjson.as_os_str(),
            html.as_os_str(),
            browser.as_os_str(),
            profile.as_os_str(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting node ({e}): Node.js 18 or later runs the Cucumber HTML formatter")
        });
    // Both pipes are read while the process runs (a full pipe would stall it).
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the HTML formatter and Chromium did not finish within 180 s:\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "{} failed ({status}):\n{err}",
        script.display()
    );
    let shown: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{} printed no JSON ({e}):\n{out}\n{err}", script.display()));
    shown["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| ShownCase {
            ast_node_id: c["astNodeId"].as_str().unwrap_or("").to_string(),
            steps: c["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| {
                    let field = |k: &str| s[k].as_str().unwrap_or("").to_string();
                    (field("status"), field("keyword"), field("text"))
                })
                .collect(),
        })
        .collect()
}

/// What [`compare`] found.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Pickles, and those the page shows.
    pub scenarios: usize,
    pub scenarios_shown: usize,
    /// Pickle steps, and those the page shows with their exact text.
    pub steps: usize,
    pub steps_intact: usize,
    /// Every difference, one line each (`URI:LINE: ...`).
    pub problems: Vec<String>,
}

/// Compares what the page shows with the messages it was rendered from.
pub fn compare(messages: &[Value], shown: &[ShownCase]) -> Comparison {
    let mut by_ast: HashMap<&str, &ShownCase> = HashMap::new();
    for case in shown {
        by_ast.insert(case.ast_node_id.as_str(), case);
    }
    let mut cases_of: HashMap<&str, &Value> = HashMap::new();
    for case in messages.iter().filter_map(|m| m.get("testCase")) {
        cases_of.insert(case["pickleId"].as_str().unwrap_or(""), case);
    }
    let mut out = Comparison::default();
    for pickle in messages.iter().filter_map(|m| m.get("pickle")) {
        let at = format!(
            "{}:{}: {:?}",
            pickle["uri"].as_str().unwrap_or("?"),
            pickle["location"]["line"],
            pickle["name"].as_str().unwrap_or("")
        );
        let texts: HashMap<&str, &str> = pickle["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["id"].as_str().unwrap_or(""),
                    s["text"].as_str().unwrap_or(""),
                )
            })
            .collect();
        out.scenarios += 1;
        out.steps += texts.len();
        let ast = pickle["astNodeIds"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(case) = by_ast.get(ast) else {
            out.problems.push(format!("{at}: not shown"));
            continue;
        };
        out.scenarios_shown += 1;
        // The test case's steps in order: a pickle step's text, or None for a hook.
        let expected: Vec<Option<&str>> = cases_of
            .get(pickle["id"].as_str().unwrap_or(""))
            .and_then(|c| c["testSteps"].as_array())
            .into_iter()
            .flatten()
            .map(|s| {
                s["pickleStepId"]
                    .as_str()
                    .and_then(|id| texts.get(id).copied())
            })
            .collect();
        let steps_only: Vec<Option<&str>> =
            expected.iter().copied().filter(Option::is_some).collect();
        let expected = if case.steps.len() == expected.len() {
            expected
        } else if case.steps.len() == steps_only.len() {
            steps_only
        } else {
            out.problems.push(format!(
                "{at}: shows {} step(s), the test case has {} ({} of them steps)",
                case.steps.len(),
                expected.len(),
                steps_only.len()
            ));
            continue;
        };
        for (i, ((_, keyword, text), want)) in case.steps.iter().zip(&expected).enumerate() {
            let Some(want) = want else { continue };
            if text == want {
                out.steps_intact += 1;
            } else {
                out.problems.push(format!(
                    "{at}: step {}: shows `{}{text}`, the step is `{want}`",
                    i + 1,
                    keyword
                ));
            }
        }
    }
    out
}
