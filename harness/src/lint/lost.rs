//! Text the Gherkin parser accepts but silently reads as description: a keyword spelt
//! wrong (`Scenaro:`, `Sсenario:` with a Cyrillic `с`), a step whose keyword is spelt
//! wrong (`Givn a free client "a"`), steps with no scenario above them (`Rule:` followed
//! directly by steps); and scenarios that would pass without checking anything (no
//! steps, or an outline whose examples have no rows). Each is a warning at its line.

use cucumber::gherkin;

use super::{Definition, Problem, distance};
use qalens_model::features::{BLOCKS, STEPS};
use qalens_model::input::shorten;

/// Latin look-alikes of the Cyrillic and Greek letters a keyword may be typed with.
fn latin(c: char) -> char {
    match c {
        'а' | 'α' => 'a',
        'А' | 'Α' => 'A',
        'с' | 'ϲ' => 'c',
        'С' | 'Ϲ' => 'C',
        'е' | 'ε' => 'e',
        'Е' | 'Ε' => 'E',
        'о' | 'ο' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'і' | 'ι' => 'i',
        'І' | 'Ι' => 'I',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'у' => 'y',
        'Т' | 'Τ' => 'T',
        'Н' | 'Η' => 'H',
        'В' | 'Β' => 'B',
        'М' | 'Μ' => 'M',
        'К' | 'Κ' => 'K',
        'ν' => 'v',
        'ԁ' => 'd',
        'ո' => 'n',
        'ɡ' => 'g',
        'ⅼ' => 'l',
        _ => c,
    }
}

/// Warns about the lost text and empty scenarios of `feature` (unexpanded), whose
/// source `lines` are those of `path`.
pub(super) fn check(
    path: &str,
    lines: &[&str],
    feature: &gherkin::Feature,
    defs: &[Definition],
    warnings: &mut Vec<Problem>,
) {
    let mut scenarios: Vec<&gherkin::Scenario> = feature.scenarios.iter().collect();
    for r in &feature.rules {
        scenarios.extend(&r.scenarios);
    }
    // The lines the parser read as something: keywords, steps, their doc strings and
    // tables, tags and comments. Whatever else has text is description.
    let mut read = vec![false; lines.len() + 1];
    let mut mark = |line: usize| {
        if let Some(r) = read.get_mut(line) {
            *r = true;
        }
    };
    mark(feature.position.line);
    let backgrounds = feature
        .background
        .iter()
        .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()));
    for b in backgrounds {
        mark(b.position.line);
        b.steps.iter().for_each(|s| mark(s.position.line));
    }
    for r in &feature.rules {
        mark(r.position.line);
    }
    for s in &scenarios {
        mark(s.position.line);
        s.steps.iter().for_each(|s| mark(s.position.line));
        s.examples.iter().for_each(|e| mark(e.position.line));
    }
    let mut in_doc: Option<&str> = None;
    let description_lines = lines.iter().enumerate().filter_map(|(i, line)| {
        let t = line.trim();
        if let Some(fence) = in_doc {
            if t.starts_with(fence) {
                in_doc = None;
            }
            return None;
        }
        if let Some(f) = ["\"\"\"", "```"].into_iter().find(|f| t.starts_with(f)) {
            in_doc = Some(f);
            return None;
        }
        let skip = t.is_empty()
            || t.starts_with('#')
            || t.starts_with('@')
            || t.starts_with('|')
            || read[i + 1];
        (!skip).then_some((i + 1, t))
    });
    for (line, text) in description_lines {
        if let Some(message) = lost(text, defs) {
            warnings.push(Problem {
                at: format!("{path}:{line}"),
                message,
            });
        }
    }
    // A row with more or fewer cells than its header: cells lost or values missing.
    let tables = scenarios
        .iter()
        .flat_map(|s| {
            s.examples
                .iter()
                .filter_map(|e| e.table.as_ref())
                .chain(s.steps.iter().filter_map(|st| st.table.as_ref()))
        })
        .chain(
            feature
                .background
                .iter()
                .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()))
                .flat_map(|b| b.steps.iter().filter_map(|st| st.table.as_ref())),
        );
    // Counted in the source: the parser cuts an examples row down to its header's width.
    let cells = |line: &str| {
        let t = line.trim();
        let bars = t
            .match_indices('|')
            .filter(|(i, _)| !t[..*i].ends_with('\\'))
            .count();
        bars.saturating_sub(1)
    };
    for table in tables {
        let first = table.position.line;
        let widths: Vec<usize> = (first..first + table.rows.len())
            .map(|l| lines.get(l - 1).map_or(0, |t| cells(t)))
            .collect();
        let width = widths.first().copied().unwrap_or(0);
        if let Some(bad) = widths.iter().position(|w| *w != width) {
            warnings.push(Problem {
                at: format!("{path}:{}", first + bad),
                message: format!(
                    "this table row has {} cell(s), its header {width}: every row needs as many cells as the header (extra cells are dropped)",
                    widths[bad]
                ),
            });
        }
    }
    for s in &scenarios {
        let rows: usize = s
            .examples
            .iter()
            .filter_map(|e| e.table.as_ref())
            .map(|t| t.rows.len().saturating_sub(1))
            .sum();
        let at = format!("{path}:{}", s.position.line);
        if s.steps.is_empty() {
            warnings.push(Problem {
                at,
                message: format!(
                    "scenario `{}` has no steps: it would pass without checking anything",
                    shorten(&s.name, 80)
                ),
            });
        } else if !s.examples.is_empty() && rows == 0 {
            warnings.push(Problem {
                at,
                message: format!(
                    "scenario outline `{}` has examples without rows: it would run zero times",
                    shorten(&s.name, 80)
                ),
            });
        }
    }
}

