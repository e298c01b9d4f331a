//! The bearer tokens the harness presents, in one place. An [`Issuer`] is made from the
//! system file's `x-qalens.identity` and serves every step: a JWT signed with HS256 (a
//! secret), RS256 or ES256 (a PEM private key file), one static token, or whatever a
//! command prints for a client, tier and scope. It also makes the hostile tokens of the
//! identity steps (expired, signed by another key, `alg: none`, tampered) for the modes
//! where they mean something, and says clearly when a mode cannot make one.
//! `qalens token` and `qalens bench` use it too, so they work for every identity mode.

mod command;
mod error;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use contract_tools::jwt::Tier;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

use qalens_model::system::{Identity, JwtAlg};

pub use error::{CommandFailure, Lacks, TokenError};

/// Another key than the system's, to sign the tokens a gateway must refuse as wrongly
/// signed (generated for this purpose with openssl; it protects nothing).
const NOT_THE_SYSTEM_KEY_RS256: &str = include_str!("not-the-system-key-rs256.pem");
const NOT_THE_SYSTEM_KEY_ES256: &str = include_str!("not-the-system-key-es256.pem");

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Who a token is for: the client id, its tier and its space-separated scopes.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub client: &'a str,
    pub tier: Tier,
    pub scope: &'a str,
}

impl Who<'_> {
    fn tier_name(&self) -> &'static str {
        match self.tier {
            Tier::Free => "free",
            Tier::Paid => "paid",
        }
    }

    /// `s` with `{client}`, `{tier}` and `{scope}` (or `{scopes}`) replaced.
    fn fill(&self, s: &str) -> String {
        s.replace("{client}", self.client)
            .replace("{tier}", self.tier_name())
            .replace("{scopes}", self.scope)
            .replace("{scope}", self.scope)
    }
}

/// A token lifetime long enough for any scenario (seconds).
pub const TOKEN_TTL: u64 = 3600;

/// How long before its expiry a kept token is replaced by a new one (seconds): a request
/// never presents a token that may expire on its way.
pub(crate) const RENEW_BEFORE: u64 = 60;

/// Scopes that are not `scope` but look like it to a sloppy comparison (by prefix or
/// substring): it cut short by one character and it extended by one.
fn near_misses(scope: &str) -> [String; 2] {
    let mut cut = scope.to_string();
    cut.pop();
    [cut, format!("{scope}x")]
}

/// The scope of a token that must not pass a route opened by `missing` (its scopes,
/// space-separated): every scope of `all` but those. No near miss of them: a gateway
/// that lets such a token through has a fault of its own ([`near_misses_of`]), which a
/// sweep aimed at another fault must not stumble on.
pub fn every_scope_but(all: &std::collections::BTreeSet<&str>, missing: &str) -> String {
    let missing: Vec<&str> = missing.split_whitespace().collect();
    all.iter()
        .copied()
        .filter(|s| !missing.contains(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scope of a token holding only near misses of `scope`'s words (each cut short by
/// one character and extended by one), none of them a scope of `all`: a gateway that
/// compares scopes by prefix, by substring or by the resource before `:` lets it through.
pub fn near_misses_of(all: &std::collections::BTreeSet<&str>, scope: &str) -> String {
    let mut out: Vec<String> = vec![];
    for word in scope.split_whitespace() {
        for miss in near_misses(word) {
            if !miss.is_empty() && !all.contains(miss.as_str()) && !out.contains(&miss) {
                out.push(miss);
            }
        }
    }
    out.join(" ")
}

/// A hostile token the identity steps present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abuse {
    /// Correctly signed, but its `exp` is this second (in the past).
    ExpiredAt(u64),
    /// Signed by another key of the same algorithm (another secret for HS256).
    WrongKey,
    /// `alg: none` and no signature.
    AlgNone,
    /// A valid token whose claims were changed after signing (the scope gains `admin`).
    Tampered,
    /// Correctly signed, its `nbf` (not before) this second (in the future).
    NotBefore(u64),
    /// Correctly signed, its `iat` (issued at) this second (in the future).
    IssuedAt(u64),
    /// Correctly signed, its `exp` this second (far ahead, beyond any sane lifetime).
    ExpiresAt(u64),
    /// Correctly signed, without an `exp` claim.
    NoExpiry,
    /// Correctly signed, its header's `crit` naming an extension nobody understands
    /// (RFC 7515 4.1.11: a recipient that does not must refuse the token).
    CriticalExtension,
    /// Correctly signed, this time claim (`nbf`, `iat` or `exp`) the string `"garbage"`.
    NotANumber(TimeClaim),
}

/// A claim that holds a time (RFC 7519 NumericDate: seconds since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeClaim {
    Nbf,
    Iat,
    Exp,
}

impl TimeClaim {
    /// The claim's name in a token.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeClaim::Nbf => "nbf",
            TimeClaim::Iat => "iat",
            TimeClaim::Exp => "exp",
        }
    }

    /// The claim named `name`.
    pub fn parse(name: &str) -> Result<Self, TokenError> {
        match name {
            "nbf" => Ok(TimeClaim::Nbf),
            "iat" => Ok(TimeClaim::Iat),
            "exp" => Ok(TimeClaim::Exp),
            other => Err(TokenError::NotATimeClaim {
                name: other.to_string(),
            }),
        }
    }
}

