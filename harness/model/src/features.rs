//! Reading feature files: every `*.feature` under the given paths, in path order or, with
//! a seed, in a shuffled order (features, rules and scenarios) that the seed repeats.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::codegen::Regex;
use cucumber::gherkin::{self, GherkinEnv};
use cucumber::tag::Ext as _;
use futures::stream;

/// The keywords that open a block, as the English dialect spells them.
pub const BLOCKS: &[&str] = &[
    "Feature",
    "Rule",
    "Background",
    "Scenario",
    "Scenario Outline",
    "Scenario Template",
    "Example",
    "Examples",
    "Scenarios",
];

/// The step keywords.
pub const STEPS: &[&str] = &["Given", "When", "Then", "And", "But"];

/// A cucumber parser over several files or directories.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeatureFiles {
    /// Shuffle the features, rules and scenarios with this seed; `None` keeps path and
    /// file order.
    pub shuffle: Option<u64>,
}

/// Every `*.feature` file under `paths` (paths that are not directories are taken as
/// given, for the reader to refuse what is not a regular file), sorted, deduplicated.
/// Symbolic links to directories are not followed (no loops).
pub fn feature_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FeatureError> {
    let mut out = vec![];
    for p in paths {
        let refused = |message: String| FeatureError {
            at: p.display().to_string(),
            message,
        };
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => collect(p, &mut out)
                .map_err(|e| refused(format!("cannot list this directory: {e}")))?,
            Ok(_) => out.push(p.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refused("no such file or directory".into()));
            }
            Err(e) => return Err(refused(e.to_string())),
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("feature"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The most scenarios one file may expand to (its outlines' rows included), and the most
/// bytes of step text, names, doc strings and tables that expansion may make: past them
/// a file is refused with the outline's line instead of exhausting memory.
pub(crate) const MAX_EXPANDED_SCENARIOS: usize = 100_000;
/// See [`MAX_EXPANDED_SCENARIOS`]: 256 MiB.
pub(crate) const MAX_EXPANDED_BYTES: usize = 256 * 1024 * 1024;

/// A feature file that cannot be read or parsed, located: `FILE:LINE:COL: message`
/// (`FILE: message` when no line applies, as for a directory).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct FeatureError {
    /// `path:line:col`, `path:line` or `path`.
    pub at: String,
    pub message: String,
}

impl FeatureError {
    fn at(path: &Path, line: usize, col: usize, message: impl Into<String>) -> Self {
        Self {
            at: format!("{}:{line}:{col}", path.display()),
            message: message.into(),
        }
    }
}

impl From<crate::input::InputError> for FeatureError {
    fn from(e: crate::input::InputError) -> Self {
        // The reader's own text already starts with the path (and line:col).
        let text = e.to_string();
        let path = e.path().display().to_string();
        match text.strip_prefix(&path) {
            Some(rest) => {
                let (pos, message) = rest
                    .trim_start_matches(':')
                    .split_once(": ")
                    .filter(|(pos, _)| pos.split(':').all(|n| n.parse::<usize>().is_ok()))
                    .map_or((String::new(), rest.trim_start_matches(": ")), |(p, m)| {
                        (format!(":{p}"), m)
                    });
                Self {
                    at: format!("{path}{pos}"),
                    message: message.to_string(),
                }
            }
            None => Self {
                at: path,
                message: text,
            },
        }
    }
}

/// Reads `path` with the bounded reader ([`crate::input`]: regular files only, at most
/// [`crate::input::MAX_TEXT_BYTES`], a byte-order mark dropped) and parses it, outlines
/// not expanded.
pub fn parse_unexpanded(path: &Path) -> Result<(gherkin::Feature, String), FeatureError> {
    let text = crate::input::read_text(path, crate::input::MAX_TEXT_BYTES)?;
    let feature = gherkin::Feature::parse_text(text.clone(), path, GherkinEnv::default())
        .map_err(|e| parse_error(path, &text, &e))?;
    Ok((feature, text))
}

/// Parses one file and expands its scenario outlines.
pub fn parse_file(path: &Path) -> Result<gherkin::Feature, FeatureError> {
    parse_unexpanded(path).and_then(|(f, _)| expand(f))
}

/// `e` located in `text`, the contents of `path`, in words rather than parser tokens.
fn parse_error(path: &Path, text: &str, e: &gherkin::ParseFileError) -> FeatureError {
    let gherkin::ParseFileError::Parsing { error, source, .. } = e else {
        return FeatureError {
            at: path.display().to_string(),
            message: e.to_string(),
        };
    };
    let lines: Vec<&str> = text.lines().collect();
    let pos = source.position();
    match error {
        Some(gherkin::EnvError::InconsistentCellCount(rows)) => {
            // The table's first row whose cell count differs from its header's.
            let width = rows.first().map_or(0, Vec::len);
            let bad = rows.iter().position(|r| r.len() != width).unwrap_or(0);
            let line = table_row_line(&lines, pos.line, rows.len(), bad);
            FeatureError::at(
                path,
                line,
                1,
                format!(
                    "this table row has {} cell(s), its header {width}: every row needs as many cells as the header",
                    rows.get(bad).map_or(0, Vec::len)
                ),
            )
        }
        Some(gherkin::EnvError::UnsupportedLanguage(lang)) => FeatureError::at(
            path,
            1,
            1,
            format!(
                "`# language: {}` names a language Gherkin does not know",
                crate::input::shorten(lang, 40)
            ),
        ),
        _ => {
            let no_feature = !lines.iter().any(|l| {
                let t = l.trim_start();
                t.starts_with("Feature:") || t.starts_with("# language:")
            });
            if no_feature {
                return FeatureError::at(
                    path,
                    1,
                    1,
                    "no `Feature:` line: a feature file starts with `Feature: NAME` (after tags and comments)",
                );
            }
            if let Some(open) = unclosed_doc_string(&lines) {
                return FeatureError::at(
                    path,
                    open,
                    1,
                    "this doc string is never closed: end it with the same `\"\"\"` or ``` it starts with",
                );
            }
            // The parser stops where no rule could go on: on a line it cannot read, or
            // at the start of the line after it (or at the end of the file). Name the
            // line it could not read.
            let stop = pos.line.clamp(1, lines.len().max(1));
            let readable = |l: &str| {
                let t = l.trim_start();
                t.is_empty()
                    || ["#", "@", "|", "\"\"\"", "```", "*"]
                        .iter()
                        .any(|p| t.starts_with(p))
                    || t.split_once(':')
                        .is_some_and(|(k, _)| BLOCKS.contains(&k.trim()))
                    || STEPS
                        .iter()
                        .any(|k| t.strip_prefix(k).is_some_and(|r| r.starts_with(' ')))
            };
            // The line where it stopped, else the last line with text before it.
            let before = (1..stop)
                .rev()
                .find(|n| lines.get(n - 1).is_some_and(|l| !l.trim().is_empty()));
            let unreadable = std::iter::once(stop)
                .chain(before)
                .find(|n| lines.get(n - 1).is_some_and(|l| !readable(l)));
            match unreadable {
                Some(n) => {
                    let line = lines.get(n - 1).copied().unwrap_or_default();
                    let col = line.len() - line.trim_start().len() + 1;
                    FeatureError::at(
                        path,
                        n,
                        col,
                        format!(
                            "cannot read `{}` here: expected a keyword (Feature, Rule, Background, Scenario, Scenario Outline, Examples), a step (Given, When, Then, And, But), a table row, a doc string, a tag or a comment",
                            crate::input::shorten(line.trim(), 80)
                        ),
                    )
                }
                None => FeatureError::at(
                    path,
                    pos.line.max(1),
                    pos.col.max(1),
                    format!(
                        "the parser cannot go on here: {}",
                        lines
                            .get(pos.line.saturating_sub(1))
                            .map(|l| l.trim())
                            .filter(|l| !l.is_empty())
                            .map_or("the file ends where more was expected (a step or a table row)".to_string(), |l| format!(
                                "`{}` is not expected at this point (a step outside a scenario, a table or doc string with no step, or a keyword out of order)",
                                crate::input::shorten(l, 80)
                            ))
                    ),
                ),
            }
        }
    }
}

/// The line of row `bad` of a table of `count` rows that ends before line `end_line`.
fn table_row_line(lines: &[&str], end_line: usize, count: usize, bad: usize) -> usize {
    // Walk back from where the parser stopped to the table's last row, then up.
    let mut last = end_line.min(lines.len());
    while last > 0 && !lines[last - 1].trim_start().starts_with('|') {
        last -= 1;
    }
    let first = (last + 1).saturating_sub(count);
    (first + bad).max(1)
}

/// The line of a doc string opened and never closed, if any.
fn unclosed_doc_string(lines: &[&str]) -> Option<usize> {
    let mut open: Option<(usize, &str)> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let fence = ["\"\"\"", "```"].into_iter().find(|f| t.starts_with(f));
        match (open, fence) {
            (None, Some(f)) => open = Some((i + 1, f)),
            (Some((_, o)), Some(f)) if o == f => open = None,
            _ => {}
        }
    }
    open.map(|(line, _)| line)
}

/// `<name>` in an outline's text, as cucumber reads it.
fn template() -> &'static Regex {
    static TEMPLATE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"<([^>\s](?:[^>\s]?|[^>\t\n\r\x0B\f]*[^>\s]))>")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    &TEMPLATE
}

