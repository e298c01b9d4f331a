//! Compose's `build:`: an image qalens builds from a context directory before the run,
//! instead of one named by `image`. The image's tag is a digest of everything the build
//! reads (the context's files, the Dockerfile's name, the build arguments), so an
//! unchanged context reuses the image built before and a changed one builds a new one.
//!
//! The context is walked here, once: the digest and the archive the engine sends to
//! Docker (`harness/engine/src/topology/build.rs`) cover the same entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most bytes of file content a build context may hold: it is read to compute the
/// digest every time the file loads, and sent whole to the engine when the image is
/// missing.
pub const MAX_CONTEXT_BYTES: u64 = 64 * 1024 * 1024;
/// The most entries (files, directories, links) a build context may hold.
pub const MAX_CONTEXT_ENTRIES: usize = 10_000;

/// A checked `build:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// The context directory, absolute.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context (`Dockerfile` by default).
    pub dockerfile: String,
    /// Build arguments (`ARG` in the Dockerfile), after variable substitution.
    pub args: BTreeMap<String, String>,
    /// The SHA-256 of everything the build reads, in hex.
    pub digest: String,
}

/// One entry of a build context, relative to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// With `/` between components, never empty.
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    /// A regular file; `mode` is its permission bits.
    File {
        mode: u32,
        size: u64,
    },
    /// A symbolic link, kept as a link (its target is not followed).
    Symlink {
        target: PathBuf,
    },
}

impl Build {
    /// Checks `context` (relative to `dir`, the system file's directory) and
    /// `dockerfile`, walks the context and computes the digest. The error says what is
    /// wrong, for the `build` key.
    pub(super) fn new(
        dir: &Path,
        context: &str,
        dockerfile: Option<String>,
        args: BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let full = dir.join(context);
        let context = full
            .canonicalize()
            .map_err(|e| format!("the build context {} cannot be used: {e}", full.display()))?;
        if !context.is_dir() {
            return Err(format!(
                "the build context {} is not a directory",
                context.display()
            ));
        }
        if context.join(".dockerignore").exists() {
            return Err(format!(
                "the build context {} has a .dockerignore, which qalens does not read: it \
                 sends the whole context; give the build a directory holding only what the \
                 image needs",
                context.display()
            ));
        }
        let dockerfile = dockerfile.unwrap_or_else(|| "Dockerfile".to_string());
        let relative = Path::new(&dockerfile);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "the dockerfile {dockerfile:?} is not a path inside the context: qalens \
                 sends only the context to the engine"
            ));
        }
        if !context.join(relative).is_file() {
            return Err(format!(
                "the dockerfile {} does not exist",
                context.join(relative).display()
            ));
        }
        let entries = entries(&context)?;
        let digest = digest(&context, &entries, &dockerfile, &args)?;
        Ok(Self {
            context,
            dockerfile,
            args,
            digest,
        })
    }

    /// The context's entries, sorted by path, as the digest covered them.
    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        entries(&self.context)
    }

    /// The tag the built image gets: the digest's first 12 hex digits.
    pub fn tag(&self) -> &str {
        &self.digest[..12]
    }
}