/// The extension a [`Abuse::CriticalExtension`] token marks critical, and sets.
pub(crate) const UNKNOWN_EXTENSION: &str = "x-qalens-unknown-extension";

impl Abuse {
    fn name(self) -> &'static str {
        match self {
            Abuse::ExpiredAt(_) => "an expired token",
            Abuse::WrongKey => "a token signed with the wrong key",
            Abuse::AlgNone => "an unsigned alg-none token",
            Abuse::Tampered => "a tampered token",
            Abuse::NotBefore(_) => "a token not valid yet (nbf)",
            Abuse::IssuedAt(_) => "a token issued in the future (iat)",
            Abuse::ExpiresAt(_) => "a token with a chosen expiry",
            Abuse::NoExpiry => "a token without an expiry",
            Abuse::CriticalExtension => "a token with a critical header extension",
            Abuse::NotANumber(_) => "a token whose time claim is not a number",
        }
    }
}

/// How the system's clients get their tokens (see the module docs).
#[derive(Clone)]
pub struct Issuer {
    mode: Mode,
    /// The system file, for messages.
    file: String,
}

#[derive(Clone)]
enum Mode {
    /// No `x-qalens.identity`: clients present no token.
    Anonymous,
    Jwt(Arc<Signer>),
    Static(String),
    Command(Arc<command::TokenCommand>),
}

struct Signer {
    alg: Algorithm,
    key: EncodingKey,
    /// Another key of the same kind, for [`Abuse::WrongKey`].
    wrong: EncodingKey,
    /// Extra claims; placeholders in string values are filled per client.
    claims: BTreeMap<String, Value>,
    /// The token each client presents ([`Issuer::presented`]) and its `exp`, by client,
    /// tier and scope.
    kept: std::sync::Mutex<std::collections::HashMap<Holder, (String, u64)>>,
}

/// Who holds a kept token: client, tier and scope.
type Holder = (String, String, String);

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl serde::Serialize for Issuer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.describe())
    }
}

