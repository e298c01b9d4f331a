//! The YAML layer of the system file, made total: a linear pre-scan refuses characters YAML
//! forbids and nesting deeper than [`MAX_DEPTH`] before the parser sees the text (libyaml's
//! scanner costs quadratic time on deep flow nesting, and a deep document is no Compose
//! file); a strict pass then names duplicate keys and unknown tags at their own line and
//! column; [`locate`] finds the line and column of a key path (`services.web.volumes[0]`)
//! for errors found after parsing. Also used for the OpenAPI documents the file names.

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, EnumAccess, IgnoredAny, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// The deepest nesting of mappings and lists accepted (a Compose file needs about ten).
pub(crate) const MAX_DEPTH: usize = 64;

/// A problem with its 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Refuses what the YAML parser should never see: a character YAML does not allow (NUL,
/// other control characters) and nesting deeper than [`MAX_DEPTH`]. Linear in the text.
pub(crate) fn prescan(text: &str) -> Result<(), Located> {
    for (n, line) in text.split('\n').enumerate() {
        for (col, c) in line.chars().enumerate() {
            if !allowed(c) {
                return Err(Located {
                    line: n + 1,
                    column: col + 1,
                    message: format!(
                        "the control character {c:?} is not allowed in YAML; remove it"
                    ),
                });
            }
        }
    }
    depth(text)
}

/// The characters YAML 1.2 allows in a document (`c-printable`).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Estimates the nesting depth line by line: the block indentation levels (each `- `,
/// `? ` or `: ` that opens a node on a line counts as one) plus the open flow brackets,
/// skipping quoted scalars, comments and block scalars (`|`, `>`). It errs on the side of
/// counting too much only for odd files (a plain scalar continued on a line that starts
/// with `[`), and only [`MAX_DEPTH`] matters.
fn depth(text: &str) -> Result<(), Located> {
    let too_deep = |line: usize, column: usize| Located {
        line,
        column,
        message: format!(
            "the YAML nests deeper than {MAX_DEPTH} levels of mappings and lists; qalens \
             refuses such files before parsing them (a Compose file needs about ten)"
        ),
    };
    let mut flow = 0usize;
    let mut indents: Vec<usize> = vec![];
    let mut quote: Option<char> = None;
    // Inside a block scalar: the indentation of the line that opened it.
    let mut block_scalar: Option<usize> = None;
    for (n, raw) in text.split('\n').enumerate() {
        let line: Vec<char> = raw.strip_suffix('\r').unwrap_or(raw).chars().collect();
        let indent = line.iter().take_while(|c| **c == ' ').count();
        let blank = line[indent..].iter().all(|c| c.is_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut i = indent;
        let mut node_start = true;
        if quote.is_none() && flow == 0 {
            if blank || line.get(i) == Some(&'#') {
                continue;
            }
            if indent == 0 && (raw.starts_with("---") || raw.starts_with("...")) {
                indents.clear();
                i = 3;
            }
            while indents.last().is_some_and(|top| *top >= i) {
                indents.pop();
            }
            indents.push(i);
            // `- - x`, `? x`: each indicator opens a node nested in the one before.
            while matches!(line.get(i), Some('-' | '?' | ':'))
                && line.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t')
            {
                i += 1;
                while line.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                    i += 1;
                }
                indents.push(i);
            }
            if indents.len() > MAX_DEPTH {
                return Err(too_deep(n + 1, i + 1));
            }
        }
        while i < line.len() {
            let c = line[i];
            if let Some(q) = quote {
                if q == '"' && c == '\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    if q == '\'' && line.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    quote = None;
                    node_start = false;
                }
                i += 1;
                continue;
            }
            let space_before = i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t';
            let space_after = line.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t');
            match c {
                '#' if space_before => break,
                ' ' | '\t' => {}
                '"' | '\'' if node_start => quote = Some(c),
                '[' | '{' if node_start || flow > 0 => {
                    flow += 1;
                    if indents.len() + flow > MAX_DEPTH {
                        return Err(too_deep(n + 1, i + 1));
                    }
                    node_start = true;
                }
                ']' | '}' if flow > 0 => {
                    flow -= 1;
                    node_start = false;
                }
                ',' if flow > 0 => node_start = true,
                ':' if flow > 0 || space_after => node_start = true,
                '|' | '>' if node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                // An anchor or a tag before a node: the node still starts after it.
                '&' | '!' if node_start => {
                    while line.get(i + 1).is_some_and(|c| *c != ' ' && *c != '\t') {
                        i += 1;
                    }
                }
                _ => node_start = false,
            }
            i += 1;
        }
    }
    Ok(())
}

