//! The private key a system file's JWT identity names: read bounded, parsed for its
//! algorithm, and tried once, so a file that holds no usable key is refused while the
//! system file is checked, before anything starts.

use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::JwtAlg;
use crate::input::{MAX_KEY_BYTES, read_bytes};

/// The key at `path` (relative to `dir`) for `alg` (RS256 or ES256), or why it is not one.
pub fn private_key(alg: JwtAlg, dir: &Path, path: &Path) -> Result<EncodingKey, String> {
    // Regular files only, at most 64 KiB: a FIFO or /dev/zero is refused.
    let pem = read_bytes(&dir.join(path), MAX_KEY_BYTES).map_err(|e| e.to_string())?;
    let not = |kind: &str, e: jsonwebtoken::errors::Error| {
        format!(
            "{} is not {kind} private key in PEM: {e}",
            dir.join(path).display()
        )
    };
    let (algorithm, key) = match alg {
        JwtAlg::RS256 => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&pem).map_err(|e| not("an RSA", e))?,
        ),
        JwtAlg::ES256 => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&pem).map_err(|e| not("a P-256 EC (PKCS#8)", e))?,
        ),
        JwtAlg::HS256 => return Err("HS256 signs with a secret, not a private key".into()),
    };
    // jsonwebtoken reads the key only when it signs: sign once now.
    jsonwebtoken::encode(&Header::new(algorithm), &serde_json::json!({}), &key).map_err(|e| {
        format!(
            "{} is not a private key {alg:?} can sign with: signing a {algorithm:?} token \
             failed: {e}",
            dir.join(path).display()
        )
    })?;
    Ok(key)
}
