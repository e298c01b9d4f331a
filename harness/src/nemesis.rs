//! The nemesis, in Jepsen's sense: each fault a scenario applies is data ([`Applied`])
//! with its heal, so the scenario's end can undo whatever is still in effect. The steps
//! that apply them are in `steps::faults` and `steps::clock`.

use crate::context;

/// A fault that is still in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Stopped or killed: heal by starting it.
    Down(String),
    /// Paused: heal by unpausing it.
    Paused(String),
    /// A network fault on a link (`api-db`), either way or one way: heal by
    /// clearing it.
    Link(String),
    /// A skewed clock: heal by setting its offset back to zero.
    Skewed(String),
}

pub fn container(component: &str) -> Result<String, String> {
    let ctx = context::current()?;
    ctx.containers.get(component).cloned().ok_or_else(|| {
        format!(
            "there is no component {component:?}; components: {}",
            ctx.containers
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The name (`api-db`) and control URL of the fault proxy on a link.
pub fn link_url(from: &str, to: &str) -> Result<(String, String), String> {
    let ctx = context::current()?;
    let name = format!("{from}-{to}");
    let url = ctx.endpoints.links.get(&name).cloned().ok_or_else(|| {
        format!(
            "there is no fault proxy on the link from {from} to {to}; links: {}",
            ctx.endpoints
                .links
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    Ok((name, url))
}