/// Expands the scenario outlines of `feature`: one scenario per row of its examples, as
/// cucumber does (the row's values in place of `<name>`, the examples' tags added, the
/// line of the row as the scenario's), in time and memory linear in the result; an
/// outline whose result would pass `MAX_EXPANDED_SCENARIOS` or `MAX_EXPANDED_BYTES`
/// is refused.
pub fn expand(mut feature: gherkin::Feature) -> Result<gherkin::Feature, FeatureError> {
    let path = feature.path.clone().unwrap_or_default();
    let mut budget = (MAX_EXPANDED_SCENARIOS, MAX_EXPANDED_BYTES);
    for rule in &mut feature.rules {
        rule.scenarios = expand_scenarios(std::mem::take(&mut rule.scenarios), &path, &mut budget)?;
    }
    feature.scenarios =
        expand_scenarios(std::mem::take(&mut feature.scenarios), &path, &mut budget)?;
    Ok(feature)
}

fn expand_scenarios(
    scenarios: Vec<gherkin::Scenario>,
    path: &Path,
    budget: &mut (usize, usize),
) -> Result<Vec<gherkin::Scenario>, FeatureError> {
    let mut out = Vec::with_capacity(scenarios.len());
    for mut scenario in scenarios {
        let examples = std::mem::take(&mut scenario.examples);
        let size = scenario_bytes(&scenario);
        if examples.is_empty() {
            take(budget, 1, 0, path, &scenario)?;
            out.push(scenario);
            continue;
        }
        for example in examples {
            let Some(table) = &example.table else {
                continue;
            };
            let Some((header, rows)) = table.rows.split_first() else {
                continue;
            };
            let columns: std::collections::HashMap<&str, usize> = header
                .iter()
                .enumerate()
                .rev()
                .map(|(i, h)| (h.as_str(), i))
                .collect();
            for (id, row) in rows.iter().enumerate() {
                let row_bytes: usize = row.iter().map(String::len).sum::<usize>()
                    + header.iter().map(String::len).sum::<usize>()
                    + example.description.as_ref().map_or(0, String::len);
                take(budget, 1, size.saturating_add(row_bytes), path, &scenario)?;
                let fill = |text: &str, at: gherkin::LineCol| -> Result<String, FeatureError> {
                    let mut filled = String::with_capacity(text.len());
                    let mut last = 0;
                    for c in template().captures_iter(text) {
                        let (Some(whole), Some(name)) = (c.get(0), c.get(1)) else {
                            continue;
                        };
                        let Some(value) = columns.get(name.as_str()).and_then(|i| row.get(*i))
                        else {
                            return Err(FeatureError::at(
                                path,
                                at.line,
                                at.col,
                                format!(
                                    "<{}> names no column of the examples at line {} (columns: {})",
                                    crate::input::shorten(name.as_str(), 60),
                                    example.position.line,
                                    crate::input::shorten(&header.join(", "), 200)
                                ),
                            ));
                        };
                        filled.push_str(&text[last..whole.start()]);
                        filled.push_str(value);
                        last = whole.end();
                    }
                    filled.push_str(&text[last..]);
                    Ok(filled)
                };
                let mut expanded = scenario.clone();
                expanded.position = example.position;
                expanded.position.line += id + 2;
                expanded.tags.extend(example.tags.iter().cloned());
                expanded.name = fill(&expanded.name, scenario.position)?;
                for step in &mut expanded.steps {
                    let at = step.position;
                    step.value = fill(&step.value, at)?;
                    if let Some(doc) = &mut step.docstring {
                        *doc = fill(doc, at)?;
                    }
                    if let Some(t) = &mut step.table {
                        for cell in t.rows.iter_mut().flatten() {
                            *cell = fill(cell, at)?;
                        }
                    }
                }
                let one = gherkin::Examples {
                    keyword: example.keyword.clone(),
                    name: example.name.clone(),
                    description: example.description.clone(),
                    table: Some(gherkin::Table {
                        rows: vec![header.clone(), row.clone()],
                        span: table.span,
                        position: table.position,
                    }),
                    tags: example.tags.clone(),
                    span: example.span,
                    position: example.position,
                };
                expanded.examples = vec![one];
                out.push(expanded);
            }
        }
    }
    Ok(out)
}

