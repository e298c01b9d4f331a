//! What the harness runs itself, configurable through the environment: the fault proxies'
//! image and the host-built `refsys` binary they run.
//!
//! | variable | default | runs |
//! |---|---|---|
//! | `QALENS_RUNTIME_IMAGE` | `debian:bookworm-slim` | the fault proxies (`refsys proxy`, mounted in) |
//! | `QALENS_REFSYS_BIN` | `refsys` beside the running binary | the host-built `refsys` binary |
//! | `QALENS_BIN` | the running `qalens` | the fault proxies (`qalens proxy`, mounted in) |
//!
//! The services' images are the system file's: the reference file and the examples name
//! them with `${QALENS_RABBITMQ_IMAGE:-...}`, `${QALENS_REDIS_IMAGE:-...}`,
//! `${QALENS_NGINX_IMAGE:-...}` and `${QALENS_RUNTIME_IMAGE:-...}`, which the system file's
//! interpolation reads. The defaults are public images for machines whose Docker can pull;
//! `ci/` scripts build one offline image and point the variables at it.

use std::path::{Path, PathBuf};

/// Why an image reference or the `refsys` binary is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image reference {reference:?} must be NAME[:TAG] without spaces")]
    Spaces { reference: String },
    #[error("image reference {reference:?} must be NAME[:TAG]")]
    NotNameTag { reference: String },
    /// A reference read from an environment variable.
    #[error("in {var}: {cause}")]
    InVariable { var: String, cause: Box<ImageError> },
    #[error("QALENS_REFSYS_BIN={} is not a file", .0.display())]
    RefsysNotAFile(PathBuf),
    #[error("cannot locate the running executable: {0}")]
    NoExecutable(std::io::Error),
    #[error(
        "the refsys binary was not found (looked at {}); build it with `cargo build -p refsys` \
         or set QALENS_REFSYS_BIN to its path",
        .0.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    RefsysNotFound(Vec<PathBuf>),
    #[error("QALENS_BIN={} is not a file", .0.display())]
    QalensNotAFile(PathBuf),
    #[error("QALENS_BIN={}: {cause}", path.display())]
    QalensPath {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "the qalens binary was not found at {} (the fault proxies run it); build it with \
         `cargo build -p qalens` or set QALENS_BIN to its path",
        .0.display()
    )]
    QalensNotFound(PathBuf),
}

/// An image reference `NAME:TAG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: String,
}

impl ImageRef {
    /// Parses `NAME[:TAG]` (a `:` inside a registry host's port is not a tag separator).
    pub(crate) fn parse(s: &str) -> Result<Self, ImageError> {
        let s = s.trim();
        if s.is_empty() || s.contains(char::is_whitespace) {
            return Err(ImageError::Spaces {
                reference: s.to_string(),
            });
        }
        let last_slash = s.rfind('/').map_or(0, |i| i + 1);
        match s[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let (name, tag) = (&s[..at], &s[at + 1..]);
                if name.is_empty() || tag.is_empty() {
                    return Err(ImageError::NotNameTag {
                        reference: s.to_string(),
                    });
                }
                Ok(Self {
                    name: name.to_string(),
                    tag: tag.to_string(),
                })
            }
            None => Ok(Self {
                name: s.to_string(),
                tag: "latest".to_string(),
            }),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// The images the harness runs itself in a topology.
#[derive(Debug, Clone)]
pub struct Images {
    /// The fault proxies' image (`QALENS_RUNTIME_IMAGE`).
    pub runtime: ImageRef,
}

fn from_env(var: &str, default: &str) -> Result<ImageRef, ImageError> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty());
    ImageRef::parse(value.as_deref().unwrap_or(default)).map_err(|e| ImageError::InVariable {
        var: var.to_string(),
        cause: Box::new(e),
    })
}

impl Images {
    pub fn from_env() -> Result<Self, ImageError> {
        Ok(Self {
            runtime: from_env("QALENS_RUNTIME_IMAGE", "debian:bookworm-slim")?,
        })
    }
}

/// Finds the host-built `refsys` binary: `QALENS_REFSYS_BIN`, else `refsys` in the
/// directory of the running executable (or its parent, for test binaries in `deps/`).
pub fn refsys_binary() -> Result<PathBuf, ImageError> {
    if let Some(p) = std::env::var_os("QALENS_REFSYS_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(ImageError::RefsysNotAFile(p));
        }
        return Ok(p);
    }
    let exe = std::env::current_exe().map_err(ImageError::NoExecutable)?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [dir.join("refsys"), dir.join("..").join("refsys")];
    for c in &candidates {
        if c.is_file() {
            return Ok(c.canonicalize().unwrap_or_else(|_| c.clone()));
        }
    }
    Err(ImageError::RefsysNotFound(candidates.to_vec()))
}