impl Issuer {
    /// The issuer `identity` describes; paths are relative to `dir`, `file` names the
    /// system file in messages. An unreadable or wrong key is an error.
    pub fn from_system(
        identity: Option<&Identity>,
        dir: &Path,
        file: &Path,
    ) -> Result<Self, TokenError> {
        let mode = match identity {
            None => Mode::Anonymous,
            Some(Identity { jwt: Some(j), .. }) => {
                let (alg, key, wrong) = match (j.alg, &j.secret, &j.private_key) {
                    (JwtAlg::HS256, Some(secret), _) => (
                        Algorithm::HS256,
                        EncodingKey::from_secret(secret.as_bytes()),
                        EncodingKey::from_secret(format!("not-{secret}").as_bytes()),
                    ),
                    (JwtAlg::RS256, _, Some(p)) => (
                        Algorithm::RS256,
                        qalens_model::system::keys::private_key(JwtAlg::RS256, dir, p)
                            .map_err(TokenError::Key)?,
                        EncodingKey::from_rsa_pem(NOT_THE_SYSTEM_KEY_RS256.as_bytes())
                            .map_err(TokenError::OtherKey)?,
                    ),
                    (JwtAlg::ES256, _, Some(p)) => (
                        Algorithm::ES256,
                        qalens_model::system::keys::private_key(JwtAlg::ES256, dir, p)
                            .map_err(TokenError::Key)?,
                        EncodingKey::from_ec_pem(NOT_THE_SYSTEM_KEY_ES256.as_bytes())
                            .map_err(TokenError::OtherKey)?,
                    ),
                    (alg, _, _) => return Err(TokenError::NeedsKey { alg }),
                };
                let signer = Signer {
                    alg,
                    key,
                    wrong,
                    claims: j.claims.clone(),
                    kept: Default::default(),
                };
                Mode::Jwt(Arc::new(signer))
            }
            Some(Identity { token: Some(t), .. }) => Mode::Static(t.clone()),
            Some(Identity {
                command: Some(argv),
                ..
            }) => Mode::Command(Arc::new(command::TokenCommand::new(
                argv.clone(),
                dir.to_path_buf(),
            ))),
            Some(_) => return Err(TokenError::NotOneMode),
        };
        Ok(Self {
            mode,
            file: file.display().to_string(),
        })
    }

    /// HS256 with `secret` and no extra claims (for tests).
    #[cfg(test)]
    pub(crate) fn hs256(secret: &str) -> Self {
        let identity = Identity {
            jwt: Some(qalens_model::system::Jwt {
                alg: JwtAlg::HS256,
                secret: Some(secret.to_string()),
                private_key: None,
                claims: BTreeMap::new(),
            }),
            token: None,
            command: None,
            scopes: vec![],
        };
        Self::from_system(Some(&identity), Path::new("."), Path::new("(built in)"))
            .unwrap_or_else(|e| unreachable!("an HS256 secret always makes a key: {e}"))
    }

    /// One line on the mode, as `qalens up` prints it.
    pub(crate) fn describe(&self) -> String {
        match &self.mode {
            Mode::Anonymous => "no identity: clients present no token".into(),
            Mode::Jwt(s) => format!("{:?} JWT", s.alg),
            Mode::Static(_) => "a static token".into(),
            Mode::Command(c) => format!("the command {}", c.shown()),
        }
    }

    /// Whether this issuer signs JWTs itself (and so can make every hostile token).
    pub fn signs(&self) -> bool {
        matches!(self.mode, Mode::Jwt(_))
    }

    /// Whether the tokens follow the scope asked for (a JWT the harness signs, or a
    /// command given `{scope}`); a static token is the same whatever is asked.
    pub(crate) fn follows_scope(&self) -> bool {
        matches!(self.mode, Mode::Jwt(_) | Mode::Command(_))
    }

    /// The `Authorization` header value of a valid token for `who`, valid until `exp`;
    /// `None` when the system has no identity. A command runs (at most once per client,
    /// tier and scope: its tokens are kept) as a tokio child process with its deadline,
    /// so the runtime's threads stay free while it runs.
    pub async fn valid(&self, who: &Who<'_>, exp: u64) -> Result<Option<String>, TokenError> {
        if let Mode::Command(c) = &self.mode {
            return Ok(Some(format!("Bearer {}", c.token(who, &self.file).await?)));
        }
        self.fetched(who, exp)
    }

    /// What [`Issuer::valid`] gives, for callers that cannot wait: it never runs the
    /// token command, so a command's token must have been fetched with `valid` first
    /// (the identity steps fetch it when they name the client or its credentials).
    pub fn fetched(&self, who: &Who, exp: u64) -> Result<Option<String>, TokenError> {
        Ok(Some(match &self.mode {
            Mode::Anonymous => return Ok(None),
            Mode::Jwt(s) => format!("Bearer {}", s.sign(who, exp, false)?),
            Mode::Static(t) => format!("Bearer {t}"),
            Mode::Command(c) => format!(
                "Bearer {}",
                c.cached(who).ok_or_else(|| TokenError::NotFetched {
                    client: who.client.to_string(),
                    tier: who.tier_name(),
                    scope: who.scope.to_string(),
                    command: c.shown(),
                    file: self.file.clone(),
                })?
            ),
        }))
    }