/// The bytes of text a copy of `scenario` holds (name, description, steps).
fn scenario_bytes(scenario: &gherkin::Scenario) -> usize {
    let steps: usize = scenario
        .steps
        .iter()
        .map(|s| {
            s.value.len()
                + s.docstring.as_ref().map_or(0, String::len)
                + s.table
                    .iter()
                    .flat_map(|t| t.rows.iter().flatten())
                    .map(String::len)
                    .sum::<usize>()
        })
        .sum();
    scenario.name.len() + scenario.description.as_ref().map_or(0, String::len) + steps
}

/// Takes one scenario of `bytes` from the file's expansion budget, or refuses the file
/// at `scenario`'s line.
fn take(
    budget: &mut (usize, usize),
    scenarios: usize,
    bytes: usize,
    path: &Path,
    scenario: &gherkin::Scenario,
) -> Result<(), FeatureError> {
    match (budget.0.checked_sub(scenarios), budget.1.checked_sub(bytes)) {
        (Some(s), Some(b)) => {
            *budget = (s, b);
            Ok(())
        }
        _ => Err(FeatureError::at(
            path,
            scenario.position.line,
            scenario.position.col,
            format!(
                "this file expands to more than {MAX_EXPANDED_SCENARIOS} scenarios or {} MiB of scenario text (outline rows included), the most qalens runs from one file: split it, or use fewer rows",
                MAX_EXPANDED_BYTES / (1024 * 1024)
            ),
        )),
    }
}
/// Parses every feature under `paths`.
pub fn parse_all(paths: &[PathBuf]) -> Vec<cucumber::parser::Result<gherkin::Feature>> {
    match feature_paths(paths) {
        Ok(files) => files
            .iter()
            .map(|f| parse_file(f).map_err(to_cucumber))
            .collect(),
        Err(e) => vec![Err(to_cucumber(e))],
    }
}

