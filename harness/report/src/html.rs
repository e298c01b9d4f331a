//! The HTML page of a run: one self-contained file (inline CSS, a little vanilla JS, no
//! network) with a summary by lens and by feature, the run's settings, a timeline of the
//! scenarios with the faults as shaded spans over it, and every scenario's steps, with
//! the error and the component logs of a failed step. Filters by lens, status and tag
//! (also from the URL: `report.html?status=failed&lens=checkout&tag=@serial`); each
//! scenario has a permalink anchor (`#scenario-...`) that opens its steps.
//!
//! The markup is written with [`maud::html!`], which escapes every value spliced into
//! text or an attribute (attributes are always double-quoted); only the page's own CSS
//! and script constants go in as [`PreEscaped`].
//!
//! [`render`] is a pure function of what the run recorded, so its unit tests need no
//! Docker and no browser; `tests/report_browser.rs` checks the page in headless Chromium.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{FaultSpan, ScenarioRecord, StepRecord, StepStatus, Verdict};

/// The run's settings, shown at the top of the page.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub run_id: String,
    /// The `--shuffle` seed, if the order was shuffled.
    pub seed: Option<u64>,
    /// `K/N` when only a shard ran.
    pub shard: Option<String>,
    /// The tag expression that selected the scenarios.
    pub tags: Option<String>,
    /// Defects of the reference system switched on for the run.
    pub defects: Vec<String>,
    /// Feature files that did not parse.
    pub parse_errors: Vec<String>,
    /// The components claims name, to tell which faults a scenario applied.
    pub components: qalens_engine::scheduler::Components,
}

/// The anchor id of a scenario: `scenario-` and its location with every character other
/// than a letter or digit turned into `-` (`features/a.feature:12` gives
/// `scenario-features-a-feature-12`).
pub fn anchor(location: &str) -> String {
    let slug: String = location
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("scenario-{slug}")
}

/// Lanes for intervals `(start, end)`: each interval gets the lowest lane whose previous
/// interval ended at or before its start, so overlapping intervals never share a lane.
pub(crate) fn lanes(intervals: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| intervals[a].0.total_cmp(&intervals[b].0));
    let mut ends: Vec<f64> = Vec::new();
    let mut lane = vec![0; intervals.len()];
    for i in order {
        let (start, end) = intervals[i];
        match ends.iter().position(|&e| e <= start) {
            Some(l) => {
                ends[l] = end;
                lane[i] = l;
            }
            None => {
                lane[i] = ends.len();
                ends.push(end);
            }
        }
    }
    lane
}

/// Where things sit on the timeline, in percent of its width.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub left: f64,
    pub width: f64,
    pub lane: usize,
}

/// The timeline's layout: scenario bars and fault spans on a shared axis from the first
/// start to the last end; a fault still in effect at the end runs to the end.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timeline {
    pub start: SystemTime,
    pub length: Duration,
    pub scenarios: Vec<Placed>,
    pub faults: Vec<Placed>,
}

pub(crate) fn timeline(scenarios: &[ScenarioRecord], faults: &[FaultSpan]) -> Timeline {
    let starts = scenarios
        .iter()
        .map(|s| s.started)
        .chain(faults.iter().map(|f| f.applied));
    let ends = scenarios
        .iter()
        .map(|s| s.finished)
        .chain(faults.iter().filter_map(|f| f.healed));
    let start = starts.min().unwrap_or(SystemTime::UNIX_EPOCH);
    let end = ends.max().unwrap_or(start).max(start);
    let length = end.duration_since(start).unwrap_or_default();
    let total = length.as_secs_f64().max(1e-3);
    let pct = |t: SystemTime| {
        (t.duration_since(start).unwrap_or_default().as_secs_f64() / total * 100.0).min(100.0)
    };
    let place = |iv: &[(f64, f64)]| -> Vec<Placed> {
        let l = lanes(iv);
        iv.iter()
            .zip(l)
            .map(|(&(a, b), lane)| Placed {
                left: a,
                width: (b - a).max(0.0),
                lane,
            })
            .collect()
    };
    let sc: Vec<(f64, f64)> = scenarios
        .iter()
        .map(|s| (pct(s.started), pct(s.finished)))
        .collect();
    let fa: Vec<(f64, f64)> = faults
        .iter()
        .map(|f| (pct(f.applied), f.healed.map_or(100.0, pct)))
        .collect();
    Timeline {
        start,
        length,
        scenarios: place(&sc),
        faults: place(&fa),
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{s:.2} s")
    }
}

