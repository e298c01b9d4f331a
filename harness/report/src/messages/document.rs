//! The `gherkinDocument` message of one feature file: the unexpanded AST, every node with
//! an id and a location. The gherkin parser gives no location for tags, table rows and
//! cells, so those are read from the file's text.

use cucumber::gherkin;
use serde_json::{Value, json};

use super::{AstIndex, Ids, PickleAst};

struct Doc<'a> {
    lines: Vec<&'a str>,
    ids: &'a mut Ids,
    index: &'a mut AstIndex,
}

/// The document, filling `index` with what the pickles refer to.
pub(super) fn document(
    uri: &str,
    text: &str,
    feature: &gherkin::Feature,
    ids: &mut Ids,
    index: &mut AstIndex,
) -> Value {
    let mut doc = Doc {
        lines: text.lines().collect(),
        ids,
        index,
    };
    let (feature_tags, inherited) = doc.tags(feature.position.line, &feature.tags);
    let mut children: Vec<(usize, Value)> = Vec::new();
    if let Some(b) = &feature.background {
        children.push((b.position.line, json!({"background": doc.background(b)})));
    }
    for s in &feature.scenarios {
        children.push((
            s.position.line,
            json!({"scenario": doc.scenario(s, &inherited)}),
        ));
    }
    for r in &feature.rules {
        children.push((r.position.line, json!({"rule": doc.rule(r, &inherited)})));
    }
    children.sort_by_key(|(line, _)| *line);
    json!({
        "uri": uri,
        "feature": {
            "location": location(feature.position),
            "tags": feature_tags,
            "language": "en",
            "keyword": feature.keyword,
            "name": feature.name,
            "description": feature.description.clone().unwrap_or_default(),
            "children": children.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
        },
        "comments": comments(&doc.lines),
    })
}

fn location(p: gherkin::LineCol) -> Value {
    json!({"line": p.line.max(1), "column": p.col.max(1)})
}

fn at(line: usize, column: usize) -> Value {
    json!({"line": line.max(1), "column": column.max(1)})
}

/// Every comment line outside doc strings.
fn comments(lines: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut in_docstring = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if let Some(d) = ["\"\"\"", "```"].into_iter().find(|d| t.starts_with(d)) {
            in_docstring = match in_docstring {
                Some(open) if open == d => None,
                None => Some(d),
                other => other,
            };
        } else if in_docstring.is_none() && t.starts_with('#') && !is_language_header(t) {
            out.push(json!({"location": at(i + 1, 1), "text": l}));
        }
    }
    out
}

fn is_language_header(comment: &str) -> bool {
    comment
        .trim_start_matches('#')
        .trim_start()
        .starts_with("language:")
}

/// The columns (1-based) of a table row's cells and of the row itself.
fn cell_columns(line: &str) -> (usize, Vec<usize>) {
    let chars: Vec<char> = line.chars().collect();
    let mut pipes = Vec::new();
    let mut escaped = false;
    for (i, c) in chars.iter().enumerate() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => pipes.push(i),
            _ => escaped = false,
        }
        if *c != '\\' {
            escaped = false;
        }
    }
    let row = pipes.first().map_or(1, |p| p + 1);
    let cells = pipes
        .windows(2)
        .map(|w| {
            (w[0] + 1..w[1])
                .find(|&i| !chars[i].is_whitespace())
                .unwrap_or(w[0] + 1)
                + 1
        })
        .collect();
    (row, cells)
}

