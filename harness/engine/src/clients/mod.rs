//! Clients, in Jepsen's sense: how the harness talks to the system under test. Steps and
//! packs use them; they hold no per-scenario state.

pub mod amqp;
pub mod broker;
mod error;
mod exchange;
pub(crate) mod exec;
pub mod http;
pub mod inspect;
pub mod mark;
pub mod raw;
pub mod routes;

pub use error::{ClientError, RawStage, ResponseError};
pub use exchange::{Client, Credentials, Exchange, Resource, SentLog};
pub use exec::{ExecError, Stage};
pub use mark::Mark;