/// The line and column of a serde_yaml_ng error, and its message without the position
/// it appends (` at line 3 column 5`), which the caller prints in front.
pub(crate) fn split_error(e: &serde_yaml_ng::Error) -> (Option<(usize, usize)>, String) {
    let at = e.location().map(|l| (l.line(), l.column()));
    let message = strip_positions(&e.to_string());
    // serde_yaml_ng puts the path of the node in front (`services.web: ...`); the caller
    // names the place by line and column.
    let message = match message.split_once(": ") {
        Some((path, rest))
            if !path.is_empty() && !path.contains(|c: char| c.is_whitespace() || c == '"') =>
        {
            rest.to_string()
        }
        _ => message,
    };
    (at, message)
}

/// Removes every ` at line N column M` (and a trailing `, position N`) from a message.
fn strip_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let n = digits(tail);
        let after = &tail[n..];
        match after.strip_prefix(" column ") {
            Some(col) if n > 0 => {
                let m = digits(col);
                rest = &col[m..];
            }
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The line and column of the `---` or `...` that ends the first document, when content
/// follows it (a system file is one document).
pub(crate) fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut content = false;
    for (n, line) in text.lines().enumerate() {
        let marker = line.starts_with("---") || line.starts_with("...");
        if marker && content {
            return Some((n + 1, 1));
        }
        let t = line.trim();
        content |= !marker && !t.is_empty() && !t.starts_with('#') && !t.starts_with('%');
    }
    None
}

/// Parses `text` once, refusing a duplicate key at the key's own line and a local tag
/// (`!reset`, `!foo`) at its node: serde_yaml_ng would report the first at the parent
/// mapping and let the second through. Syntax errors come out here too.
pub(crate) fn strict(text: &str) -> Result<(), serde_yaml_ng::Error> {
    Walk.deserialize(serde_yaml_ng::Deserializer::from_str(text))
}

struct Walk;

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Walk)
    }
}

fn tag_error<'de, A: EnumAccess<'de>>(data: A) -> Result<(), A::Error> {
    let (tag, _) = data.variant::<String>()?;
    Err(de::Error::custom(format!(
        "the YAML tag !{} is not supported: qalens reads plain YAML (no custom tags, \
         no Compose !reset or !override)",
        crate::input::shorten(&tag, 40)
    )))
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        Walk.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while map.next_key_seed(Key(&mut seen))?.is_some() {
            map.next_value_seed(Walk)?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        tag_error(data)
    }
}

