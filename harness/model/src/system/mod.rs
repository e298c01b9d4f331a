//! The system file: a Docker Compose file with an `x-qalens` section, describing what
//! qalens starts, fault-injects and checks. `reference-system/qalens.yml` is the built-in
//! one; `--system FILE` names another. The format is documented in
//! `docs/system-file.md` at the repository root.
//!
//! Loading is: YAML (`serde_yaml_ng`), merge keys, Compose variable interpolation on
//! string values (`interpolate`), then serde into the supported subset with unknown keys
//! refused (`compose`, `qalens`), then the cross-references (every service named in
//! `depends_on`, links, the entry... exists, with the port it is reached on). Every
//! problem is a [`SystemError`] naming the file, the service, the key and, where the
//! parser knows it, the line; commands exit 2 on it before anything starts.

pub mod build;
mod compose;
mod error;
mod interpolate;
pub mod keys;
mod qalens;
mod refs;
pub mod routes;
#[cfg(test)]
mod tests;
pub(crate) mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

pub(crate) use compose::parse_duration;
pub use compose::{BindMount, Condition, Healthcheck, Service};
pub use error::{ErrorKind, SystemError};
pub use qalens::{
    Broker, DefectHook, Gateway, Hooks, Identity, Jwt, JwtAlg, LimitKey, Link, Pack, Qalens, Queue,
    RateLimit, ReadyLog, Route, Routes, ServicePort, Stream,
};

/// The reference system's file, read from the source tree like any user's file.
pub const REFERENCE_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../reference-system/qalens.yml"
);

/// A checked system file.
#[derive(Debug, Clone)]
pub struct System {
    /// The file as given.
    pub file: PathBuf,
    /// Its directory: relative paths in it are relative to this.
    pub dir: PathBuf,
    /// Every service by name.
    pub services: BTreeMap<String, Service>,
    pub qalens: Qalens,
}

/// The file as written: services, `x-qalens`, and the few top-level keys Compose files
/// carry that need nothing from qalens (`name`, `version`, `networks`, any `x-` key).
#[derive(Debug)]
struct RawFile {
    services: BTreeMap<String, compose::RawService>,
    qalens: Option<Qalens>,
}

impl<'de> Deserialize<'de> for RawFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawFile;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Compose file: a mapping with `services`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
                let mut services = None;
                let mut qalens = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "services" => services = Some(map.next_value()?),
                        "x-qalens" => qalens = Some(map.next_value()?),
                        "networks" => {
                            let nets: BTreeMap<String, IgnoredAny> = map.next_value()?;
                            if let Some(other) = nets.keys().find(|n| *n != "default") {
                                return Err(serde::de::Error::custom(format!(
                                    "network {other:?}: qalens starts every service on one \
                                     network of its own; only `default` can be declared"
                                )));
                            }
                        }
                        "name" | "version" => {
                            map.next_value::<String>()?;
                        }
                        k if k.starts_with("x-") => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["services", "x-qalens", "name", "version", "networks", "x-*"],
                            ));
                        }
                    }
                }
                Ok(RawFile {
                    services: services
                        .ok_or_else(|| serde::de::Error::missing_field("services"))?,
                    qalens,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// How a variable in the file is looked up.
pub type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, plus `QALENS_REFSYS_BIN` found as [`crate::images`] finds it
/// when the variable is unset (so the reference file can mount `${QALENS_REFSYS_BIN}`).
pub(crate) fn process_vars(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) => Some(v),
        Err(_) if name == "QALENS_REFSYS_BIN" => crate::images::refsys_binary()
            .ok()
            .map(|p| p.display().to_string()),
        Err(_) => None,
    }
}

impl System {
    /// Reads and checks `file` with the process environment (`process_vars`).
    pub fn load(file: &Path) -> Result<Self, SystemError> {
        Self::load_with(file, &process_vars)
    }

    /// The built-in reference system.
    pub fn reference() -> Result<Self, SystemError> {
        let file = Path::new(REFERENCE_FILE);
        Self::load(&file.canonicalize().unwrap_or_else(|_| file.to_path_buf()))
    }

    /// `file` when given, else the reference system.
    pub fn load_or_reference(file: Option<&Path>) -> Result<Self, SystemError> {
        match file {
            Some(f) => Self::load(f),
            None => Self::reference(),
        }
    }

