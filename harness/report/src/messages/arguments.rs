//! A step definition as Cucumber Messages describe it: its pattern (`stepDefinition`)
//! and the arguments it captures from a step's text (`stepMatchArguments`), shaped the way
//! cucumber-js writes them, which is what the official HTML formatter reads.
//!
//! cucumber-rs keeps only the regular expression a definition compiles to. A Cucumber
//! Expression (`a {word} client {string}`) compiles to one capture group per parameter,
//! except `{string}`, which becomes two named groups (`__N_0` for double quotes, `__N_1`
//! for single quotes) of which only one ever matches. One message argument per regex
//! group, as before, gave the formatter an empty argument for the unused quote style and
//! a value without its quotes, and it garbled the step's text. So each definition is
//! read once ([`Matcher::new`]):
//! - its expression source is rebuilt from the regular expression and kept only when
//!   compiling that source again gives the very same regular expression; then the
//!   pattern is a `CUCUMBER_EXPRESSION`, each argument names its parameter type, and a
//!   `{string}` argument spans the quoted text, quotes included, with the two quote
//!   styles as its children (as cucumber-js does);
//! - otherwise it is a `REGULAR_EXPRESSION`, and each capture group not nested in another
//!   is one argument, with the groups nested in it as children.

use cucumber::codegen::{Expression, Regex};
use regex_syntax::ast::{self, Ast, GroupKind, RepetitionKind, RepetitionOp};
use serde_json::{Map, Value, json};

/// A definition's pattern, compiled and read once.
#[derive(Debug)]
pub(super) struct Matcher {
    regex: Regex,
    params: Vec<Param>,
    /// The `Cucumber Expression` it was written as, if it was one.
    expression: Option<String>,
}

/// One argument of the definition.
#[derive(Debug, Clone, PartialEq)]
enum Param {
    /// A capture group (and those nested in it), with the parameter type of an
    /// expression's parameter.
    Group {
        group: Node,
        ty: Option<&'static str>,
    },
    /// An expression's `{string}`: one group per quote style, the quote not captured.
    Quoted { alternatives: Vec<usize> },
}

/// A capture group by index, with the capture groups nested in it.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    index: usize,
    children: Vec<Node>,
}

impl Matcher {
    /// `None` when `pattern` is not a regular expression the `regex` crate compiles.
    pub(super) fn new(pattern: &str) -> Option<Self> {
        let regex = Regex::new(pattern).ok()?;
        let parsed = ast::parse::Parser::new().parse(pattern).ok()?;
        if let Some((expression, params)) = as_expression(pattern, &parsed) {
            let same = Expression::regex(expression.as_str())
                .is_ok_and(|compiled| compiled.as_str() == pattern);
            if same {
                return Some(Self {
                    regex,
                    params,
                    expression: Some(expression),
                });
            }
        }
        let mut params = Vec::new();
        groups(&parsed, &mut params);
        Some(Self {
            regex,
            params: params
                .into_iter()
                .map(|group| Param::Group { group, ty: None })
                .collect(),
            expression: None,
        })
    }

    /// The `pattern` of the `stepDefinition` message.
    pub(super) fn pattern(&self) -> Value {
        match &self.expression {
            Some(source) => json!({"source": source, "type": "CUCUMBER_EXPRESSION"}),
            None => json!({"source": self.regex.as_str(), "type": "REGULAR_EXPRESSION"}),
        }
    }

