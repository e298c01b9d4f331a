//! What the catalog says of one step: its domain, description, example, and what a
//! system file must declare for it. Packs document their steps with these too.

use serde::Serialize;

/// Documentation of one step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepDoc {
    /// The domain, as in `features/` and `harness/src/steps/`.
    pub domain: &'static str,
    pub description: &'static str,
    /// A complete step line, keyword included, as written in a feature file.
    pub example: &'static str,
    /// What a system file must declare for the step to mean something there, beyond the
    /// step's pack: `qalens steps --system FILE` leaves the step out otherwise.
    pub needs: &'static [Need],
}

/// Something a step needs the system file to declare ([`StepDoc::needs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// A broker (`x-qalens.broker`).
    Broker,
    /// A link with a fault proxy (`x-qalens.links`).
    Link,
    /// JSON Schema contracts: a directory in `x-qalens.contracts`, or those an enabled
    /// pack bundles.
    Contracts,
    /// Tokens qalens signs (`x-qalens.identity.jwt`): a hostile token with chosen claims
    /// or header, which a static token or a token command cannot make.
    Jwt,
    /// An OpenAPI document in `x-qalens.contracts`.
    OpenApi,
    /// The entry point (`x-qalens.entry`): the step sends requests through it.
    Entry,
    /// A gateway whose replicas steps address one by one (`x-qalens.gateway`).
    Gateway,
    /// The scope of every route the sweep calls (`scope` in `x-qalens.routes`, the
    /// security requirements of its OpenAPI document, or, without `routes`, the
    /// gateway's own `/admin/routes`) and tokens that follow the scope asked for (a JWT
    /// identity or a command).
    RouteScopes,
}
