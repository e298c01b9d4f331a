//! The step catalog that `qalens steps` prints: every step phrase with its domain, a
//! one-line description and an example.
//!
//! The phrases come from the step definitions themselves (cucumber's registry); the
//! descriptions, examples and needs live in `catalog/docs.rs` (each pack's in its own
//! `catalog.rs`), and a test proves that every registered step has
//! exactly one entry whose example it matches, and every entry an existing step, so the
//! catalog cannot drift from the code.

use cucumber::codegen::WorldInventory;
use serde::Serialize;

use crate::world::QaWorld;

mod docs;
pub use crate::doc::{Need, StepDoc};
pub use docs::DOCS;

impl Need {
    /// Why `system` cannot serve a step with this need, naming the key that would fix it;
    /// `None` when it can. For the needs `qalens check` flags with file and line (the
    /// entry point, the gateway, the routes' scopes); the others `qalens check` reports
    /// by the names steps use (a queue, a link, a contract).
    pub fn unmet(self, system: &qalens_model::system::System) -> Option<String> {
        let file = system.file.display();
        let q = &system.qalens;
        match self {
            Need::Entry if q.entry.is_none() => Some(format!(
                "this step sends through the entry point, and {file} names none: add \
                 `entry: SERVICE:PORT` (the door clients use) to its x-qalens section"
            )),
            Need::Gateway if q.gateway.is_none() => Some(format!(
                "{file} declares no gateway (x-qalens.gateway), so no step can address a \
                 gateway replica: add `gateway: {{ service: SERVICE, port: PORT }}`"
            )),
            Need::RouteScopes => route_scopes_unmet(system),
            _ => None,
        }
    }

    /// Whether `system` declares it.
    pub(crate) fn met_by(self, system: &qalens_model::system::System) -> bool {
        let q = &system.qalens;
        match self {
            Need::Entry | Need::Gateway | Need::RouteScopes => self.unmet(system).is_none(),
            Need::Broker => q.broker.is_some(),
            Need::Link => !q.links.is_empty(),
            Need::Contracts => {
                q.contracts
                    .as_ref()
                    .is_some_and(|p| !system.dir.join(p).is_file())
                    || crate::packs::default_registry(system).is_some()
            }
            Need::Jwt => q.identity.as_ref().is_some_and(|i| i.jwt.is_some()),
            Need::OpenApi => q
                .contracts
                .as_ref()
                .is_some_and(|p| system.dir.join(p).is_file()),
        }
    }
}

/// Why the scoped route sweeps cannot run on `system`: its identity cannot make a token
/// with a chosen scope, or a protected route it documents names no scope.
fn route_scopes_unmet(system: &qalens_model::system::System) -> Option<String> {
    use qalens_model::system::routes;
    let file = system.file.display();
    let q = &system.qalens;
    let identity = q.identity.as_ref();
    if !identity.is_some_and(|i| i.jwt.is_some() || i.command.is_some()) {
        let has = match identity {
            None => "has no x-qalens.identity",
            Some(_) => "gives every client one static token (x-qalens.identity.token)",
        };
        return Some(format!(
            "this step presents a token lacking each route's scope, and {file} {has}: it \
             needs x-qalens.identity.jwt or a command that reads {{scope}}"
        ));
    }
    let documented = match &q.routes {
        // The gateway's own table, read at run time, names a scope per route.
        None => return None,
        Some(r) => routes::documented(r, &system.dir).ok()?,
    };
    let route = routes::unscoped(&documented)?;
    let how = match &q.routes {
        Some(qalens_model::system::Routes::OpenApi(o)) => format!(
            "list its scopes in the operation's security requirements of {} \
             (`security: [{{ bearer: [SCOPE] }}]`)",
            o.openapi.display()
        ),
        _ => "give every route that is not public its `scope` in x-qalens.routes".to_string(),
    };
    Some(format!(
        "this step presents a token lacking each route's scope, and {file} names no scope \
         for {}: {how}, or leave x-qalens.routes out so qalens reads the gateway's own \
         /admin/routes",
        route.name()
    ))
}

/// A step definition as registered with cucumber.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub keyword: &'static str,
    /// The regular expression the step matches (cucumber expressions compile to one).
    pub pattern: String,
    /// `file:line` of the definition.
    pub defined_at: String,
}

