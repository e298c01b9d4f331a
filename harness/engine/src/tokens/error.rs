//! Why a token could not be made: [`TokenError`], and [`CommandFailure`] for the identity
//! command.

use std::process::ExitStatus;

use jsonwebtoken::Algorithm;
use qalens_model::system::JwtAlg;
use qalens_model::system::keys::PrivateKeyError;

/// Why the [`super::Issuer`] could not make a token (or be made).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The system file's private key cannot sign (the model's message names the file).
    #[error("{0}")]
    Key(PrivateKeyError),
    /// The built-in other key (for wrongly signed tokens) did not load.
    #[error("{0}")]
    OtherKey(jsonwebtoken::errors::Error),
    #[error("{alg:?} needs a secret (HS256) or a private key")]
    NeedsKey { alg: JwtAlg },
    #[error("give exactly one of jwt, token or command")]
    NotOneMode,
    #[error("signing a {alg:?} token failed: {cause}")]
    Signing {
        alg: Algorithm,
        cause: jsonwebtoken::errors::Error,
    },
    #[error("{name:?} is not a time claim: nbf, iat or exp")]
    NotATimeClaim { name: String },
    /// A command's token asked for by a caller that cannot run the command.
    #[error(
        "no token was fetched yet for client {client} (tier {tier}, scope {scope:?}) from the \
         identity command {command} of {file}: a step that sets the client or its credentials \
         fetches it"
    )]
    NotFetched {
        client: String,
        tier: &'static str,
        scope: String,
        command: String,
        file: String,
    },
    /// This identity mode cannot make `what` (a hostile token, a narrowed scope).
    #[error("{}", cannot(.file, .lacks, .what))]
    Cannot {
        file: String,
        lacks: Lacks,
        what: String,
    },
    /// Claims or a header that did not (de)serialise.
    #[error("{0}")]
    Json(serde_json::Error),
    #[error("{token:?} is not a JWT")]
    NotAJwt { token: String },
    #[error("{0}")]
    Base64(base64::DecodeError),
    #[error("the identity command {command} (x-qalens.identity.command in {file}) {failure}")]
    Command {
        command: String,
        file: String,
        failure: CommandFailure,
    },
}

/// What an identity mode lacks for a token the harness would have to sign or alter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lacks {
    /// No `x-qalens.identity`.
    Identity,
    /// A JWT identity lacks nothing: the token can be made.
    Nothing,
    /// One static token for every client.
    Signing,
    /// Tokens from a command.
    Command,
}

fn cannot(file: &str, lacks: &Lacks, what: &str) -> String {
    let how = match lacks {
        Lacks::Identity => "has no x-qalens.identity",
        Lacks::Nothing => return format!("{what} can be made"),
        Lacks::Signing => "gives every client one static token (x-qalens.identity.token)",
        Lacks::Command => {
            "gets tokens from a command (x-qalens.identity.command), which qalens cannot \
             sign or alter"
        }
    };
    format!("{file} {how}: {what} needs x-qalens.identity.jwt (HS256, RS256 or ES256)")
}

/// Why the identity command gave no token; completes "the identity command ... ".
#[derive(Debug, thiserror::Error)]
pub enum CommandFailure {
    #[error("is empty")]
    Empty,
    #[error("could not start: {0}")]
    Start(std::io::Error),
    #[error("did not finish within {secs} s and was killed")]
    Timeout { secs: f64 },
    #[error("could not be waited on: {0}")]
    Wait(std::io::Error),
    /// `said` quotes its stderr ("its stderr was empty" when it was).
    #[error("failed ({status}) for client {client}; {said}")]
    Failed {
        status: ExitStatus,
        client: String,
        said: String,
    },
    #[error("printed no token for client {client}; {said}")]
    NoToken { client: String, said: String },
    #[error("printed more than one word for client {client} (a token has no spaces): {token:?}")]
    Words { client: String, token: String },
}
