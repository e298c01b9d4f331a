//! The Compose subset as written in the file ([`RawService`]) and its checked form
//! ([`Service`]). Serde refuses every key outside the subset (`deny_unknown_fields`), so an
//! unsupported key is an error with its line instead of being silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::error::ErrorKind;
use crate::images::ImageRef;

/// One service as written. Keys outside this list are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    image: Option<String>,
    command: Option<StringOrList>,
    entrypoint: Option<StringOrList>,
    #[serde(default)]
    environment: Option<Environment>,
    #[serde(default)]
    ports: Vec<Port>,
    #[serde(default)]
    expose: Vec<NumOrString>,
    #[serde(default)]
    depends_on: Option<DependsOn>,
    healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    volumes: Vec<Volume>,
    #[serde(default)]
    networks: Option<Networks>,
    deploy: Option<Deploy>,
    scale: Option<NumOrString>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringOrList {
    String(String),
    List(Vec<String>),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum NumOrString {
    Num(u64),
    String(String),
}

impl NumOrString {
    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, ErrorKind> {
        let s = match self {
            NumOrString::Num(n) => n.to_string(),
            NumOrString::String(s) => s.trim().to_string(),
        };
        s.parse()
            .map_err(|_| ErrorKind::WrongType(format!("{what} {s:?} is not a number in range")))
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Environment {
    Map(BTreeMap<String, Option<ScalarValue>>),
    List(Vec<String>),
}

/// An environment value may be written as a number or a boolean.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScalarValue {
    String(String),
    Num(serde_yaml_ng::Number),
    Bool(bool),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Port {
    Short(NumOrString),
    Long(LongPort),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LongPort {
    target: NumOrString,
    #[serde(default)]
    published: Option<NumOrString>,
    #[serde(default)]
    protocol: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DependsOn {
    List(Vec<String>),
    Map(BTreeMap<String, DependsOnLong>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DependsOnLong {
    #[serde(default)]
    condition: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealthcheck {
    test: Option<StringOrList>,
    interval: Option<String>,
    timeout: Option<String>,
    retries: Option<NumOrString>,
    start_period: Option<String>,
    #[serde(default)]
    disable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Volume {
    Short(String),
    Long(LongVolume),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LongVolume {
    #[serde(rename = "type")]
    kind: String,
    source: String,
    target: String,
    #[serde(default)]
    read_only: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Networks {
    List(Vec<String>),
    Map(BTreeMap<String, Option<NetworkAttachment>>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkAttachment {
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deploy {
    replicas: Option<NumOrString>,
}

/// When a dependency counts as started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Its container was created and started.
    Started,
    /// Its ready check passed (`healthcheck`, or the `x-qalens.ready` log line).
    Healthy,
}

/// A checked `healthcheck`: the command Docker's exec API runs, and its timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// The command as an argument vector (`CMD-SHELL x` becomes `["/bin/sh", "-c", "x"]`).
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
}

/// A read-only bind mount; `source` is absolute (relative paths are resolved against the
/// system file's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    pub source: PathBuf,
    pub target: String,
}

/// A checked service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: ImageRef,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: BTreeMap<String, String>,
    /// Container ports (`ports` targets and `expose`), each published on a random host
    /// port: host ports written in `ports` are ignored, so parallel runs never collide.
    pub ports: Vec<u16>,
    pub depends_on: Vec<(String, Condition)>,
    pub healthcheck: Option<Healthcheck>,
    pub mounts: Vec<BindMount>,
    /// Extra network aliases; every replica is also reachable as the service name and
    /// as `<service>-<n>`.
    pub aliases: Vec<String>,
    /// Replicas (`deploy.replicas` or `scale`; default 1).
    pub replicas: u8,
    /// Whether its replicas are numbered: a service whose file says `deploy.replicas` or
    /// `scale` runs as `<service>-1`, `<service>-2`... (even with one replica), any other
    /// as `<service>`.
    pub numbered: bool,
}

impl Service {
    /// The names of its containers within the run (`api`; `gateway-1`, `gateway-2`).
    pub fn replica_names(&self) -> Vec<(Option<u8>, String)> {
        if self.numbered {
            (1..=self.replicas)
                .map(|n| (Some(n), format!("{}-{n}", self.name)))
                .collect()
        } else {
            vec![(None, self.name.clone())]
        }
    }
}

/// A problem in one key of a service.
pub(super) type KeyError = (String, ErrorKind);

fn wrong(key: &str, msg: impl Into<String>) -> KeyError {
    (key.to_string(), ErrorKind::WrongType(msg.into()))
}

fn invalid(key: &str, msg: impl Into<String>) -> KeyError {
    (key.to_string(), ErrorKind::Invalid(msg.into()))
}

fn argv(key: &str, v: StringOrList) -> Result<Vec<String>, KeyError> {
    match v {
        StringOrList::List(l) => Ok(l),
        StringOrList::String(s) => {
            shlex::split(&s).ok_or_else(|| wrong(key, format!("cannot split {s:?} into words")))
        }
    }
}

/// A Compose duration (`1m30s`, `500ms`, `10s`; a bare number is seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(number * unit).ok()?;
    }
    Some(total)
}

fn duration(key: &str, v: Option<String>, default: Duration) -> Result<Duration, KeyError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(&s)
            .ok_or_else(|| wrong(key, format!("{s:?} is not a duration like 10s or 1m30s"))),
    }
}

fn port(key: &str, v: &NumOrString) -> Result<u16, KeyError> {
    // `8080`, `8080/tcp`, `127.0.0.1:18080:8080`, `18080:8080`: the container port is last.
    let text = match v {
        NumOrString::Num(n) => n.to_string(),
        NumOrString::String(s) => s.clone(),
    };
    let (spec, proto) = text.split_once('/').unwrap_or((&text, "tcp"));
    if proto != "tcp" {
        return Err(invalid(
            key,
            format!("only tcp ports are supported, not {proto}"),
        ));
    }
    let inner = spec.rsplit(':').next().unwrap_or(spec);
    inner
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| wrong(key, format!("{text:?} is not a container port (1-65535)")))
}

impl RawService {
    /// Checks one service; `dir` is the system file's directory.
    pub(super) fn check(self, name: &str, dir: &Path) -> Result<Service, KeyError> {
        let image = self
            .image
            .ok_or_else(|| invalid("image", "every service needs an image"))?;
        let image = ImageRef::parse(&image).map_err(|e| wrong("image", format!("{e:#}")))?;
        let command = self.command.map(|c| argv("command", c)).transpose()?;
        let entrypoint = self.entrypoint.map(|c| argv("entrypoint", c)).transpose()?;

        let mut environment = BTreeMap::new();
        match self.environment {
            None => {}
            Some(Environment::Map(map)) => {
                for (k, v) in map {
                    let v = match v {
                        None => String::new(),
                        Some(ScalarValue::String(s)) => s,
                        Some(ScalarValue::Num(n)) => n.to_string(),
                        Some(ScalarValue::Bool(b)) => b.to_string(),
                    };
                    environment.insert(k, v);
                }
            }
            Some(Environment::List(list)) => {
                for (i, kv) in list.into_iter().enumerate() {
                    let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                    if k.is_empty() {
                        return Err(wrong(&format!("environment[{i}]"), "expected NAME=value"));
                    }
                    environment.insert(k.to_string(), v.to_string());
                }
            }
        }

        let mut ports = vec![];
        for (i, p) in self.ports.iter().enumerate() {
            let key = format!("ports[{i}]");
            let p = match p {
                Port::Short(s) => port(&key, s)?,
                Port::Long(l) => {
                    if let Some(proto) = l.protocol.as_deref().filter(|p| *p != "tcp") {
                        return Err(invalid(
                            &key,
                            format!("only tcp ports are supported, not {proto}"),
                        ));
                    }
                    let _published = &l.published;
                    port(&format!("{key}.target"), &l.target)?
                }
            };
            ports.push(p);
        }
        for (i, p) in self.expose.iter().enumerate() {
            ports.push(port(&format!("expose[{i}]"), p)?);
        }
        ports.sort_unstable();
        ports.dedup();

        let depends_on = match self.depends_on {
            None => vec![],
            Some(DependsOn::List(l)) => l.into_iter().map(|s| (s, Condition::Started)).collect(),
            Some(DependsOn::Map(m)) => {
                let mut out = vec![];
                for (dep, long) in m {
                    let condition = match long.condition.as_deref() {
                        None | Some("service_started") => Condition::Started,
                        Some("service_healthy") => Condition::Healthy,
                        Some(other) => {
                            return Err(invalid(
                                &format!("depends_on.{dep}.condition"),
                                format!(
                                    "condition {other:?} is not supported \
                                     (service_started or service_healthy)"
                                ),
                            ));
                        }
                    };
                    out.push((dep, condition));
                }
                out
            }
        };

        let healthcheck = match self.healthcheck {
            None => None,
            Some(h) if h.disable => None,
            Some(h) => {
                let test = match h.test {
                    None => return Err(invalid("healthcheck.test", "a healthcheck needs a test")),
                    Some(StringOrList::String(s)) => vec!["/bin/sh".into(), "-c".into(), s],
                    Some(StringOrList::List(l)) => match l.split_first() {
                        Some((first, rest)) if first == "CMD" && !rest.is_empty() => rest.to_vec(),
                        Some((first, [cmd])) if first == "CMD-SHELL" => {
                            vec!["/bin/sh".into(), "-c".into(), cmd.clone()]
                        }
                        Some((first, [])) if first == "NONE" => vec![],
                        _ => {
                            return Err(wrong(
                                "healthcheck.test",
                                "expected [\"CMD\", args...], [\"CMD-SHELL\", \"command\"] or a string",
                            ));
                        }
                    },
                };
                if test.is_empty() {
                    None
                } else {
                    Some(Healthcheck {
                        test,
                        interval: duration(
                            "healthcheck.interval",
                            h.interval,
                            Duration::from_secs(30),
                        )?,
                        timeout: duration(
                            "healthcheck.timeout",
                            h.timeout,
                            Duration::from_secs(30),
                        )?,
                        retries: h
                            .retries
                            .map(|r| {
                                r.parse("retries")
                                    .map_err(|e| ("healthcheck.retries".to_string(), e))
                            })
                            .transpose()?
                            .unwrap_or(3),
                        start_period: duration(
                            "healthcheck.start_period",
                            h.start_period,
                            Duration::ZERO,
                        )?,
                    })
                }
            }
        };

        let mut mounts = vec![];
        for (i, v) in self.volumes.into_iter().enumerate() {
            let key = format!("volumes[{i}]");
            let (source, target, read_only) = match v {
                Volume::Short(s) => {
                    let parts: Vec<&str> = s.split(':').collect();
                    match parts.as_slice() {
                        [src, dst] => (src.to_string(), dst.to_string(), false),
                        [src, dst, mode] => {
                            let modes: Vec<&str> = mode.split(',').collect();
                            (src.to_string(), dst.to_string(), modes.contains(&"ro"))
                        }
                        _ => return Err(wrong(&key, format!("{s:?} is not SOURCE:TARGET[:ro]"))),
                    }
                }
                Volume::Long(l) => {
                    if l.kind != "bind" {
                        return Err(invalid(
                            &format!("{key}.type"),
                            format!("only bind mounts are supported, not {:?}", l.kind),
                        ));
                    }
                    (l.source, l.target, l.read_only)
                }
            };
            let is_path = source.starts_with('/') || source.starts_with('.');
            if !is_path {
                return Err(invalid(
                    &key,
                    format!(
                        "named volume {source:?} is not supported: only read-only bind mounts of a path"
                    ),
                ));
            }
            if !read_only {
                return Err(invalid(
                    &key,
                    format!(
                        "the bind mount of {source:?} is writable: only read-only bind mounts are supported (add :ro)"
                    ),
                ));
            }
            let path = dir.join(&source);
            let path = path.canonicalize().map_err(|e| {
                invalid(
                    &key,
                    format!("bind source {} cannot be used: {e}", path.display()),
                )
            })?;
            mounts.push(BindMount {
                source: path,
                target,
            });
        }

        let mut aliases = vec![];
        match self.networks {
            None => {}
            Some(Networks::List(l)) => check_networks(l.iter())?,
            Some(Networks::Map(m)) => {
                check_networks(m.keys())?;
                for attachment in m.into_values().flatten() {
                    aliases.extend(attachment.aliases);
                }
            }
        }

        let numbered =
            self.scale.is_some() || self.deploy.as_ref().is_some_and(|d| d.replicas.is_some());
        let replicas = match (self.deploy.and_then(|d| d.replicas), self.scale) {
            (Some(_), Some(_)) => {
                return Err(invalid("scale", "give deploy.replicas or scale, not both"));
            }
            (Some(r), None) => r
                .parse::<u8>("replicas")
                .map_err(|e| ("deploy.replicas".into(), e))?,
            (None, Some(r)) => r.parse::<u8>("scale").map_err(|e| ("scale".into(), e))?,
            (None, None) => 1,
        };
        if !(1..=9).contains(&replicas) {
            return Err(invalid("deploy.replicas", "replicas must be 1 to 9"));
        }

        Ok(Service {
            name: name.to_string(),
            image,
            command,
            entrypoint,
            environment,
            ports,
            depends_on,
            healthcheck,
            mounts,
            aliases,
            replicas,
            numbered,
        })
    }
}

/// qalens puts every service on one network of its own; a service may name `default`.
fn check_networks<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), KeyError> {
    for n in names {
        if n != "default" {
            return Err(invalid(
                &format!("networks.{n}"),
                "qalens starts every service on one network: only `default` can be named",
            ));
        }
    }
    Ok(())
}