impl Doc<'_> {
    fn line(&self, n: usize) -> &str {
        self.lines.get(n.wrapping_sub(1)).copied().unwrap_or("")
    }

    /// The tags written above the element on `line`, as nodes, and with the tags it
    /// inherits, as `(@name, id)` for pickles.
    fn tags(&mut self, line: usize, names: &[String]) -> (Vec<Value>, Vec<(String, String)>) {
        // (name, line, column) of every tag on the tag lines just above.
        let mut written = Vec::new();
        let mut n = line.saturating_sub(1);
        while n >= 1 {
            let l = self.line(n);
            let t = l.trim_start();
            if t.starts_with('@') {
                let mut col = 1;
                for word in l.split(' ') {
                    let start = col;
                    col += word.chars().count() + 1;
                    if word.starts_with('#') {
                        break;
                    }
                    if word.starts_with('@') {
                        written.push((word.to_string(), n, start));
                    }
                }
            } else if !t.starts_with('#') {
                break;
            }
            n -= 1;
        }
        let mut nodes = Vec::new();
        let mut pairs = Vec::new();
        for name in names {
            let name = format!("@{}", name.trim_start_matches('@'));
            let found = written.iter().position(|(w, _, _)| *w == name);
            let (l, c) = match found {
                Some(i) => {
                    let (_, l, c) = written.remove(i);
                    (l, c)
                }
                None => (line, 1),
            };
            let id = self.ids.next();
            nodes.push(json!({"location": at(l, c), "name": name, "id": id}));
            pairs.push((name, id));
        }
        (nodes, pairs)
    }

    /// A table's rows: the `|` lines from `from` on (comments skipped), one per row.
    fn rows(&mut self, from: usize, values: &[Vec<String>]) -> Vec<Value> {
        let mut out = Vec::new();
        let mut n = from;
        for row in values {
            while n <= self.lines.len() && !self.line(n).trim_start().starts_with('|') {
                n += 1;
            }
            let (row_col, cols) = cell_columns(self.line(n));
            let cells: Vec<Value> = row
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let c = cols.get(i).copied().unwrap_or(row_col);
                    json!({"location": at(n, c), "value": v})
                })
                .collect();
            out.push(json!({"id": self.ids.next(), "location": at(n, row_col), "cells": cells}));
            n += 1;
        }
        out
    }

    fn step(&mut self, s: &gherkin::Step) -> Value {
        let id = self.ids.next();
        self.index.steps.insert(s.position.line, id.clone());
        let keyword_type = match s.keyword.trim() {
            "Given" => "Context",
            "When" => "Action",
            "Then" => "Outcome",
            "And" | "But" => "Conjunction",
            _ => "Unknown",
        };
        let mut v = json!({
            "id": id,
            "location": location(s.position),
            "keyword": s.keyword,
            "keywordType": keyword_type,
            "text": s.value,
        });
        if let Some(content) = &s.docstring {
            let (n, delimiter) = (s.position.line + 1..=self.lines.len())
                .find_map(|n| {
                    let t = self.line(n).trim_start();
                    ["\"\"\"", "```"]
                        .into_iter()
                        .find(|d| t.starts_with(d))
                        .map(|d| (n, d))
                })
                .unwrap_or((s.position.line, "\"\"\""));
            let column = self.line(n).len() - self.line(n).trim_start().len() + 1;
            v["docString"] = json!({
                "location": at(n, column), "content": super::docstring(content),
                "delimiter": delimiter,
            });
        }
        if let Some(t) = &s.table {
            let rows = self.rows(s.position.line + 1, &t.rows);
            let first = rows
                .first()
                .map(|r| r["location"].clone())
                .unwrap_or(location(t.position));
            v["dataTable"] = json!({"location": first, "rows": rows});
        }
        v
    }

    fn background(&mut self, b: &gherkin::Background) -> Value {
        let id = self.ids.next();
        let steps: Vec<Value> = b.steps.iter().map(|s| self.step(s)).collect();
        json!({
            "id": id,
            "location": location(b.position),
            "keyword": b.keyword,
            "name": b.name,
            "description": b.description.clone().unwrap_or_default(),
            "steps": steps,
        })
    }

    fn rule(&mut self, r: &gherkin::Rule, inherited: &[(String, String)]) -> Value {
        let id = self.ids.next();
        let (tags, mine) = self.tags(r.position.line, &r.tags);
        let inherited: Vec<_> = inherited.iter().cloned().chain(mine).collect();
        let mut children = Vec::new();
        if let Some(b) = &r.background {
            children.push(json!({"background": self.background(b)}));
        }
        for s in &r.scenarios {
            children.push(json!({"scenario": self.scenario(s, &inherited)}));
        }
        json!({
            "id": id,
            "location": location(r.position),
            "tags": tags,
            "keyword": r.keyword,
            "name": r.name,
            "description": r.description.clone().unwrap_or_default(),
            "children": children,
        })
    }

    fn scenario(&mut self, s: &gherkin::Scenario, inherited: &[(String, String)]) -> Value {
        let id = self.ids.next();
        let (tags, mine) = self.tags(s.position.line, &s.tags);
        let inherited: Vec<_> = inherited.iter().cloned().chain(mine).collect();
        let steps: Vec<Value> = s.steps.iter().map(|st| self.step(st)).collect();
        let mut examples = Vec::new();
        for ex in &s.examples {
            let ex_id = self.ids.next();
            let (ex_tags, ex_pairs) = self.tags(ex.position.line, &ex.tags);
            let values = ex
                .table
                .as_ref()
                .map(|t| t.rows.clone())
                .unwrap_or_default();
            let mut rows = self.rows(ex.position.line + 1, &values).into_iter();
            let header = rows.next();
            let body: Vec<Value> = rows.collect();
            for (i, row) in body.iter().enumerate() {
                // Where cucumber puts an expanded outline (its records' line).
                let line = ex.position.line + i + 2;
                let row_id = row["id"].as_str().unwrap_or_default().to_string();
                self.index.pickles.insert(
                    line,
                    PickleAst {
                        ast: vec![id.clone(), row_id.clone()],
                        row: Some(row_id),
                        tags: inherited.iter().cloned().chain(ex_pairs.clone()).collect(),
                    },
                );
            }
            let mut e = json!({
                "id": ex_id,
                "location": location(ex.position),
                "tags": ex_tags,
                "keyword": ex.keyword,
                "name": ex.name.clone().unwrap_or_default(),
                "description": ex.description.clone().unwrap_or_default(),
                "tableBody": body,
            });
            if let Some(h) = header {
                e["tableHeader"] = h;
            }
            examples.push(e);
        }
        if s.examples.is_empty() {
            self.index.pickles.insert(
                s.position.line,
                PickleAst {
                    ast: vec![id.clone()],
                    row: None,
                    tags: inherited,
                },
            );
        }
        json!({
            "id": id,
            "location": location(s.position),
            "tags": tags,
            "keyword": s.keyword,
            "name": s.name,
            "description": s.description.clone().unwrap_or_default(),
            "steps": steps,
            "examples": examples,
        })
    }
}