    /// The `Authorization` header value a client presents as its valid token: one and
    /// the same for the token's lifetime. A JWT is signed once per client, tier and scope
    /// (valid for [`TOKEN_TTL`]) and signed again only when it is within
    /// [`RENEW_BEFORE`] of its expiry; a front door that pins clients by their
    /// `Authorization` header then keeps a client on one replica. A narrowed scope is
    /// another token. A static token is always the same; a command's is the one it
    /// printed (fetched with [`Issuer::valid`] first); `None` without an identity.
    pub fn presented(&self, who: &Who) -> Result<Option<String>, TokenError> {
        let Mode::Jwt(s) = &self.mode else {
            return self.fetched(who, now() + TOKEN_TTL);
        };
        let key = (
            who.client.to_string(),
            who.tier_name().to_string(),
            who.scope.to_string(),
        );
        let mut kept = s.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, exp)) = kept.get(&key)
            && now() + RENEW_BEFORE < *exp
        {
            return Ok(Some(token.clone()));
        }
        let exp = now() + TOKEN_TTL;
        let token = format!("Bearer {}", s.sign(who, exp, false)?);
        kept.insert(key, (token.clone(), exp));
        Ok(Some(token))
    }

    /// The `Authorization` header value of a hostile token for `who`, or why this
    /// system's identity mode cannot make one.
    pub fn abused(&self, who: &Who, abuse: Abuse, ttl: u64) -> Result<String, TokenError> {
        let Mode::Jwt(s) = &self.mode else {
            return Err(self.cannot(abuse.name()));
        };
        let token = match abuse {
            Abuse::ExpiredAt(exp) => s.sign(who, exp, false)?,
            Abuse::WrongKey => s.sign(who, now() + ttl, true)?,
            Abuse::AlgNone => {
                let claims =
                    serde_json::to_string(&s.claims(who, now() + ttl)).map_err(TokenError::Json)?;
                format!(
                    "{}.{}.",
                    URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
                    URL_SAFE_NO_PAD.encode(claims)
                )
            }
            Abuse::Tampered => tamper(&s.sign(who, now() + ttl, false)?)?,
            Abuse::ExpiresAt(exp) => s.sign(who, exp, false)?,
            Abuse::NotBefore(_)
            | Abuse::IssuedAt(_)
            | Abuse::NoExpiry
            | Abuse::CriticalExtension
            | Abuse::NotANumber(_) => {
                let mut claims = s.claims(who, now() + ttl);
                let mut header = serde_json::json!({"alg": format!("{:?}", s.alg), "typ": "JWT"});
                match abuse {
                    Abuse::NotBefore(nbf) => claims["nbf"] = nbf.into(),
                    Abuse::IssuedAt(iat) => claims["iat"] = iat.into(),
                    Abuse::NoExpiry => {
                        if let Value::Object(map) = &mut claims {
                            map.remove("exp");
                        }
                    }
                    Abuse::CriticalExtension => {
                        header["crit"] = serde_json::json!([UNKNOWN_EXTENSION]);
                        header[UNKNOWN_EXTENSION] = true.into();
                    }
                    Abuse::NotANumber(claim) => claims[claim.name()] = "garbage".into(),
                    _ => unreachable!("the other abuses are signed above"),
                }
                s.sign_raw(&header, &claims)?
            }
        };
        Ok(format!("Bearer {token}"))
    }

    /// What to check when the gateway answered 401 to `authorization`, a valid token of
    /// this identity, as a positive control: the identity probably does not match what
    /// the gateway verifies (a wrong secret passes every hostile-token check and fails only
    /// these). Names what the token carried; `None` without an identity.
    pub fn refused_hint(&self, authorization: &str) -> Option<String> {
        let carried = decoded(authorization)
            .map(|t| format!("; the token carried {t}"))
            .unwrap_or_default();
        let file = &self.file;
        Some(match &self.mode {
            Mode::Anonymous => return None,
            Mode::Jwt(s) => format!(
                "the gateway refused (401) a valid token qalens signed with x-qalens.identity \
                 of {file}: check that it matches what the gateway verifies (the secret or \
                 key, alg {:?}, and the issuer and audience claims it expects, set in \
                 x-qalens.identity.jwt.claims){carried}",
                s.alg
            ),
            Mode::Static(_) => format!(
                "the gateway refused (401) the static token of x-qalens.identity.token in \
                 {file}: check that it is the token the gateway expects"
            ),
            Mode::Command(c) => format!(
                "the gateway refused (401) the token {} printed (x-qalens.identity.command in \
                 {file}): check that it prints a token the gateway accepts{carried}",
                c.shown()
            ),
        })
    }

    /// Why a step that needs the harness to sign tokens cannot run on this system.
    pub fn cannot(&self, what: &str) -> TokenError {
        TokenError::Cannot {
            file: self.file.clone(),
            lacks: match &self.mode {
                Mode::Anonymous => Lacks::Identity,
                Mode::Jwt(_) => Lacks::Nothing,
                Mode::Static(_) => Lacks::Signing,
                Mode::Command(_) => Lacks::Command,
            },
            what: what.to_string(),
        }
    }
}