/// Why a line of description text looks lost, if it does.
fn lost(text: &str, defs: &[Definition]) -> Option<String> {
    let shown = shorten(text, 80);
    let folded: String = text.chars().map(latin).collect();
    let looks_alike = folded != text;
    // `Scenaro:`: a block keyword, misspelt or in look-alike letters, before a colon.
    if let Some((head, _)) = folded.split_once(':')
        && head.split_whitespace().count() <= 3
        && !head.trim().is_empty()
    {
        let head = head.trim();
        let near = BLOCKS.iter().find(|k| {
            let d = distance(&head.to_lowercase(), &k.to_lowercase());
            d == 0 || (d <= 1 && k.len() <= 5) || (d <= 2 && k.len() > 5)
        });
        if let Some(k) = near {
            let what = if looks_alike {
                "is written with look-alike (non-Latin) letters"
            } else if head == *k {
                "is a keyword where Gherkin does not expect one (a second `Feature:`, or a block inside description text)"
            } else {
                "looks like a misspelt keyword"
            };
            return Some(format!(
                "`{shown}` {what}: Gherkin reads it as description text, so what follows is lost; write `{k}:`"
            ));
        }
    }
    let (first, rest) = folded
        .split_once(char::is_whitespace)
        .map_or((folded.as_str(), ""), |(f, r)| (f, r.trim_start()));
    // `Given ...` in description: a step no scenario or background holds.
    if STEPS.contains(&first) || first == "*" {
        let why = if looks_alike {
            "its keyword is written with look-alike (non-Latin) letters, so it"
        } else {
            "it has no Scenario or Background above it (a `Rule:` needs a scenario before its steps), so it"
        };
        return Some(format!(
            "`{shown}` looks like a step, but {why} is read as description text and never runs"
        ));
    }
    // `Givn a free client "a"`: the rest of the line is a known step.
    if !rest.is_empty()
        && first.chars().all(char::is_alphabetic)
        && STEPS
            .iter()
            .any(|k| distance(&first.to_lowercase(), &k.to_lowercase()) <= 2)
        && defs.iter().any(|d| d.regex.is_match(rest))
    {
        return Some(format!(
            "`{shown}` looks like a step with a misspelt keyword `{first}`: it is read as description text and never runs"
        ));
    }
    None
}