/// Finds the `qalens` binary the fault proxies run (`qalens proxy`, mounted into their
/// containers): `QALENS_BIN`, else the running executable, unless that is a test binary
/// in Cargo's `deps/` folder (the `features` test target): then the `qalens` Cargo built
/// one folder up.
pub fn qalens_binary() -> Result<PathBuf, ImageError> {
    let exe = std::env::current_exe().map_err(ImageError::NoExecutable)?;
    qalens_binary_from(std::env::var_os("QALENS_BIN"), exe)
}

/// [`qalens_binary`] for the value of `QALENS_BIN` and the running executable `exe`.
fn qalens_binary_from(
    var: Option<std::ffi::OsString>,
    exe: PathBuf,
) -> Result<PathBuf, ImageError> {
    if let Some(p) = var.filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(ImageError::QalensNotAFile(p));
        }
        // Docker reads a relative bind-mount source as a volume name.
        return std::path::absolute(&p).map_err(|cause| ImageError::QalensPath { path: p, cause });
    }
    let dir = exe.parent().unwrap_or(Path::new("."));
    if dir.file_name().is_none_or(|d| d != "deps") {
        return Ok(exe);
    }
    let built = dir.join("..").join("qalens");
    if !built.is_file() {
        return Err(ImageError::QalensNotFound(built));
    }
    Ok(built.canonicalize().unwrap_or(built))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxies_run_the_running_qalens_or_the_one_built_beside_a_test() {
        let dir = std::env::temp_dir().join(format!("qalens-bin-{}", std::process::id()));
        let deps = dir.join("deps");
        std::fs::create_dir_all(&deps).unwrap();
        let installed = dir.join("qalens");
        // The CLI itself, wherever it is installed.
        assert_eq!(
            qalens_binary_from(None, installed.clone()).unwrap(),
            installed
        );
        // A test binary in deps/: the qalens built one folder up, once it exists.
        let test_exe = deps.join("features-0123abcd");
        let e = qalens_binary_from(None, test_exe.clone()).unwrap_err();
        assert!(e.to_string().contains("QALENS_BIN"), "{e}");
        std::fs::write(&installed, "").unwrap();
        assert_eq!(
            qalens_binary_from(None, test_exe.clone()).unwrap(),
            installed.canonicalize().unwrap()
        );
        // QALENS_BIN wins, made absolute; one that is not a file is refused.
        let chosen = qalens_binary_from(Some(installed.clone().into()), test_exe.clone());
        assert_eq!(chosen.unwrap(), installed);
        // A relative one (Cargo runs tests in the crate's folder) would be a volume name.
        let relative = qalens_binary_from(Some("Cargo.toml".into()), test_exe.clone()).unwrap();
        assert!(relative.is_absolute(), "{}", relative.display());
        assert!(
            relative.ends_with("model/Cargo.toml"),
            "{}",
            relative.display()
        );
        let e = qalens_binary_from(Some("no/such/qalens".into()), test_exe).unwrap_err();
        assert!(e.to_string().contains("QALENS_BIN=no/such/qalens"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parses_name_and_tag() {
        let r = ImageRef::parse("qalens-base:abc123").unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_str()), ("qalens-base", "abc123"));
        let r = ImageRef::parse("localhost:5000/team/rabbit").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/team/rabbit", "latest")
        );
        let r = ImageRef::parse("localhost:5000/rabbit:3.13").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/rabbit", "3.13")
        );
        assert_eq!(r.to_string(), "localhost:5000/rabbit:3.13");
    }

    #[test]
    fn rejects_malformed_references() {
        assert!(ImageRef::parse("").is_err());
        assert!(ImageRef::parse("redis:").is_err());
        assert!(ImageRef::parse(":7").is_err());
        assert!(ImageRef::parse("re dis:7").is_err());
    }

    #[test]
    fn errors_say_what_is_wrong_and_where_it_was_read() {
        let e = ImageRef::parse("re dis:7").unwrap_err();
        assert_eq!(
            e.to_string(),
            "image reference \"re dis:7\" must be NAME[:TAG] without spaces"
        );
        let e = ImageError::InVariable {
            var: "QALENS_REDIS_IMAGE".into(),
            cause: Box::new(ImageRef::parse("redis:").unwrap_err()),
        };
        assert_eq!(
            e.to_string(),
            "in QALENS_REDIS_IMAGE: image reference \"redis:\" must be NAME[:TAG]"
        );
        let e = ImageError::RefsysNotFound(vec!["/a/refsys".into(), "/a/../refsys".into()]);
        assert_eq!(
            e.to_string(),
            "the refsys binary was not found (looked at /a/refsys, /a/../refsys); build it \
             with `cargo build -p refsys` or set QALENS_REFSYS_BIN to its path"
        );
    }
}