    /// The `stepMatchArguments` for `text`, if the definition matches it: one per
    /// parameter, in order, each `start` counted in UTF-16 code units (JavaScript's string
    /// indices, which the formatter slices the text with).
    pub(super) fn arguments(&self, text: &str) -> Option<Value> {
        let caps = self.regex.captures(text)?;
        // Positions count UTF-16 code units, as JavaScript strings do: the formatter
        // slices the step's text at them.
        let at = |byte: usize| text[..byte].encode_utf16().count();
        let get = |i: usize| caps.get(i).map(|m| (at(m.start()), m.as_str()));
        let group_of = |node: &Node| group(&get, node);
        let args = self
            .params
            .iter()
            .map(|param| match param {
                Param::Group { group, ty } => {
                    let mut arg = json!({ "group": group_of(group) });
                    if let Some(ty) = ty {
                        arg["parameterTypeName"] = json!(ty);
                    }
                    arg
                }
                Param::Quoted { alternatives } => {
                    let children: Vec<Value> = alternatives
                        .iter()
                        .map(|&index| {
                            group_of(&Node {
                                index,
                                children: vec![],
                            })
                        })
                        .collect();
                    // The matched quote style, widened by its two quotes (one byte each).
                    let mut outer = Map::new();
                    if let Some(m) = alternatives.iter().find_map(|&i| caps.get(i)) {
                        // Widened by the two quotes, one byte and one UTF-16 unit each.
                        let (start, end) = (m.start() - 1, m.end() + 1);
                        outer.insert("start".into(), json!(at(start)));
                        outer.insert("value".into(), json!(&text[start..end]));
                    }
                    outer.insert("children".into(), Value::Array(children));
                    json!({"group": outer, "parameterTypeName": "string"})
                }
            })
            .collect();
        Some(Value::Array(args))
    }
}

/// A group as the messages write it: `start` and `value` when it took part in the match
/// (absent when not, as cucumber-js writes them), `children` when it has any.
/// `get` gives a group's start (in UTF-16 code units) and text by its index.
fn group<'t>(get: &dyn Fn(usize) -> Option<(usize, &'t str)>, node: &Node) -> Value {
    let mut out = Map::new();
    if let Some((start, value)) = get(node.index) {
        out.insert("start".into(), json!(start));
        out.insert("value".into(), json!(value));
    }
    if !node.children.is_empty() {
        let children = node.children.iter().map(|c| group(get, c)).collect();
        out.insert("children".into(), Value::Array(children));
    }
    Value::Object(out)
}

/// The capture groups of `ast` not nested in another capture group, each with those
/// nested in it.
fn groups(ast: &Ast, out: &mut Vec<Node>) {
    match ast {
        Ast::Group(g) => match capture_index(&g.kind) {
            Some(index) => {
                let mut children = Vec::new();
                groups(&g.ast, &mut children);
                out.push(Node { index, children });
            }
            None => groups(&g.ast, out),
        },
        Ast::Repetition(r) => groups(&r.ast, out),
        Ast::Alternation(a) => a.asts.iter().for_each(|a| groups(a, out)),
        Ast::Concat(c) => c.asts.iter().for_each(|a| groups(a, out)),
        _ => {}
    }
}

fn capture_index(kind: &GroupKind) -> Option<usize> {
    match kind {
        GroupKind::CaptureIndex(i) => Some(*i as usize),
        GroupKind::CaptureName { name, .. } => Some(name.index as usize),
        GroupKind::NonCapturing(_) => None,
    }
}

/// The regular expressions cucumber-rs compiles the built-in parameter types to (crate
/// `cucumber-expressions`), `{string}` aside: it is recognised by its group names.
const PARAMETERS: [(&str, &str); 4] = [
    (r"((?:-?\d+)|(?:\d+))", "int"),
    (
        r"([+-]?(?:inf|NaN|(?:\d+|\d+\.\d*|\d*\.\d+)(?:[eE][+-]?\d+)?))",
        "float",
    ),
    (r"([^\s]+)", "word"),
    (r"(.*)", ""),
];

