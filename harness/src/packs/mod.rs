//! Domain packs: the steps, per-scenario state, catalog entries and knowledge that belong
//! to one system's domain rather than to any system. A system file enables a pack with
//! `x-qalens.packs`; without it the pack's steps are flagged by `qalens check` (and
//! before a run), left out of `qalens steps --system FILE`, and fail at run time with a
//! message that says so.
//!
//! **Architecture invariant:** this module is the one place generic code reaches a pack
//! through; nothing outside `packs/` imports from a pack, and the World holds a pack's
//! state only in its type-keyed [`crate::world::Extensions`].

pub mod reference;

use contract_tools::schema::Registry;

use crate::catalog::StepDoc;
use crate::context;
use crate::system::{Pack, System};

/// Every pack qalens ships.
pub const ALL: &[Pack] = &[Pack::Reference];

/// The name a system file enables a pack by.
pub fn name(pack: Pack) -> &'static str {
    match pack {
        Pack::Reference => reference::NAME,
    }
}

/// Whether `system` enables `pack`.
pub fn enabled(system: &System, pack: Pack) -> bool {
    system.qalens.packs.contains(&pack)
}

/// The pack a step definition comes from, by where it is defined
/// (`harness/src/packs/<name>/...`); `None` for a generic step.
pub fn of_definition(defined_at: &str) -> Option<Pack> {
    let path = defined_at.replace('\\', "/");
    ALL.iter()
        .copied()
        .find(|p| path.contains(&format!("src/packs/{}/", name(*p))))
}

/// The catalog entries of every pack.
pub fn docs() -> impl Iterator<Item = &'static StepDoc> {
    reference::DOCS.iter()
}

/// Fails unless the running system enables `pack`: the first thing every pack step does.
pub fn require(pack: Pack) -> Result<(), String> {
    let ctx = context::current()?;
    if enabled(&ctx.system, pack) {
        return Ok(());
    }
    Err(format!(
        "this step comes from the {n} pack, which {} does not enable: add `packs: [{n}]` \
         to its x-qalens section, or use only generic steps (`qalens steps --system FILE`)",
        ctx.system.file.display(),
        n = name(pack)
    ))
}

/// The contracts an enabled pack bundles, for a system file without `x-qalens.contracts`.
pub fn default_registry(system: &System) -> Option<&'static Registry> {
    enabled(system, Pack::Reference).then(reference::registry)
}

/// The scopes a client's token carries unless a step narrows them: what the enabled packs
/// need (empty without a pack: a static token or a token command decides).
pub fn default_scopes(system: &System) -> String {
    if enabled(system, Pack::Reference) {
        reference::SCOPES.to_string()
    } else {
        String::new()
    }
}

/// What `qalens bench` times: a path served by one service, straight to it and through
/// the gateway.
#[derive(Debug, Clone)]
pub struct BenchProbe {
    pub path: &'static str,
    /// The service that answers it, and its port.
    pub service: &'static str,
    pub port: u16,
    /// The scope the gateway wants for it.
    pub scope: &'static str,
}

/// The bench probe of the first enabled pack that has one.
pub fn bench_probe(system: &System) -> Option<BenchProbe> {
    enabled(system, Pack::Reference).then(reference::bench_probe)
}