    /// Reads and checks `file`, looking variables up with `vars`.
    pub fn load_with(file: &Path, vars: Vars) -> Result<Self, SystemError> {
        use crate::input::InputError;
        let text = crate::input::read_text(file, crate::input::MAX_TEXT_BYTES).map_err(|e| {
            let (why, at) = match &e {
                InputError::NotRegular { kind, .. } => {
                    (format!("it is {kind}, not a regular file"), None)
                }
                InputError::TooLarge { limit, .. } => (
                    format!(
                        "it is larger than {} MiB, the most qalens reads from a system file",
                        limit / (1024 * 1024)
                    ),
                    None,
                ),
                InputError::NotUtf8 { line, column, .. } => (
                    "it is not UTF-8 text: save it as UTF-8".to_string(),
                    Some((*line, *column)),
                ),
                InputError::Io { source, .. } => (source.to_string(), None),
            };
            SystemError::new(file, ErrorKind::Read(why)).at(at)
        })?;
        let dir = file
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Self::parse(file, &dir, &text, vars)
    }

    /// Checks the text of a system file; `file` is only for messages, `dir` resolves
    /// relative paths.
    /// Every error names the line and column of its key where the text has it.
    pub fn parse(file: &Path, dir: &Path, text: &str, vars: Vars) -> Result<Self, SystemError> {
        Self::parse_located(file, dir, text, vars).map_err(|e| e.locate_in(text))
    }

    fn parse_located(file: &Path, dir: &Path, text: &str, vars: Vars) -> Result<Self, SystemError> {
        let malformed = |e: &serde_yaml_ng::Error| {
            let (at, message) = yaml::split_error(e);
            // The parser gives no position for a second document: name its `---`.
            let at = at.or_else(|| Some(yaml::second_document(text).unwrap_or((1, 1))));
            SystemError::new(file, ErrorKind::Malformed(message)).at(at)
        };
        yaml::prescan(text).map_err(|e| {
            SystemError::new(file, ErrorKind::Malformed(e.message)).at(Some((e.line, e.column)))
        })?;
        yaml::strict(text).map_err(|e| malformed(&e))?;
        let mut value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| malformed(&e))?;
        value.apply_merge().map_err(|e| {
            // serde_yaml_ng gives no position: name the first merge key.
            let at = text.lines().enumerate().find_map(|(n, l)| {
                let col = l.find("<<")?;
                Some((n + 1, l[..col].chars().count() + 1))
            });
            SystemError::new(file, ErrorKind::Malformed(format!("merge key: {e}")))
                .at(at.or(Some((1, 1))))
        })?;
        interpolate::value(&mut value, vars, "").map_err(|(path, e)| {
            SystemError::new(file, ErrorKind::Interpolation(e.to_string())).at_path(&path)
        })?;
        let raw: RawFile =
            serde_path_to_error::deserialize(value).map_err(|e| shape_error(file, text, e))?;

        let mut services = BTreeMap::new();
        for (name, raw) in raw.services {
            let service = raw
                .check(&name, dir)
                .map_err(|(key, kind)| SystemError::new(file, kind).service(&name).key(key))?;
            services.insert(name, service);
        }
        let system = System {
            file: file.to_path_buf(),
            dir: dir.to_path_buf(),
            services,
            qalens: raw.qalens.unwrap_or_default(),
        };
        refs::check(&system)?;
        Ok(system)
    }

    /// The service names, sorted.
    pub fn service_names(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// The service a container name within the run belongs to, with the replica number
    /// it names: a service (`db`, `gateway`: every replica, `None`) or one replica of a
    /// numbered service (`gateway-2`: `Some(2)`). A service's own name wins.
    pub fn callee(&self, name: &str) -> Option<(&Service, Option<u8>)> {
        if let Some(s) = self.services.get(name) {
            return Some((s, None));
        }
        self.services.values().find_map(|s| {
            s.replica_names()
                .into_iter()
                .find(|(_, replica)| replica == name)
                .and_then(|(n, _)| Some((s, Some(n?))))
        })
    }
}

/// A serde error on the parsed file: the path names service and key; the line comes from
/// a second pass over the raw text, which fails at the same place unless the problem came
/// in through a merge key or a variable.
fn shape_error(
    file: &Path,
    text: &str,
    e: serde_path_to_error::Error<serde_yaml_ng::Error>,
) -> SystemError {
    let path = e.path().to_string();
    let message = yaml::split_error(e.inner()).1;
    let kind = if message.starts_with("unknown field") {
        ErrorKind::UnsupportedKey(message)
    } else if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("unknown variant")
        || message.starts_with("data did not match")
    {
        ErrorKind::WrongType(message)
    } else {
        ErrorKind::Invalid(message)
    };
    // An unknown key is named at the key itself.
    let mut path = path;
    if let ErrorKind::UnsupportedKey(m) = &kind
        && let Some(field) = m.split('`').nth(1)
        && !path.ends_with(field)
    {
        path = if path.is_empty() || path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
    }
    let mut err = SystemError::new(file, kind).at_path(&path).locate_in(text);
    if err.line.is_some() {
        return err;
    }
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    if let Err(again) = serde_path_to_error::deserialize::<_, RawFile>(deserializer)
        && again.path().to_string() == path
    {
        err = err.at(again.inner().location().map(|l| (l.line(), l.column())));
    }
    err
}
