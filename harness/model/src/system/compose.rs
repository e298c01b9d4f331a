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
    build: Option<RawBuild>,
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

/// `build: ./dir`, or `build: { context, dockerfile, args }`. Not an untagged enum, so an
/// unknown key in the long form is named as such.
#[derive(Debug)]
enum RawBuild {
    Context(String),
    Long(LongBuild),
}

impl<'de> Deserialize<'de> for RawBuild {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawBuild;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a context directory, or a mapping with context, dockerfile and args")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawBuild, E> {
                Ok(RawBuild::Context(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawBuild, A::Error> {
                LongBuild::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawBuild::Long)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LongBuild {
    #[serde(default = "dot")]
    context: String,
    dockerfile: Option<String>,
    args: Option<Environment>,
}

fn dot() -> String {
    ".".into()
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
    /// The image it runs: the file's `image`, or for a service with `build`, the image
    /// qalens builds (`NAME:<digest>`; see [`Service::build`]).
    pub image: ImageRef,
    /// The image qalens builds before the run, if the file says `build`.
    pub build: Option<super::build::Build>,
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

fn wrong(key: &str, msg: impl std::fmt::Display) -> KeyError {
    (key.to_string(), ErrorKind::WrongType(msg.to_string()))
}

fn invalid(key: &str, msg: impl std::fmt::Display) -> KeyError {
    (key.to_string(), ErrorKind::Invalid(msg.to_string()))
}

fn argv(key: &str, v: StringOrList) -> Result<Vec<String>, KeyError> {
    match v {
        StringOrList::List(l) => Ok(l),
        StringOrList::String(s) => {
            shlex::split(&s).ok_or_else(|| wrong(key, format!("cannot split {s:?} into words")))
        }
    }
}

/// The longest duration a system file may give (a healthcheck interval, a rate-limit
/// window): a year, 8760h. Longer ones are mistakes, and Docker keeps durations in
/// nanoseconds.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why a duration is refused; each variant holds the value as shown (at most 40
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    #[error("\"{0}\" is not a duration like 10s, 500ms or 1m30s")]
    NotADuration(String),
    #[error("\"{0}\" is longer than a year (8760h), the most qalens accepts")]
    TooLong(String),
}

/// A Compose duration (`1m30s`, `500ms`, `10s`; a bare number is seconds), at most
/// [`MAX_DURATION`].
pub(crate) fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let shown = || crate::input::shorten(s, 40).to_string();
    let not = || DurationError::NotADuration(shown());
    let too_long = || DurationError::TooLong(shown());
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        let d = Duration::from_secs(secs);
        return if d > MAX_DURATION {
            Err(too_long())
        } else {
            Ok(d)
        };
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err(not());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| not())?;
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
            _ => return Err(not()),
        };
        rest = &rest[unit_len..];
        let part = Duration::try_from_secs_f64(number * unit).map_err(|_| too_long())?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(too_long)?;
    }
    Ok(total)
}

fn duration(key: &str, v: Option<String>, default: Duration) -> Result<Duration, KeyError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(&s).map_err(|e| wrong(key, e)),
    }
}

/// Why a container name, a network alias or an environment variable's name is refused;
/// each variant holds the name as shown (at most 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error(
        "\"{0}\" is not a name Docker accepts: use letters, digits, `_`, `.` and `-`, \
         starting with a letter or a digit"
    )]
    NotDocker(String),
    #[error("\"{shown}\" is {len} characters long; a name is at most 63 (a DNS label)")]
    TooLong { shown: String, len: usize },
    #[error("\"{0}\" is not a variable name: a name is not empty and has no `=`")]
    NotAVariable(String),
}

/// Docker's and DNS's rule for a name qalens gives a container or a network alias: 1 to
/// 63 letters, digits, `_`, `.` or `-`, starting with a letter or a digit.
pub(super) fn check_name(name: &str) -> Result<(), NameError> {
    let shown = || crate::input::shorten(name, 40).to_string();
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.is_empty() {
        Err(NameError::Empty)
    } else if !first_ok || !rest_ok {
        Err(NameError::NotDocker(shown()))
    } else if name.len() > 63 {
        Err(NameError::TooLong {
            shown: shown(),
            len: name.len(),
        })
    } else {
        Ok(())
    }
}

/// Why an image reference is refused; each variant holds the reference as shown (at
/// most 60 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ImageNameError {
    #[error("image \"{0}\" has a digest (@sha256:...); qalens takes NAME[:TAG]")]
    Digest(String),
    #[error("image \"{0}\" has a name longer than 255 characters, the most Docker accepts")]
    NameTooLong(String),
    #[error(
        "image \"{0}\" has a tag Docker does not accept: up to 128 letters, digits, `_`, \
         `.`, `-`"
    )]
    Tag(String),
    #[error("image \"{0}\" has a registry part Docker does not accept")]
    Registry(String),
    #[error(
        "image \"{0}\" is not a Docker image name: lower-case letters, digits and `.`, `_`, \
         `-` between them, parts separated by `/`"
    )]
    Name(String),
}

/// The image reference as Docker reads it: `[DOMAIN[:PORT]/]PATH[:TAG]`, the path in
/// lower case, at most 255 characters, the tag at most 128.
fn check_image(image: &str) -> Result<(), ImageNameError> {
    let shown = || crate::input::shorten(image, 60).to_string();
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], Some(&image[last_slash + i + 1..])),
        None => (image, None),
    };
    if image.contains('@') {
        return Err(ImageNameError::Digest(shown()));
    }
    if name.len() > 255 {
        return Err(ImageNameError::NameTooLong(shown()));
    }
    if let Some(tag) = tag {
        let ok = tag.len() <= 128
            && tag
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err(ImageNameError::Tag(shown()));
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let domain = parts.len() > 1
        && (parts[0].contains(['.', ':'])
            || parts[0] == "localhost"
            || parts[0].chars().any(|c| c.is_ascii_uppercase()));
    if domain {
        let d = parts.remove(0);
        let ok = !d.is_empty()
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !ok {
            return Err(ImageNameError::Registry(shown()));
        }
    }
    let component_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.chars()
                .last()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
    };
    if !parts.iter().all(|p| component_ok(p)) {
        return Err(ImageNameError::Name(shown()));
    }
    Ok(())
}