impl Signer {
    fn claims(&self, who: &Who, exp: u64) -> Value {
        let mut map = Map::new();
        map.insert("sub".into(), who.client.into());
        map.insert("tier".into(), who.tier_name().into());
        map.insert("scope".into(), who.scope.into());
        for (k, v) in &self.claims {
            map.insert(k.clone(), fill(v, who));
        }
        // The expiry is what the token-abuse steps control: the file cannot override it.
        map.insert("exp".into(), exp.into());
        Value::Object(map)
    }

    fn sign(&self, who: &Who, exp: u64, wrong_key: bool) -> Result<String, TokenError> {
        let key = if wrong_key { &self.wrong } else { &self.key };
        let mut header = Header::new(self.alg);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &self.claims(who, exp), key).map_err(|cause| {
            TokenError::Signing {
                alg: self.alg,
                cause,
            }
        })
    }
}

impl Signer {
    /// A token of `header` and `claims` as given, signed with the system's key: for the
    /// hostile headers and claims `jsonwebtoken::Header` and [`Signer::claims`] cannot
    /// express.
    fn sign_raw(&self, header: &Value, claims: &Value) -> Result<String, TokenError> {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).map_err(|cause| {
                TokenError::Signing {
                    alg: self.alg,
                    cause,
                }
            })?;
        Ok(format!("{input}.{signature}"))
    }
}

/// `v` with the placeholders of every string in it filled for `who`.
fn fill(v: &Value, who: &Who) -> Value {
    match v {
        Value::String(s) => Value::String(who.fill(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| fill(v, who)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), fill(v, who))).collect())
        }
        other => other.clone(),
    }
}

/// The header and claims of the JWT in an `Authorization` header value, decoded and
/// unverified, as one line for a failure message (`header {..}, claims {..}`): a reader
/// of a failed check on a hostile token sees which claim got through. `None` when the
/// value is not a bearer JWT.
pub fn decoded(authorization: &str) -> Option<String> {
    let token = authorization.strip_prefix("Bearer ")?;
    let mut segments = token.split('.');
    let mut json = || -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(segments.next()?).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let (header, claims) = (json()?, json()?);
    Some(format!("header {header}, claims {claims}"))
}

/// `token` with `admin` added to its scope after signing, the signature kept.
fn tamper(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::NotAJwt {
            token: token.to_string(),
        });
    };
    let bytes = URL_SAFE_NO_PAD.decode(claims).map_err(TokenError::Base64)?;
    let mut claims: Value = serde_json::from_slice(&bytes).map_err(TokenError::Json)?;
    let scope = claims["scope"].as_str().unwrap_or_default();
    claims["scope"] = format!("admin {scope}").trim().into();
    let claims = serde_json::to_string(&claims).map_err(TokenError::Json)?;
    Ok(format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims)
    ))
}
