//! Reading the files users hand to qalens (system files, feature files, key files, OpenAPI
//! documents, route tables): only regular files, never more than a stated number of bytes,
//! UTF-8 with its position named when it is not, and a leading byte-order mark dropped.
//!
//! A FIFO, a character device such as `/dev/zero`, a socket or a directory is refused
//! before it is opened (opening a FIFO for reading blocks until a writer appears), and again
//! on the opened handle, so a file swapped between the two looks is refused too. A file
//! larger than its limit is refused with the limit in the message, after reading at most
//! one byte past it.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest system file, feature file or route table qalens reads: 4 MiB.
pub const MAX_TEXT_BYTES: u64 = 4 * 1024 * 1024;
/// The largest key file (PEM) qalens reads: 64 KiB.
pub(crate) const MAX_KEY_BYTES: u64 = 64 * 1024;
/// The largest contract document (JSON Schema or OpenAPI) qalens reads: 16 MiB.
pub(crate) const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file could not be read as input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The path names something other than a regular file.
    #[error("{}: is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    /// The file is larger than the limit for its kind.
    #[error("{}: is larger than {}, the most qalens reads from such a file", path.display(), human(*limit))]
    TooLarge { path: PathBuf, limit: u64 },
    /// The file is not UTF-8 text; `line` and `column` (1-based, in bytes) name the first
    /// byte that is not.
    #[error("{}:{line}:{column}: is not UTF-8 text", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// The operating system refused the read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `limit` bytes for a human: "4 MiB", "64 KiB", "100 bytes".
fn human(limit: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else if limit >= KIB && limit.is_multiple_of(KIB) {
        format!("{} KiB", limit / KIB)
    } else {
        format!("{limit} bytes")
    }
}

/// What `metadata` describes, in words, when it is not a regular file.
fn kind_of(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// Reads `path` as bytes: a regular file of at most `limit` bytes.
pub(crate) fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |meta: &std::fs::Metadata| match kind_of(meta) {
        Some(kind) => Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind,
        }),
        None if meta.len() > limit => Err(InputError::TooLarge {
            path: path.to_path_buf(),
            limit,
        }),
        None => Ok(()),
    };
    refuse(&std::fs::metadata(path).map_err(io)?)?;
    let file = std::fs::File::open(path).map_err(io)?;
    refuse(&file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// Reads `path` as UTF-8 text: a regular file of at most `limit` bytes, its byte-order
/// mark, if any, dropped.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    let bytes = read_bytes(path, limit)?;
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.len() - valid.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        InputError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column,
        }
    })
}

impl InputError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotRegular { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotUtf8 { path, .. }
            | Self::Io { path, .. } => path,
        }
    }
}

/// Cuts `text` to at most `max` characters for a message, saying how much was left out.
pub fn shorten(text: &str, max: usize) -> Shortened<'_> {
    Shortened { text, max }
}

/// See [`shorten`].
pub struct Shortened<'a> {
    text: &'a str,
    max: usize,
}

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text.char_indices().nth(self.max) {
            None => f.write_str(self.text),
            Some((cut, _)) => write!(
                f,
                "{}… ({} more bytes)",
                &self.text[..cut],
                self.text.len() - cut
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qalens-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn a_regular_file_is_read_and_its_bom_dropped() {
        let p = temp("bom.feature", b"\xEF\xBB\xBFFeature: x\n");
        assert_eq!(read_text(&p, 100).unwrap(), "Feature: x\n");
    }

    #[test]
    fn a_character_device_and_a_directory_are_refused_before_reading() {
        let e = read_text(Path::new("/dev/zero"), MAX_TEXT_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero: is a character device, not a regular file"
        );
        let e = read_text(Path::new("/"), MAX_TEXT_BYTES).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is a directory, not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("qalens-input-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pipe.feature");
        let _ = std::fs::remove_file(&p);
        let made = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(made.success());
        let e = read_text(&p, MAX_TEXT_BYTES).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is a FIFO (named pipe), not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn a_file_over_its_limit_is_refused_with_the_limit() {
        let p = temp("big.yml", &[b'a'; 2048]);
        let e = read_text(&p, 1024).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is larger than 1 KiB, the most qalens reads from such a file"),
            "{e}"
        );
        assert_eq!(read_text(&p, 2048).unwrap().len(), 2048);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_by_line_and_column() {
        let p = temp("latin1.feature", b"Feature: x\n  Scenario: caf\xE9\n");
        let e = read_text(&p, 100).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:2:16: is not UTF-8 text", p.display())
        );
    }

    #[test]
    fn long_values_are_cut_short_with_what_was_left_out() {
        assert_eq!(shorten("abc", 5).to_string(), "abc");
        assert_eq!(shorten("abcdefgh", 3).to_string(), "abc… (5 more bytes)");
        assert_eq!(shorten("ééé", 1).to_string(), "é… (4 more bytes)");
    }
}
