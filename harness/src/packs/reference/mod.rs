//! The reference pack: what only the reference system's domain knows (orders, charges,
//! reservations, confirmation emails, analytics counts, the order events exchange and
//! the bundled contracts' Rust types). A system file enables it with
//! `x-qalens.packs: [reference]`; every step here starts with [`require`].

mod catalog;
mod conformance;
mod events;
mod orders;
#[cfg(test)]
mod tests;

pub use catalog::DOCS;

use crate::system::Pack;
use crate::world::QaWorld;

/// The name a system file enables the pack by.
pub const NAME: &str = "reference";

/// The scopes a client of the reference gateway gets unless a step narrows them: every
/// non-admin route scope.
pub const SCOPES: &str = "orders:write orders:read payments:read inventory:read limited:read";

/// The bundled reference contracts (compiled into the binary).
pub fn registry() -> &'static contract_tools::schema::Registry {
    ::contracts::bundled::registry()
}

/// Stock of one SKU from inventory: cheap, read-only, behind one scope.
pub fn bench_probe() -> super::BenchProbe {
    super::BenchProbe {
        path: "/inventory/stock/SKU-1",
        service: "inventory",
        port: 8080,
        scope: "inventory:read",
    }
}

/// Fails unless the running system file enables this pack.
pub(crate) fn require() -> Result<(), String> {
    super::require(Pack::Reference)
}

/// The pack's per-scenario state, kept in the World's extensions.
#[derive(Debug, Default)]
pub struct State {
    /// The last order created through the gateway (or named by a published event).
    pub order: Option<::contracts::OrderView>,
    /// Every order this scenario created.
    pub orders: Vec<::contracts::OrderView>,
    /// An order whose email proves that every message published before it was handled.
    pub sentinel: Option<::contracts::OrderView>,
    /// The order events seen since `Given the order events are recorded`.
    pub events: Option<EventRecorder>,
    /// Contract examples the scenario published: (contract, message id, body).
    pub examples: Vec<(String, String, serde_json::Value)>,
}

/// The pack's state of this scenario, created on first use.
pub(crate) fn state(world: &mut QaWorld) -> &mut State {
    world.ext.get_or_default::<State>()
}

/// The pack's state of this scenario as it is (empty before a pack step ran).
pub(crate) fn peek(world: &QaWorld) -> &State {
    static EMPTY: State = State {
        order: None,
        orders: Vec::new(),
        sentinel: None,
        events: None,
        examples: Vec::new(),
    };
    world.ext.get::<State>().unwrap_or(&EMPTY)
}

/// Makes `order` the scenario's current order, and its id the scenario's subject (so
/// the generic contract steps find the requests sent for it).
pub(crate) fn set_order(world: &mut QaWorld, order: Option<::contracts::OrderView>) {
    world.subject = order.as_ref().map(|o| o.id.to_string());
    state(world).order = order;
}

/// The scenario's current order, or an error saying none was created.
pub(crate) fn current_order(world: &QaWorld) -> Result<::contracts::OrderView, String> {
    peek(world)
        .order
        .clone()
        .ok_or_else(|| format!("no order was created\n{}", world.last_exchange()))
}

/// An event seen on the order events exchange.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub routing_key: String,
    pub message_id: Option<String>,
    /// The AMQP `type` property.
    pub kind: Option<String>,
    pub body: String,
}

/// Records order events on a private queue until dropped.
pub struct EventRecorder {
    pub events: std::sync::Arc<std::sync::Mutex<Vec<RecordedEvent>>>,
    task: tokio::task::JoinHandle<()>,
}

impl EventRecorder {
    pub fn new(
        events: std::sync::Arc<std::sync::Mutex<Vec<RecordedEvent>>>,
        task: tokio::task::JoinHandle<()>,
    ) -> Self {
        Self { events, task }
    }
}

impl Drop for EventRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.events.lock().map(|e| e.len()).unwrap_or(0);
        write!(f, "EventRecorder({n} events)")
    }
}