/// A mapping key: refused when the mapping already has it.
struct Key<'a>(&'a mut HashSet<String>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Key<'_> {
    fn seen<E: de::Error>(self, kind: char, text: &str) -> Result<(), E> {
        if self.0.insert(format!("{kind}{text}")) {
            Ok(())
        } else {
            Err(E::custom(format!(
                "duplicate key {:?}: a mapping may have each key once",
                crate::input::shorten(text, 80).to_string()
            )))
        }
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.seen('b', &v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.seen('n', &v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.seen('n', &v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<(), E> {
        self.seen('n', &v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<(), E> {
        self.seen('n', &v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.seen('f', &v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.seen('s', v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.seen('~', "null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.seen('~', "null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Walk.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Walk.visit_map(map)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        tag_error(data)
    }
}

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// `services.web.volumes[0].source` as steps.
pub(crate) fn segments(path: &str) -> Vec<Seg> {
    let mut out = vec![];
    if path.is_empty() {
        return out;
    }
    // An empty part is an empty key (`environment.` for the key `''`).
    for part in path.split('.') {
        let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !name.is_empty() || rest.is_empty() {
            out.push(Seg::Key(name.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            match inner[..end].parse() {
                Ok(i) => out.push(Seg::Index(i)),
                Err(_) => out.push(Seg::Key(inner[..end].to_string())),
            }
            rest = inner.get(end + 1..).unwrap_or("");
        }
    }
    out
}

/// The line and column (1-based) of the node at `path` in `text`: of the key itself for a
/// mapping key, of the item for a list index.
pub(crate) fn locate_exact(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let d = serde_yaml_ng::Deserializer::from_str(text);
    match Locate(path).deserialize(d) {
        Ok(()) => None,
        Err(e) => e.location().map(|l| (l.line(), l.column())),
    }
}

/// [`locate_exact`], or when the whole path is not in the text (it came in through a
/// merge key), the deepest part of it that is.
pub(crate) fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    (1..=path.len())
        .rev()
        .find_map(|n| locate_exact(text, &path[..n]))
}

/// Walks to a path; the error it returns carries the position of the node it ends on.
struct Locate<'a>(&'a [Seg]);

const HERE: &str = "here";

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a node on the path")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        if let Seg::Index(want) = first {
            for _ in 0..*want {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
            }
            seq.next_element_seed(Locate(rest))?;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        let want = match first {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        };
        while let Some(hit) = map.next_key_seed(KeyIs {
            want,
            last: rest.is_empty(),
        })? {
            if hit {
                map.next_value_seed(Locate(rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (_, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

impl Locate<'_> {
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.0.is_empty() {
            Err(E::custom(HERE))
        } else {
            Ok(())
        }
    }
}

/// A key compared with the one wanted; the last key of a path ends the walk on itself.
struct KeyIs<'a> {
    want: Option<&'a str>,
    last: bool,
}

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.is(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.is(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.is(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.is(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

impl KeyIs<'_> {
    fn is<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match self.want {
            Some(w) if w == key && self.last => Err(E::custom(HERE)),
            Some(w) => Ok(w == key),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deep_flow_list_is_refused_fast_at_the_bracket_past_the_limit() {
        let text = format!("services: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        let e = prescan(&text).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        assert_eq!((e.line, e.column), (1, 11 + MAX_DEPTH - 1));
        assert!(e.message.contains("deeper than 64"), "{}", e.message);
    }

    #[test]
    fn deep_block_nesting_is_refused_and_ordinary_files_pass() {
        let text = "- ".repeat(100) + "x\n";
        assert_eq!(prescan(&text).unwrap_err().line, 1);
        let mut nested = String::new();
        for i in 0..70 {
            nested.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert_eq!(prescan(&nested).unwrap_err().line, MAX_DEPTH + 1);
        let reference = std::fs::read_to_string(super::super::REFERENCE_FILE).unwrap();
        prescan(&reference).unwrap();
        // Brackets in quoted, plain and block scalars and comments are not nesting.
        let text = format!(
            "a: \"{0}\"\nb: '{0}'\nc: x{0}\n# {0}\nd: |\n  {0}\ne: 1\n",
            "[".repeat(100)
        );
        prescan(&text).unwrap();
    }

    #[test]
    fn a_nul_byte_is_named_at_its_line_and_column() {
        let e = prescan("services:\n  web:\n    image: a\u{0}b\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 13));
        assert!(e.message.contains("'\\0'"), "{}", e.message);
    }

    #[test]
    fn duplicate_keys_and_tags_are_named_where_they_are() {
        let e = strict("services:\n  web:\n    image: a\n\n    image: b\n").unwrap_err();
        let (at, message) = split_error(&e);
        assert_eq!(at, Some((5, 5)));
        assert!(message.starts_with("duplicate key \"image\""), "{message}");
        let e = strict("services:\n  web:\n    image: !foo a\n").unwrap_err();
        let (at, message) = split_error(&e);
        assert_eq!(at, Some((3, 12)));
        assert!(message.contains("tag !foo"), "{message}");
        strict("a: !!str 1\nb: &x { c: 1 }\nd: *x\n").unwrap();
    }

    #[test]
    fn a_key_path_is_located_at_its_key_or_item() {
        let text =
            "services:\n  web:\n    image: a\n    volumes:\n      - ./a:/a:ro\n      - ./b:b:ro\n";
        let at = |p: &str| locate(text, &segments(p));
        assert_eq!(at("services.web.image"), Some((3, 5)));
        assert_eq!(at("services.web.volumes[1]"), Some((6, 9)));
        assert_eq!(at("services.web.volumes[1].target"), Some((6, 9)));
        assert_eq!(at("services.web.scale"), Some((2, 3)));
        assert_eq!(at("x-qalens.entry"), None);
    }
}