/// Every step definition of [`QaWorld`].
pub fn registered() -> Vec<Registered> {
    fn collect<C: cucumber::codegen::StepConstructor<QaWorld> + 'static>(
        keyword: &'static str,
        items: impl Iterator<Item = &'static C>,
        out: &mut Vec<Registered>,
    ) {
        for c in items {
            let (location, regex, _) = c.inner();
            out.push(Registered {
                keyword,
                pattern: regex().as_str().to_string(),
                defined_at: format!("{}:{}", location.path, location.line),
            });
        }
    }
    let mut out = vec![];
    collect(
        "Given",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::Given>.into_iter(),
        &mut out,
    );
    collect(
        "When",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::When>.into_iter(),
        &mut out,
    );
    collect(
        "Then",
        cucumber::codegen::inventory::iter::<<QaWorld as WorldInventory>::Then>.into_iter(),
        &mut out,
    );
    out.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    out
}

/// Splits a step line into its keyword and text.
pub fn split_keyword(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    ["Given ", "When ", "Then ", "And ", "But "]
        .iter()
        .find_map(|k| line.strip_prefix(k).map(|rest| (k.trim(), rest)))
}

/// Every documented step: the generic ones, then each pack's.
pub fn all_docs() -> impl Iterator<Item = &'static StepDoc> {
    DOCS.iter().chain(crate::packs::docs())
}

/// A catalog entry joined with the definition its example matches.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub domain: &'static str,
    /// The pack the step comes from (`reference`); `None` for a generic step.
    pub pack: Option<&'static str>,
    pub keyword: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub needs: &'static [Need],
    pub pattern: String,
    pub defined_at: String,
}

/// The catalog, sorted by domain; entries whose example matches no definition are left
/// out (the test in this module makes that impossible on main).
pub fn entries() -> Vec<Entry> {
    let steps = registered();
    let mut out: Vec<Entry> = all_docs()
        .filter_map(|doc| {
            let (keyword, text) = split_keyword(doc.example)?;
            let step = steps
                .iter()
                .find(|s| s.keyword == keyword && regex_matches(&s.pattern, text))?;
            Some(Entry {
                domain: doc.domain,
                pack: crate::packs::of_definition(&step.defined_at).map(crate::packs::name),
                keyword: step.keyword,
                description: doc.description,
                example: doc.example,
                needs: doc.needs,
                pattern: step.pattern.clone(),
                defined_at: step.defined_at.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.domain, a.example).cmp(&(b.domain, b.example)));
    out
}

/// Whether `text` matches a step pattern as a whole.
pub fn regex_matches(pattern: &str, text: &str) -> bool {
    cucumber::codegen::Regex::new(pattern).is_ok_and(|r| r.is_match(text))
}

/// The entries `system` can serve ([`serves`]).
pub fn entries_for(system: &qalens_model::system::System) -> Vec<Entry> {
    entries()
        .into_iter()
        .filter(|e| serves(system, e))
        .collect()
}

/// Whether `system` can serve the step of `entry`: its pack (if any) is enabled and the
/// file declares everything the entry [`needs`](StepDoc::needs) (a broker, a link,
/// contracts). Decided on those fields alone, never on the step's text.
pub fn serves(system: &qalens_model::system::System, entry: &Entry) -> bool {
    let pack_ok = crate::packs::all()
        .filter(|p| Some(p.name) == entry.pack)
        .all(|p| crate::packs::enabled(system, p.pack));
    pack_ok && entry.needs.iter().all(|n| n.met_by(system))
}

/// The catalog as text for a terminal: `entries` (all of them, or those one system
/// file can serve), then the scheduling tags with the `components` claims may name.
pub fn render_text(entries: &[Entry], components: &qalens_engine::scheduler::Components) -> String {
    let mut out = String::new();
    let mut domain = "";
    for e in entries {
        if e.domain != domain {
            domain = e.domain;
            out.push_str(&format!("\n## {domain}\n"));
        }
        let from = e
            .pack
            .map(|p| format!("      (from the {p} pack)\n"))
            .unwrap_or_default();
        out.push_str(&format!("  {}\n      {}\n{from}", e.example, e.description));
    }
    out.push_str("\n## tags (scheduling)\n");
    for (tag, description) in TAGS {
        out.push_str(&format!("  {tag}\n      {description}\n"));
    }
    out.push_str(&format!(
        "      Components: {}.\n",
        components
            .names()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

/// The tags that decide which scenarios may run at the same time ([`qalens_engine::scheduler`]),
/// on a scenario, a rule or a feature (then for every scenario in it).
pub(crate) const TAGS: &[(&str, &str)] = &[
    (
        "@uses:gateway,redis",
        "Needs these components working (a list, or one tag per component). Without any @uses tag a scenario uses every component.",
    ),
    (
        "@disrupts:db",
        "Stops, pauses, kills, restarts or faults these (a link fault disrupts the link's callee), or needs them to itself; runs alone with every scenario that uses or disrupts them. A disrupted component counts as used.",
    ),
    (
        "@serial",
        "Disrupts every component: runs alone with everything.",
    ),
];
