//! Domain packs: the steps, per-scenario state, catalog entries and knowledge that belong
//! to one system's domain rather than to any system. A system file enables a pack with
//! `x-qalens.packs`; without it the pack's steps are flagged by `qalens check` (and
//! before a run), left out of `qalens steps --system FILE`, and fail at run time with a
//! message that says so.
//!
//! **Architecture invariant:** generic code reaches a pack only through this registry;
//! no crate but the CLI depends on a pack crate (Cargo enforces it), and the World holds
//! a pack's state only in its type-keyed [`crate::world::Extensions`].

use contract_tools::schema::Registry;
use qalens_engine::context::RunContext;
use qalens_model::system::{Pack, System};

use crate::StepError;
use crate::doc::StepDoc;

/// What a pack tells generic code about itself; each pack submits one with
/// `inventory::submit!` and the CLI links the pack crates it ships.
#[derive(Debug)]
pub struct PackInfo {
    pub pack: Pack,
    /// The name a system file enables it by (`x-qalens.packs`).
    pub name: &'static str,
    /// Where its step definitions are: a fragment of their source paths
    /// (`reference-pack/src/`).
    pub source: &'static str,
    /// Its catalog entries.
    pub docs: &'static [StepDoc],
    /// The contracts it bundles, for a system file that names none.
    pub contracts: Option<fn() -> &'static Registry>,
    /// The scopes a client's token carries unless a step narrows them.
    pub scopes: &'static str,
    /// What `qalens bench` times on a system that enables it.
    pub bench_probe: Option<BenchProbe>,
}

inventory::collect!(PackInfo);

/// Every pack linked into this binary.
pub fn all() -> impl Iterator<Item = &'static PackInfo> {
    inventory::iter::<PackInfo>.into_iter()
}

/// The packs `system` enables.
pub(crate) fn enabled_in(system: &System) -> impl Iterator<Item = &'static PackInfo> + '_ {
    all().filter(|p| enabled(system, p.pack))
}

/// The name a system file enables a pack by.
pub fn name(pack: Pack) -> &'static str {
    all().find(|p| p.pack == pack).map_or("?", |p| p.name)
}

/// Whether `system` enables `pack`.
pub fn enabled(system: &System, pack: Pack) -> bool {
    system.qalens.packs.contains(&pack)
}

/// The pack a step definition comes from, by where it is defined; `None` for a generic
/// step.
pub fn of_definition(defined_at: &str) -> Option<Pack> {
    let path = defined_at.replace('\\', "/");
    all().find(|p| path.contains(p.source)).map(|p| p.pack)
}

/// The catalog entries of every pack.
pub fn docs() -> impl Iterator<Item = &'static StepDoc> {
    all().flat_map(|p| p.docs.iter())
}

/// Fails unless the running system enables `pack`: the first thing every pack step does.
pub fn require(ctx: &RunContext, pack: Pack) -> Result<(), StepError> {
    if enabled(&ctx.system, pack) {
        return Ok(());
    }
    Err(format!(
        "this step comes from the {n} pack, which {} does not enable: add `packs: [{n}]` \
         to its x-qalens section, or use only generic steps (`qalens steps --system FILE`)",
        ctx.system.file.display(),
        n = name(pack)
    )
    .into())
}

/// The contracts an enabled pack bundles, for a system file without `x-qalens.contracts`.
pub fn default_registry(system: &System) -> Option<&'static Registry> {
    enabled_in(system).find_map(|p| p.contracts).map(|f| f())
}

/// The scopes a client's token carries unless a step narrows them: those
/// `x-qalens.identity.scopes` declares, then those the enabled packs need, each once
/// (empty with neither: the token holds no scope).
pub fn default_scopes(system: &System) -> String {
    let declared = system
        .qalens
        .identity
        .iter()
        .flat_map(|i| i.scopes.iter().map(String::as_str));
    let from_packs = enabled_in(system).flat_map(|p| p.scopes.split_whitespace());
    let mut scopes: Vec<&str> = vec![];
    for scope in declared.chain(from_packs) {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes.join(" ")
}

/// What `qalens bench` times: a path served by one service, straight to it and through
/// the gateway.
#[derive(Debug, Clone, Copy)]
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
    enabled_in(system).find_map(|p| p.bench_probe)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn system(identity: &str) -> System {
        let text = format!(
            "services:\n  gw:\n    image: \"img:1\"\n    expose: [8080]\nx-qalens:\n  entry: gw:8080\n{identity}"
        );
        System::parse(Path::new("gw.yml"), Path::new("."), &text, &|_| None).unwrap()
    }

    /// Without a pack, "a free client" held no scope although the catalog said "every
    /// non-admin scope": x-qalens.identity.scopes now says what an ordinary client holds.
    #[test]
    fn an_ordinary_client_holds_the_scopes_the_identity_declares() {
        let declared = system(
            "  identity:\n    jwt: { alg: HS256, secret: s }\n    scopes: [catalog:read, carts:read]\n",
        );
        assert_eq!(default_scopes(&declared), "catalog:read carts:read");
        let none = system("  identity:\n    jwt: { alg: HS256, secret: s }\n");
        assert_eq!(default_scopes(&none), "");
    }
}