fn status(s: &ScenarioRecord) -> &'static str {
    s.verdict().as_str()
}

/// The `<head>` of a qalens page: its title (escaped) and its own style sheets, which are
/// constants of this program and so go in as they are.
pub fn page_head(title: &str, styles: &[&'static str]) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { @for css in styles { (PreEscaped(*css)) } }
        }
    }
}

pub const CSS: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 3em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4em;margin:.8em 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.3em 0}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
td.n,th.n{text-align:right}.passed{color:#17702a}.failed{color:#b3141b}
.totals span{margin-right:1.2em;font-weight:600}
dl.settings{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}dl.settings dt{font-weight:600}dl.settings dd{margin:0}
.filters{position:sticky;top:0;background:#fafafa;padding:.5em 0;border-bottom:1px solid #ddd;z-index:5}
.filters label{margin-right:1em}
#timeline{position:relative;border:1px solid #ccc;background:#fff;margin:.5em 0;overflow:hidden}
.axis{position:relative;height:1.4em;border-bottom:1px solid #ddd;font-size:.8em;color:#666}
.tick{position:absolute;top:0;border-left:1px solid #ddd;padding-left:2px;height:100%}
.fault{position:absolute;top:0;bottom:0;background:rgba(230,140,0,.16);border-left:2px solid rgba(200,110,0,.8);border-right:1px dashed rgba(200,110,0,.6)}
.fault-label{position:absolute;height:1.3em;font-size:.78em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;box-sizing:border-box;color:#7a4300;padding-left:3px}
.bar{position:absolute;height:1.2em;border-radius:3px;font-size:.75em;white-space:nowrap;overflow:hidden;color:#fff;padding:0 3px;box-sizing:border-box;min-width:3px;text-decoration:none}
.bar.s-passed{background:#2e8b45}.bar.s-failed{background:#c62828}
section.scenario{background:#fff;border:1px solid #ddd;border-left:4px solid #2e8b45;margin:.6em 0;padding:.3em .8em}
section.scenario.s-failed{border-left-color:#c62828}
section.scenario:target{outline:2px solid #1565c0}
section.scenario h3{font-size:1em;margin:.3em 0}.meta{color:#666;font-size:.85em}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 4px;margin-right:3px;font-size:.85em}
table.steps td{vertical-align:top}.st-failed,.st-undefined{color:#b3141b;font-weight:600}.st-not-run,.st-cancelled{color:#888}
pre{background:#f3f3f3;padding:.5em;overflow-x:auto;white-space:pre-wrap;margin:.3em 0}
pre.error{background:#fdecea}
a.permalink{color:#999;text-decoration:none;margin-left:.4em}
"#;

const JS: &str = r#"
(function(){
  var lens=document.getElementById('f-lens'),st=document.getElementById('f-status');
  var tags=[].slice.call(document.querySelectorAll('input.f-tag'));
  var items=[].slice.call(document.querySelectorAll('[data-scenario]'));
  var shown=document.getElementById('shown');
  function apply(){
    var l=lens.value,s=st.value,t=tags.filter(function(c){return c.checked}).map(function(c){return c.value});
    var n=0,total=0;
    items.forEach(function(e){
      var mine=e.getAttribute('data-tags').split(' ');
      var ok=(l===''||e.getAttribute('data-lens')===l)&&(s===''||e.getAttribute('data-status')===s)
        &&(t.length===0||t.some(function(x){return mine.indexOf(x)>=0}));
      e.style.display=ok?'':'none';
      if(e.tagName==='SECTION'){total++;if(ok)n++;}
    });
    shown.textContent=n+' of '+total+' scenarios shown';
  }
  function reveal(){
    var id=decodeURIComponent(location.hash.slice(1));if(!id)return;
    var e=document.getElementById(id);if(!e)return;
    if(e.style.display==='none'){lens.value='';st.value='';tags.forEach(function(c){c.checked=false});apply();}
    var d=e.querySelector('details');if(d)d.open=true;e.scrollIntoView();
  }
  // Filters can be linked: ?lens=checkout&status=failed&tag=@serial
  var q=new URLSearchParams(location.search);
  if(q.has('lens'))lens.value=q.get('lens');
  if(q.has('status'))st.value=q.get('status');
  q.getAll('tag').forEach(function(v){tags.forEach(function(c){if(c.value===v)c.checked=true})});
  [lens,st].concat(tags).forEach(function(c){c.addEventListener('change',apply)});
  window.addEventListener('hashchange',reveal);
  apply();reveal();
})();
"#;

/// The page: see the module docs.
pub fn render(info: &RunInfo, scenarios: &[ScenarioRecord], faults: &[FaultSpan]) -> String {
    let count = |v: Verdict| super::count(scenarios, v);
    let (passed, failed, cancelled) = (
        count(Verdict::Passed),
        count(Verdict::Failed),
        count(Verdict::Cancelled),
    );
    let verdict =
        if passed == scenarios.len() && !scenarios.is_empty() && info.parse_errors.is_empty() {
            "passed"
        } else {
            "failed"
        };
    let tl = timeline(scenarios, faults);
    let ids = anchors(scenarios);
    let defects = if info.defects.is_empty() {
        "none (the correct system)".to_string()
    } else {
        info.defects.join(", ")
    };
    let settings = [
        ("run id", info.run_id.clone()),
        (
            "order",
            info.seed
                .map_or("file order".to_string(), |s| format!("shuffled, seed {s}")),
        ),
        (
            "shard",
            info.shard.as_deref().unwrap_or("all scenarios").to_string(),
        ),
        ("tags", info.tags.as_deref().unwrap_or("(none)").to_string()),
        ("defects", defects),
    ];
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            (page_head(&format!("qalens run {}: {verdict}", info.run_id), &[CSS]))
            body {
                "\n"
                h1 { "qalens run " code { (info.run_id) } ": " span class=(verdict) { (verdict) } }
                "\n"
                p.totals #totals {
                    span #count-total { (scenarios.len()) " scenarios" }
                    span.passed #count-passed { (passed) " passed" }
                    span.failed #count-failed { (failed) " failed" }
                    @if cancelled > 0 {
                        span #count-cancelled title="stopped by the fail-fast run's first failure" {
                            (cancelled) " cancelled"
                        }
                    }
                    span #count-faults { (faults.len()) " fault(s)" }
                    span { (secs(tl.length)) " from first start to last end" }
                }
                "\n"
                dl.settings #settings {
                    @for (k, v) in &settings {
                        dt { (k) }
                        dd { (v) }
                    }
                }
                "\n"
                @for e in &info.parse_errors {
                    pre.error { "parse error: " (e) }
                    "\n"
                }
                (summary_table("By lens", "lens", scenarios, |s| s.lens.clone()))
                (summary_table("By feature", "feature", scenarios, |s| s.feature.clone()))
                (filters(scenarios))
                (timeline_view(&tl, scenarios, faults, &ids))
                h2 { "Scenarios" }
                "\n"
                @for (s, id) in scenarios.iter().zip(&ids) {
                    (scenario(s, id, faults, &info.components))
                    "\n"
                }
                // The page's own script, a constant.
                script { (PreEscaped(JS)) }
                "\n"
            }
        }
        "\n"
    }
    .into_string()
}

/// The filters: by lens, by status and by tag.
fn filters(scenarios: &[ScenarioRecord]) -> Markup {
    let lenses: BTreeSet<&str> = scenarios.iter().map(|s| s.lens.as_str()).collect();
    let tags: BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    html! {
        div.filters {
            "Filter: "
            label {
                "lens "
                select #f-lens {
                    option value="" { "all" }
                    @for l in &lenses {
                        option { (l) }
                    }
                }
            }
            label {
                "status "
                select #f-status {
                    option value="" { "all" }
                    option { "passed" }
                    option { "failed" }
                }
            }
            " tags:"
            @for t in &tags {
                label { input type="checkbox" class="f-tag" value=(t); (t) }
            }
            " "
            span #shown {}
        }
        "\n"
    }
}

/// The timeline: an axis, the faults as shaded spans with their labels above the
/// scenarios' bars, each bar linking to its scenario.
fn timeline_view(
    tl: &Timeline,
    scenarios: &[ScenarioRecord],
    faults: &[FaultSpan],
    ids: &[String],
) -> Markup {
    const ROW: f64 = 1.5; // em
    let fault_lanes = tl.faults.iter().map(|p| p.lane + 1).max().unwrap_or(0);
    let scenario_lanes = tl.scenarios.iter().map(|p| p.lane + 1).max().unwrap_or(0);
    let fault_top = 1.6;
    let bars_top = fault_top + fault_lanes as f64 * 1.4 + 0.3;
    let height = bars_top + scenario_lanes as f64 * ROW + 0.3;
    html! {
        h2 { "Timeline" }
        "\n"
        div #timeline style={ "height:" (format!("{height:.1}")) "em" } {
            div.axis {
                @for i in 0..5u32 {
                    span.tick style={ "left:" (i * 20) "%" } {
                        (secs(tl.length.mul_f64(f64::from(i) / 5.0)))
                    }
                }
            }
            @for (f, p) in faults.iter().zip(&tl.faults) {
                @let label = format!("{} {}", f.target, f.kind);
                @let title = if f.healed.is_some() {
                    label.clone()
                } else {
                    format!("{label} (never healed)")
                };
                @let left = format!("{:.3}", p.left);
                div.fault data-fault=(f.target)
                    style={ "left:" (left) "%;width:" (format!("{:.3}", p.width)) "%" }
                    title=(title) {}
                // At least a few characters of the label on a very short span.
                div.fault-label
                    style={
                        "left:" (left) "%;max-width:" (format!("{:.3}", p.width.max(6.0)))
                        "%;top:" (format!("{:.1}", fault_top + p.lane as f64 * 1.4)) "em"
                    }
                    title=(title) { (label) }
            }
            @for ((s, p), id) in scenarios.iter().zip(&tl.scenarios).zip(ids) {
                a class={ "bar s-" (status(s)) } href={ "#" (id) } data-scenario
                    data-lens=(s.lens) data-status=(status(s)) data-tags=(s.tags.join(" "))
                    style={
                        "left:" (format!("{:.3}", p.left)) "%;width:" (format!("{:.3}", p.width))
                        "%;top:" (format!("{:.1}", bars_top + p.lane as f64 * ROW)) "em"
                    }
                    title={
                        (s.feature) " › " (s.name) " (" (status(s)) ", " (secs(s.duration())) ")"
                    } { (s.name) }
            }
        }
        "\n"
    }
}

/// Anchor ids, unique even when two scenarios share a location (outline examples).
fn anchors(scenarios: &[ScenarioRecord]) -> Vec<String> {
    let mut seen = HashSet::new();
    scenarios
        .iter()
        .map(|s| {
            let base = anchor(&s.location);
            let mut id = base.clone();
            let mut n = 1;
            while !seen.insert(id.clone()) {
                n += 1;
                id = format!("{base}-{n}");
            }
            id
        })
        .collect()
}

fn summary_table(
    title: &str,
    column: &str,
    scenarios: &[ScenarioRecord],
    by: impl Fn(&ScenarioRecord) -> String,
) -> Markup {
    html! {
        h2 { (title) }
        "\n"
        table.summary id={ "by-" (column) } {
            tr {
                th { (column) }
                th.n { "passed" }
                th.n { "failed" }
                th.n { "time" }
            }
            @for (k, (p, f, d)) in super::tally(scenarios, by) {
                tr {
                    td { (k) }
                    td class="n passed" { (p) }
                    td class={ "n" @if f > 0 { " failed" } } { (f) }
                    td.n { (secs(d)) }
                }
            }
        }
        "\n"
    }
}

/// A scenario's section: its heading, where and when it ran, the faults it applied and
/// its steps (folded when it passed), with a failed step's error and component logs.
fn scenario(
    s: &ScenarioRecord,
    id: &str,
    faults: &[FaultSpan],
    components: &qalens_engine::scheduler::Components,
) -> Markup {
    let verdict = s.verdict();
    let st = verdict.as_str();
    // The faults applied while it ran on what it disrupts: a disruptor of a component
    // runs alone with everything that uses it ([`qalens_engine::scheduler`]), so it applied them.
    let claim = components.claim_or_everything(s.tags.iter());
    let mine: Vec<String> = faults
        .iter()
        .filter(|f| f.applied >= s.started && f.applied <= s.finished)
        .filter(|f| claim.disrupts.covers(&components.service_of(&f.target)))
        .map(|f| {
            let from = f.applied.duration_since(s.started).unwrap_or_default();
            let to = f
                .healed
                .and_then(|t| t.duration_since(s.started).ok())
                .map_or("never healed".to_string(), |d| {
                    format!("healed at +{}", secs(d))
                });
            format!("{} {} at +{}, {to}", f.target, f.kind, secs(from))
        })
        .collect();
    html! {
        section class={ "scenario s-" (st) } id=(id) data-scenario
            data-lens=(s.lens) data-status=(st) data-tags=(s.tags.join(" ")) {
            h3 {
                span class=(st) { (crate::progress::mark(verdict)) }
                " " (s.feature) " › " (s.name)
                a.permalink href={ "#" (id) } title="permalink" { "#" }
            }
            div.meta {
                (s.location) " · lens " (s.lens) " · " (secs(s.duration())) " · "
                @for t in &s.tags {
                    span.tag { (t) }
                }
            }
            @if !mine.is_empty() {
                div.meta { "faults applied: " (mine.join("; ")) }
            }
            details open[verdict != Verdict::Passed] {
                summary { (s.steps.len()) " steps" }
                table.steps {
                    @for step in &s.steps {
                        (step_rows(s, step))
                    }
                }
                @if let Some(e) = &s.hook_failure {
                    pre.error { (e) }
                    @if let Some(logs) = &s.logs {
                        pre.logs { (logs) }
                    }
                }
            }
        }
    }
}

/// A step's row, and a row under it with its error and, for the failed step, the
/// component logs attached to its scenario `s`.
fn step_rows(s: &ScenarioRecord, step: &StepRecord) -> Markup {
    html! {
        tr.step {
            td class={ "st-" (step.status.as_str().replace(' ', "-")) } {
                (step.status.as_str())
            }
            td {
                @if step.background { "(background) " }
                b { (step.keyword.trim()) }
                " " (step.text)
            }
            td.n {
                @if step.status != StepStatus::NotRun { (secs(step.duration)) }
            }
        }
        @if let Some(e) = &step.error {
            tr {
                td {}
                td colspan="2" {
                    pre.error { (e) }
                    @if let (StepStatus::Failed, Some(logs)) = (step.status, &s.logs) {
                        details open {
                            summary { "component logs" }
                            pre.logs { (logs) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
