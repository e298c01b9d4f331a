//! The one error type of the system file: every problem names the file, and where it can,
//! the service, the key and the line.

use std::path::PathBuf;

use crate::input::shorten;

/// A system file that cannot be used; nothing is started. `qalens` exits 2 on it.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct SystemError {
    pub file: PathBuf,
    /// The service the problem is in (`None` for the top level and `x-qalens`).
    pub service: Option<String>,
    /// The key, as a path below the service or from the top (`healthcheck.interval`,
    /// `x-qalens.links[0].to`).
    pub key: Option<String>,
    /// 1-based line, where the YAML parser gives one or the key is found in the text.
    pub line: Option<usize>,
    /// 1-based column (in characters) on `line`.
    pub column: Option<usize>,
    /// Boxed: the error travels through many `Result`s and should stay small.
    pub kind: Box<ErrorKind>,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file cannot be read.
    Read(String),
    /// Not YAML, or not a mapping at the top.
    Malformed(String),
    /// A key qalens does not support (or a typo): Compose keys outside the supported
    /// subset, and any unknown key inside `x-qalens`.
    UnsupportedKey(String),
    /// A value of the wrong type or shape (`replicas: many`).
    WrongType(String),
    /// A name that is not a service of the file (in `depends_on`, a link, the entry...).
    UnknownService { name: String, known: Vec<String> },
    /// A variable that cannot be substituted (`${VAR:?message}` unset, bad syntax).
    Interpolation(String),
    /// The Docker engine does not have the image and cannot pull it. `services` are every
    /// service that uses it, sorted (the error is located at the first one's `image`).
    MissingImage {
        image: String,
        services: Vec<String>,
        why: String,
    },
    /// The image of a service's `build` could not be built.
    BuildFailed { image: String, why: String },
    /// Anything else the file says that qalens cannot do (a writable bind mount).
    Invalid(String),
}

impl SystemError {
    pub fn new(file: impl Into<PathBuf>, kind: ErrorKind) -> Self {
        Self {
            file: file.into(),
            service: None,
            key: None,
            line: None,
            column: None,
            kind: Box::new(kind),
        }
    }

    pub fn service(mut self, service: &str) -> Self {
        self.service = Some(service.to_string());
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Splits a path from the top of the file (`services.api.volumes[0]`) into the
    /// service and the key below it.
    pub(crate) fn at_path(mut self, path: &str) -> Self {
        match path.strip_prefix("services.") {
            Some(rest) => {
                let (service, key) = split_first(rest);
                self.service = Some(service.to_string());
                self.key = key.map(str::to_string);
            }
            None if path.is_empty() || path == "." => {}
            None => self.key = Some(path.to_string()),
        }
        self
    }

    pub(crate) fn at(mut self, at: Option<(usize, usize)>) -> Self {
        if let Some((line, column)) = at {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }

    /// Finds the line and column of the error's service and key in `text`, the file's
    /// text, when the error has none yet.
    pub fn locate_in(mut self, text: &str) -> Self {
        if self.line.is_some() || (self.service.is_none() && self.key.is_none()) {
            return self;
        }
        use super::yaml::{Seg, locate, locate_exact, segments};
        let mut path = vec![];
        if let Some(service) = &self.service {
            path.push(Seg::Key("services".into()));
            path.push(Seg::Key(service.clone()));
        }
        // A key with dots in it (`./x: 1`) is one key, not a path.
        let mut whole = path.clone();
        if let Some(key) = &self.key {
            path.extend(segments(key));
            whole.push(Seg::Key(key.clone()));
        }
        // Last, a key the YAML walk cannot reach (a complex `? ...` key, a null key): the
        // first line that starts with it.
        let by_text = || {
            let key = self.key.as_deref().filter(|k| !k.is_empty())?;
            text.lines().enumerate().find_map(|(i, l)| {
                let rest = l.trim_start();
                rest.starts_with(key)
                    .then(|| (i + 1, l.len() - rest.len() + 1))
            })
        };
        let at = locate_exact(text, &path)
            .or_else(|| locate_exact(text, &whole))
            .or_else(|| locate(text, &path))
            .or_else(by_text);
        self = self.at(at);
        self
    }

    fn render(&self) -> String {
        let mut s = self.file.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                s.push_str(&format!(":{column}"));
            }
        }
        s.push(':');
        if let Some(service) = &self.service {
            s.push_str(&format!(" service {:?}", shorten(service, 80).to_string()));
            if self.key.is_some() {
                s.push(',');
            }
        }
        if let Some(key) = &self.key {
            s.push_str(&format!(" key {key:?}"));
        }
        if self.service.is_some() || self.key.is_some() {
            s.push(':');
        }
        let what = match self.kind.as_ref() {
            ErrorKind::Read(e) => format!("cannot read the system file: {e}"),
            ErrorKind::Malformed(e) => format!("malformed YAML: {e}"),
            ErrorKind::UnsupportedKey(e) => format!("unsupported key: {e}"),
            ErrorKind::WrongType(e) => format!("wrong type: {e}"),
            ErrorKind::UnknownService { name, known } => format!(
                "unknown service {name:?}; the file's services are {}",
                known.join(", ")
            ),
            ErrorKind::Interpolation(e) => format!("variable substitution failed: {e}"),
            ErrorKind::MissingImage {
                image,
                services,
                why,
            } => {
                let users = match services.as_slice() {
                    [] | [_] => String::new(),
                    all => format!(
                        " (services {} use it)",
                        all.iter()
                            .map(|s| format!("{s:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                format!(
                    "image {image} is not on this Docker engine and cannot be pulled{users}: {why}"
                )
            }
            ErrorKind::BuildFailed { image, why } => {
                format!("building image {image} failed: {why}")
            }
            ErrorKind::Invalid(e) => e.clone(),
        };
        format!("{s} {}", shorten_quoted(&what, MAX_VALUE))
    }
}

/// The most characters of one value a message shows.
const MAX_VALUE: usize = 120;

/// Cuts every quoted value (`"..."` or `` `...` ``) in `message` longer than `max`
/// characters short, and the message itself at ten times that: a file can hold a 1 MB
/// image name, and a message should still fit on a screen.
fn shorten_quoted(message: &str, max: usize) -> String {
    let mut out = String::with_capacity(message.len().min(max * 10));
    let mut chars = message.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '"' && c != '`' {
            out.push(c);
            continue;
        }
        // The quoted value runs to the next unescaped closing quote.
        let mut end = None;
        let mut escaped = false;
        for (i, d) in message[at + 1..].char_indices() {
            if escaped {
                escaped = false;
            } else if d == '\\' && c == '"' {
                escaped = true;
            } else if d == c {
                end = Some(at + 1 + i);
                break;
            }
        }
        let Some(end) = end else {
            out.push(c);
            continue;
        };
        out.push(c);
        out.push_str(&shorten(&message[at + 1..end], max).to_string());
        out.push(c);
        while chars.peek().is_some_and(|(i, _)| *i <= end) {
            chars.next();
        }
    }
    // One line: a control character from the file (a key holding `\r\n`) is escaped.
    shorten(&out, max * 10)
        .to_string()
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `api.volumes[0]` into (`api`, `volumes[0]`); a service name may hold dots only
/// in theory (Compose forbids them), so the first segment is the service.
fn split_first(path: &str) -> (&str, Option<&str>) {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let (head, tail) = path.split_at(end);
    let tail = tail.strip_prefix('.').unwrap_or(tail);
    (head, Some(tail).filter(|t| !t.is_empty()))
}