/// Every entry under `context`, sorted by path; a FIFO, socket or device is refused, and
/// so is a context over [`MAX_CONTEXT_BYTES`] or [`MAX_CONTEXT_ENTRIES`].
fn entries(context: &Path) -> Result<Vec<Entry>, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = vec![];
    let mut bytes = 0u64;
    let mut pending = vec![(context.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let listing = std::fs::read_dir(&dir)
            .map_err(|e| format!("the build context cannot be read at {}: {e}", dir.display()))?;
        for item in listing {
            let item = item.map_err(|e| format!("the build context cannot be read: {e}"))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                return Err(format!(
                    "{} in the build context has a name that is not UTF-8",
                    item.path().display()
                ));
            };
            let path = format!("{prefix}{name}");
            let meta = std::fs::symlink_metadata(item.path())
                .map_err(|e| format!("{} cannot be read: {e}", item.path().display()))?;
            let kind = if meta.is_dir() {
                pending.push((item.path(), format!("{path}/")));
                EntryKind::Dir
            } else if meta.is_symlink() {
                let target = std::fs::read_link(item.path())
                    .map_err(|e| format!("{} cannot be read: {e}", item.path().display()))?;
                EntryKind::Symlink { target }
            } else if meta.is_file() {
                bytes += meta.len();
                EntryKind::File {
                    mode: meta.permissions().mode() & 0o7777,
                    size: meta.len(),
                }
            } else {
                return Err(format!(
                    "{} in the build context is not a file, a directory or a link (a FIFO, \
                     a socket or a device)",
                    item.path().display()
                ));
            };
            out.push(Entry { path, kind });
            if out.len() > MAX_CONTEXT_ENTRIES || bytes > MAX_CONTEXT_BYTES {
                return Err(format!(
                    "the build context {} holds more than {MAX_CONTEXT_ENTRIES} entries or \
                     {} MiB: give the build a directory holding only what the image needs",
                    context.display(),
                    MAX_CONTEXT_BYTES / (1024 * 1024)
                ));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// SHA-256 over the Dockerfile's name, the arguments and every entry (path, kind, mode,
/// link target, content), each length-prefixed so no two contexts hash alike by
/// shifting bytes between fields.
fn digest(
    context: &Path,
    entries: &[Entry],
    dockerfile: &str,
    args: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut field = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_le_bytes());
        ctx.update(bytes);
    };
    field(b"qalens build 1");
    field(dockerfile.as_bytes());
    for (k, v) in args {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    for e in entries {
        field(e.path.as_bytes());
        match &e.kind {
            EntryKind::Dir => field(b"dir"),
            EntryKind::Symlink { target } => {
                field(b"link");
                field(target.as_os_str().as_encoded_bytes());
            }
            EntryKind::File { mode, .. } => {
                field(b"file");
                field(&mode.to_le_bytes());
                let content = std::fs::read(context.join(&e.path))
                    .map_err(|err| format!("{} cannot be read: {err}", e.path))?;
                field(&content);
            }
        }
    }
    let hash = ctx.finish();
    Ok(hash.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context with a Dockerfile, a file in a folder and a link, in a directory of its
    /// own.
    fn context() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qalens-build-{}", uuid_like()));
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM base\nCOPY conf /etc/app\n").unwrap();
        std::fs::write(dir.join("conf/app.conf"), "listen 8080\n").unwrap();
        std::os::unix::fs::symlink("conf/app.conf", dir.join("app.conf")).unwrap();
        dir
    }

    fn uuid_like() -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn build(dir: &Path, args: &[(&str, &str)]) -> Result<Build, String> {
        let args = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Build::new(dir, ".", None, args)
    }

    #[test]
    fn the_digest_follows_every_input_of_the_build_and_nothing_else() {
        let dir = context();
        let first = build(&dir, &[]).unwrap();
        assert_eq!(first.digest.len(), 64);
        assert_eq!(first.tag(), &first.digest[..12]);
        let paths: Vec<_> = first
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["Dockerfile", "app.conf", "conf", "conf/app.conf"]);
        // Loading again, or touching a file without changing it, keeps the digest.
        std::fs::write(dir.join("conf/app.conf"), "listen 8080\n").unwrap();
        assert_eq!(build(&dir, &[]).unwrap().digest, first.digest);
        let changed = |why: &str, b: Build| assert_ne!(b.digest, first.digest, "{why}");
        changed("an argument", build(&dir, &[("BASE", "x")]).unwrap());
        std::fs::write(dir.join("conf/app.conf"), "listen 8081\n").unwrap();
        let content = build(&dir, &[]).unwrap();
        changed("a file's content", content.clone());
        std::fs::write(dir.join("conf/new"), "").unwrap();
        changed("a new empty file", build(&dir, &[]).unwrap());
        std::fs::remove_file(dir.join("conf/new")).unwrap();
        assert_eq!(build(&dir, &[]).unwrap().digest, content.digest);
        use std::os::unix::fs::PermissionsExt as _;
        let script = dir.join("conf/app.conf");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        changed("a mode", build(&dir, &[]).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_context_qalens_cannot_send_as_docker_would_is_refused() {
        let dir = context();
        let refused = |context: &str, dockerfile: Option<&str>, says: &str| {
            let e = Build::new(
                &dir,
                context,
                dockerfile.map(str::to_string),
                BTreeMap::new(),
            )
            .unwrap_err();
            assert!(e.contains(says), "{context} {dockerfile:?}: {e}");
        };
        refused("missing", None, "cannot be used");
        refused("Dockerfile", None, "is not a directory");
        refused(".", Some("Other.dockerfile"), "does not exist");
        refused(
            ".",
            Some("../Dockerfile"),
            "is not a path inside the context",
        );
        refused(".", Some("/etc/passwd"), "is not a path inside the context");
        std::fs::write(dir.join(".dockerignore"), "target\n").unwrap();
        refused(".", None, "has a .dockerignore, which qalens does not read");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