/// An environment variable's name: not empty, no `=`.
pub(super) fn check_env_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() || name.contains('=') {
        return Err(NameError::NotAVariable(
            crate::input::shorten(name, 40).to_string(),
        ));
    }
    Ok(())
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
        let build = match self.build {
            None => None,
            Some(raw) => {
                let (context, dockerfile, args) = match raw {
                    RawBuild::Context(c) => (c, None, None),
                    RawBuild::Long(l) => (l.context, l.dockerfile, l.args),
                };
                let args = variables("build.args", args)?;
                Some(
                    super::build::Build::new(dir, &context, dockerfile, args)
                        .map_err(|e| invalid("build", e))?,
                )
            }
        };
        let image = match (&build, self.image) {
            (None, None) => {
                return Err(invalid(
                    "image",
                    "every service needs an image, or a `build` qalens builds it from",
                ));
            }
            (None, Some(image)) => {
                check_image(image.trim()).map_err(|e| wrong("image", e))?;
                ImageRef::parse(&image).map_err(|e| wrong("image", format!("{e:#}")))?
            }
            // Built: named after `image` (its tag left out), else the service; tagged by
            // the digest of what the build reads.
            (Some(b), image) => {
                let name = match image {
                    Some(image) => {
                        check_image(image.trim()).map_err(|e| wrong("image", e))?;
                        ImageRef::parse(&image)
                            .map_err(|e| wrong("image", format!("{e:#}")))?
                            .name
                    }
                    None => format!("qalens-build/{}", name.to_ascii_lowercase()),
                };
                ImageRef {
                    name,
                    tag: b.tag().to_string(),
                }
            }
        };
        let command = self.command.map(|c| argv("command", c)).transpose()?;
        let entrypoint = self.entrypoint.map(|c| argv("entrypoint", c)).transpose()?;
        let environment = variables("environment", self.environment)?;

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
                    Some(StringOrList::String(s)) if s.trim().is_empty() => {
                        return Err(invalid(
                            "healthcheck.test",
                            "the test is empty: give a command, or `disable: true`",
                        ));
                    }
                    Some(StringOrList::String(s)) => vec!["/bin/sh".into(), "-c".into(), s],
                    Some(StringOrList::List(l)) => match l.split_first() {
                        Some((first, rest))
                            if first == "CMD" && rest.first().is_some_and(|c| !c.is_empty()) =>
                        {
                            rest.to_vec()
                        }
                        Some((first, [cmd])) if first == "CMD-SHELL" && !cmd.trim().is_empty() => {
                            vec!["/bin/sh".into(), "-c".into(), cmd.clone()]
                        }
                        Some((first, [])) if first == "NONE" => vec![],
                        _ => {
                            return Err(wrong(
                                "healthcheck.test",
                                "expected [\"CMD\", program, args...], [\"CMD-SHELL\", \"command\"] or a \
                                 string, with a command that is not empty",
                            ));
                        }
                    },
                };
                if let Some(t) = h.timeout.as_deref()
                    && parse_duration(t).is_ok_and(|d| d < Duration::from_millis(1))
                {
                    return Err(invalid(
                        "healthcheck.timeout",
                        "a healthcheck timeout is at least 1ms",
                    ));
                }
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
            if !target.starts_with('/') {
                return Err(invalid(
                    &key,
                    format!(
                        "the bind target \"{}\" is not an absolute path: Docker mounts only at \
                         a path starting with /",
                        crate::input::shorten(&target, 60)
                    ),
                ));
            }
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
                for (net, attachment) in m {
                    for (i, alias) in attachment.into_iter().flat_map(|a| a.aliases).enumerate() {
                        check_name(&alias)
                            .map_err(|e| invalid(&format!("networks.{net}.aliases[{i}]"), e))?;
                        aliases.push(alias);
                    }
                }
            }
        }

        let numbered =
            self.scale.is_some() || self.deploy.as_ref().is_some_and(|d| d.replicas.is_some());
        let replicas_key = if self.scale.is_some() {
            "scale"
        } else {
            "deploy.replicas"
        };
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
            return Err(invalid(replicas_key, "replicas must be 1 to 9"));
        }

        Ok(Service {
            name: name.to_string(),
            image,
            build,
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

/// `environment` or `build.args` (`key`): a map (numbers and booleans become strings) or a
/// list of `KEY=value`.
fn variables(key: &str, v: Option<Environment>) -> Result<BTreeMap<String, String>, KeyError> {
    let mut out = BTreeMap::new();
    match v {
        None => {}
        Some(Environment::Map(map)) => {
            for (k, v) in map {
                check_env_name(&k).map_err(|e| wrong(&format!("{key}.{k}"), e))?;
                let v = match v {
                    None => String::new(),
                    Some(ScalarValue::String(s)) => s,
                    Some(ScalarValue::Num(n)) => n.to_string(),
                    Some(ScalarValue::Bool(b)) => b.to_string(),
                };
                out.insert(k, v);
            }
        }
        Some(Environment::List(list)) => {
            for (i, kv) in list.into_iter().enumerate() {
                let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                check_env_name(k).map_err(|e| wrong(&format!("{key}[{i}]"), e))?;
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    Ok(out)
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