/// The Cucumber Expression `pattern` may have been compiled from, with its parameters; a
/// guess the caller confirms by compiling it again.
fn as_expression(pattern: &str, parsed: &Ast) -> Option<(String, Vec<Param>)> {
    let items: &[Ast] = match parsed {
        Ast::Concat(c) => &c.asts,
        other => std::slice::from_ref(other),
    };
    let (first, rest) = items.split_first()?;
    let (last, middle) = rest.split_last()?;
    let anchor =
        |a: &Ast, kind: ast::AssertionKind| matches!(a, Ast::Assertion(x) if x.kind == kind);
    if !anchor(first, ast::AssertionKind::StartLine) || !anchor(last, ast::AssertionKind::EndLine) {
        return None;
    }
    let mut source = String::new();
    let mut params = Vec::new();
    for item in middle {
        match item {
            Ast::Literal(l) => push_text(&mut source, l.c),
            Ast::Repetition(r) => source.push_str(&optional(r)?),
            Ast::Group(g) => {
                let text = &pattern[g.span.start.offset..g.span.end.offset];
                if let Some(index) = capture_index(&g.kind) {
                    let (_, ty) = PARAMETERS.iter().find(|(re, _)| *re == text)?;
                    source.push_str(&format!("{{{ty}}}"));
                    params.push(Param::Group {
                        group: Node {
                            index,
                            children: vec![],
                        },
                        ty: Some(ty),
                    });
                } else if let Some(alternatives) = quoted(&g.ast) {
                    source.push_str("{string}");
                    params.push(Param::Quoted { alternatives });
                } else {
                    source.push_str(&alternation(&g.ast)?);
                }
            }
            _ => return None,
        }
    }
    Some((source, params))
}

/// Text of an expression: the characters the expression syntax gives a meaning to are
/// escaped.
fn push_text(out: &mut String, c: char) {
    if "(){}/\\".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// `(?:text)?`, an expression's optional `(text)`.
fn optional(r: &ast::Repetition) -> Option<String> {
    let RepetitionOp {
        kind: RepetitionKind::ZeroOrOne,
        ..
    } = r.op
    else {
        return None;
    };
    let Ast::Group(g) = r.ast.as_ref() else {
        return None;
    };
    if capture_index(&g.kind).is_some() || !r.greedy {
        return None;
    }
    Some(format!("({})", literal(&g.ast)?))
}

/// Literal text only.
fn literal(a: &Ast) -> Option<String> {
    let mut out = String::new();
    let items: &[Ast] = match a {
        Ast::Concat(c) => &c.asts,
        other => std::slice::from_ref(other),
    };
    for item in items {
        match item {
            Ast::Literal(l) => push_text(&mut out, l.c),
            _ => return None,
        }
    }
    Some(out)
}

/// `(?:a|b(?:c)?)`, an expression's `a/b(c)`.
fn alternation(a: &Ast) -> Option<String> {
    let Ast::Alternation(alt) = a else {
        return None;
    };
    let mut parts = Vec::new();
    for branch in &alt.asts {
        let items: &[Ast] = match branch {
            Ast::Concat(c) => &c.asts,
            other => std::slice::from_ref(other),
        };
        let mut part = String::new();
        for item in items {
            match item {
                Ast::Literal(l) => push_text(&mut part, l.c),
                Ast::Repetition(r) => part.push_str(&optional(r)?),
                _ => return None,
            }
        }
        parts.push(part);
    }
    Some(parts.join("/"))
}

/// The two capture groups of a compiled `{string}`: an alternation of `"(?P<__N_0>…)"` and
/// `'(?P<__N_1>…)'`.
fn quoted(a: &Ast) -> Option<Vec<usize>> {
    let Ast::Alternation(alt) = a else {
        return None;
    };
    let mut out = Vec::new();
    for (k, branch) in alt.asts.iter().enumerate() {
        let Ast::Concat(c) = branch else {
            return None;
        };
        let [Ast::Literal(open), Ast::Group(g), Ast::Literal(close)] = c.asts.as_slice() else {
            return None;
        };
        let GroupKind::CaptureName { name, .. } = &g.kind else {
            return None;
        };
        let quote = ['"', '\''].get(k)?;
        let (id, style) = name.name.strip_prefix("__")?.rsplit_once('_')?;
        if open.c != *quote
            || close.c != *quote
            || style != k.to_string()
            || id.parse::<u32>().is_err()
        {
            return None;
        }
        out.push(name.index as usize);
    }
    (out.len() == 2).then_some(out)
}

#[cfg(test)]
mod tests;
