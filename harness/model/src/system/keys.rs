//! The private key a system file's JWT identity names: read bounded, parsed for its
//! algorithm, and tried once, so a file that holds no usable key is refused while the
//! system file is checked, before anything starts.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::JwtAlg;
use crate::input::{InputError, MAX_KEY_BYTES, read_bytes};

/// Why a file is not a private key the identity can sign with. The message names the
/// file and holds its cause; the cause is not also handed out as a `source`.
#[derive(Debug, thiserror::Error)]
pub enum PrivateKeyError {
    /// The file cannot be read (not a regular file, larger than 64 KiB, an I/O error).
    #[error("{0}")]
    Read(InputError),
    /// The file holds no PEM key of the kind `alg` signs with.
    #[error("{} is not {} private key in PEM: {cause}", path.display(), pem_kind(*alg))]
    NotPem {
        path: PathBuf,
        alg: JwtAlg,
        cause: jsonwebtoken::errors::Error,
    },
    /// HS256 was asked for a private key.
    #[error("HS256 signs with a secret, not a private key")]
    Hs256,
    /// The key parsed but signing with it failed (a public key, a broken key).
    #[error(
        "{} is not a private key {alg:?} can sign with: signing a {alg:?} token failed: \
         {cause}",
        path.display()
    )]
    CannotSign {
        path: PathBuf,
        alg: JwtAlg,
        cause: jsonwebtoken::errors::Error,
    },
}

/// The kind of PEM key `alg` reads, as a message names it.
fn pem_kind(alg: JwtAlg) -> &'static str {
    match alg {
        JwtAlg::ES256 => "a P-256 EC (PKCS#8)",
        JwtAlg::RS256 | JwtAlg::HS256 => "an RSA",
    }
}

/// The key at `path` (relative to `dir`) for `alg` (RS256 or ES256), or why it is not one.
pub fn private_key(alg: JwtAlg, dir: &Path, path: &Path) -> Result<EncodingKey, PrivateKeyError> {
    let path = dir.join(path);
    // Regular files only, at most 64 KiB: a FIFO or /dev/zero is refused.
    let pem = read_bytes(&path, MAX_KEY_BYTES).map_err(PrivateKeyError::Read)?;
    let not = |cause| PrivateKeyError::NotPem {
        path: path.clone(),
        alg,
        cause,
    };
    let (algorithm, key) = match alg {
        JwtAlg::RS256 => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&pem).map_err(not)?,
        ),
        JwtAlg::ES256 => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&pem).map_err(not)?,
        ),
        JwtAlg::HS256 => return Err(PrivateKeyError::Hs256),
    };
    // jsonwebtoken reads the key only when it signs: sign once now.
    jsonwebtoken::encode(&Header::new(algorithm), &serde_json::json!({}), &key).map_err(
        |cause| PrivateKeyError::CannotSign {
            path: path.clone(),
            alg,
            cause,
        },
    )?;
    Ok(key)
}