/// `e` as cucumber carries a parse error to its writers; [`describe_error`] gives its
/// text back.
fn to_cucumber(e: FeatureError) -> cucumber::parser::Error {
    cucumber::parser::Error::Parsing(Arc::new(gherkin::ParseFileError::Reading {
        path: PathBuf::from(&e.at),
        source: std::io::Error::other(e),
    }))
}

/// Whether a scenario's tags (its own, its rule's and its feature's) match `tags`.
pub fn matches_tags(
    tags: Option<&cucumber::gherkin::tagexpr::TagOperation>,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> bool {
    tags.is_none_or(|t| {
        t.eval(
            feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(scenario.tags.iter()),
        )
    })
}

/// SplitMix64: a small, well-mixed generator, enough to shuffle reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher-Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Shuffles the order of `features`, and of the rules and scenarios inside each, as
/// `seed` decides: the same seed gives the same order.
pub(crate) fn shuffle(features: &mut [cucumber::parser::Result<gherkin::Feature>], seed: u64) {
    let mut rng = SplitMix64(seed);
    rng.shuffle(features);
    for feature in features.iter_mut().flatten() {
        rng.shuffle(&mut feature.scenarios);
        rng.shuffle(&mut feature.rules);
        for rule in &mut feature.rules {
            rng.shuffle(&mut rule.scenarios);
        }
    }
}

impl cucumber::Parser<Vec<PathBuf>> for FeatureFiles {
    type Cli = cucumber::cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Vec<PathBuf>, _: Self::Cli) -> Self::Output {
        let mut features = parse_all(&input);
        if let Some(seed) = self.shuffle {
            shuffle(&mut features, seed);
        }
        stream::iter(features)
    }
}

/// A parse error as one line, `FILE:LINE:COL: message`.
pub fn describe_error(e: &cucumber::parser::Error) -> String {
    if let cucumber::parser::Error::Parsing(p) = e
        && let gherkin::ParseFileError::Reading { source, .. } = p.as_ref()
        && let Some(located) = source
            .get_ref()
            .and_then(|s| s.downcast_ref::<FeatureError>())
    {
        return located.to_string();
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(features: &[cucumber::parser::Result<gherkin::Feature>]) -> Vec<String> {
        features
            .iter()
            .flatten()
            .flat_map(|f| {
                f.scenarios
                    .iter()
                    .map(move |s| format!("{} / {}", f.name, s.name))
            })
            .collect()
    }

    #[test]
    fn a_seed_repeats_its_order_and_every_scenario_stays() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features");
        let path_order = names(&parse_all(std::slice::from_ref(&dir)));
        let shuffled = |seed| {
            let mut f = parse_all(std::slice::from_ref(&dir));
            shuffle(&mut f, seed);
            names(&f)
        };
        assert_eq!(shuffled(7), shuffled(7), "a seed repeats its order");
        assert_ne!(shuffled(7), shuffled(8), "another seed, another order");
        assert_ne!(shuffled(7), path_order, "the order is shuffled");
        let (mut a, mut b) = (shuffled(7), path_order.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b, "shuffling loses and repeats nothing");
    }
}
