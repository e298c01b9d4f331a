//! What the reference pack's step modules share: the pack's per-scenario state (the
//! current order, recorded events, published examples), order events built as the
//! orders service would publish them, the sentinel behind them, and the emails recorded
//! for an order. Step modules use this module, never each other.

use contracts::{
    EmailRecord, ORDER_EVENTS_EXCHANGE, OrderCancelled, OrderConfirmed, OrderEvent, OrderPlaced,
    OrderStatus, OrderView,
};
use std::time::Duration;

use uuid::Uuid;

use qalens_engine::clients::amqp::{Outgoing, publish};
use qalens_engine::clients::inspect::get_json;
use qalens_engine::context::RunContext;
use qalens_engine::wait::{self, Waited};
use qalens_model::system::Pack;
use qalens_steps::StepError;
use qalens_steps::world::QaWorld;

/// Fails unless the running system file enables this pack.
pub(crate) fn require(world: &QaWorld) -> Result<(), StepError> {
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    qalens_steps::packs::require(ctx, Pack::Reference)
}

/// The pack's per-scenario state, kept in the World's extensions.
#[derive(Debug, Default)]
pub(crate) struct State {
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
pub(crate) fn current_order(world: &QaWorld) -> Result<::contracts::OrderView, StepError> {
    peek(world)
        .order
        .clone()
        .ok_or_else(|| format!("no order was created\n{}", world.last_exchange()).into())
}

/// An event seen on the order events exchange.
#[derive(Debug, Clone)]
pub(crate) struct RecordedEvent {
    pub routing_key: String,
    pub message_id: Option<String>,
    /// The AMQP `type` property.
    pub kind: Option<String>,
    pub body: String,
}

/// Records order events on a private queue until dropped.
pub(crate) struct EventRecorder {
    pub events: std::sync::Arc<std::sync::Mutex<Vec<RecordedEvent>>>,
    task: tokio::task::JoinHandle<()>,
}

impl EventRecorder {
    pub(crate) fn new(
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

/// An order event of type `kind` (`OrderPlaced`, `OrderConfirmed`, `OrderCancelled`) for
/// a new order of the client (the order exists only in the event), set as the scenario's
/// current order.
pub(crate) fn event_of(world: &mut QaWorld, kind: &str) -> Result<Outgoing, StepError> {
    let client = world.client()?.id.clone();
    event_for(world, kind, client)
}

/// Like [`event_of`], for `customer`.
fn event_for(world: &mut QaWorld, kind: &str, customer: String) -> Result<Outgoing, StepError> {
    event_for_order(world, kind, customer, Uuid::now_v7())
}

/// An event of type `kind` with a fresh event id for the order `order_id` of `customer`,
/// set as the scenario's current order.
pub(crate) fn event_for_order(
    world: &mut QaWorld,
    kind: &str,
    customer: String,
    order_id: Uuid,
) -> Result<Outgoing, StepError> {
    let event_id = Uuid::now_v7();
    let (sku, quantity, amount_cents) = ("SKU-1".to_string(), 1, 1250);
    let (event, status, reason) = match kind {
        "OrderPlaced" => (
            OrderEvent::OrderPlaced(OrderPlaced {
                event_id,
                order_id,
                customer: customer.clone(),
                sku: sku.clone(),
                quantity,
            }),
            OrderStatus::Pending,
            None,
        ),
        "OrderConfirmed" => (
            OrderEvent::OrderConfirmed(OrderConfirmed {
                event_id,
                order_id,
                customer: customer.clone(),
                sku: sku.clone(),
                quantity,
                amount_cents,
            }),
            OrderStatus::Confirmed,
            None,
        ),
        "OrderCancelled" => {
            let reason = "insufficient stock".to_string();
            (
                OrderEvent::OrderCancelled(OrderCancelled {
                    event_id,
                    order_id,
                    customer: customer.clone(),
                    reason: reason.clone(),
                }),
                OrderStatus::Cancelled,
                Some(reason),
            )
        }
        other => {
            return Err(format!(
                "unknown event type {other:?}: OrderPlaced, OrderConfirmed or OrderCancelled"
            )
            .into());
        }
    };
    set_order(
        world,
        Some(OrderView {
            id: order_id,
            customer,
            sku,
            quantity,
            amount_cents,
            status,
            reason,
        }),
    );
    let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
    Ok(Outgoing::json(
        ORDER_EVENTS_EXCHANGE,
        event.routing_key(),
        &event.event_id().to_string(),
        body,
    ))
}

/// Publishes a sentinel OrderConfirmed event behind everything published so far: the
/// consumer handles its queue in order, so once the sentinel's email exists, every
/// earlier message has been handled. The scenario's current order and last message stay
/// as they were.
pub(crate) async fn publish_sentinel(world: &mut QaWorld) -> Result<(), StepError> {
    let ctx = world.ctx()?;
    let ctx = &*ctx;
    let current = peek(world).order.clone();
    // Its own recipient, so no test aid keyed on the client's name touches it.
    let recipient = world.scoped("sentinel");
    let sentinel = event_for(world, "OrderConfirmed", recipient)?;
    publish(ctx, &sentinel).await?;
    let sentinel = state(world).order.take();
    state(world).sentinel = sentinel;
    set_order(world, current);
    Ok(())
}

/// The confirmation emails the email service recorded for `order`.
pub(crate) async fn emails_for(
    ctx: &RunContext,
    order: &OrderView,
) -> Result<Vec<EmailRecord>, StepError> {
    Ok(get_json(
        ctx,
        format!(
            "{}/internal/emails?order_id={}",
            ctx.endpoints.inspection("email")?,
            order.id
        ),
    )
    .await?)
}

/// Waits up to `deadline` for the sentinel's email. The email consumer handles its queue
/// in order, so once the sentinel's email exists every message published before it was
/// handled. On a timeout, says what was seen last.
pub(crate) async fn sentinel_handled(
    ctx: &RunContext,
    sentinel: &OrderView,
    deadline: Duration,
) -> Result<(), Waited> {
    wait::until(deadline, || async move {
        let emails = emails_for(ctx, sentinel).await.map_err(|e| e.to_string())?;
        if emails.is_empty() {
            Err("no email for the sentinel yet".to_string())
        } else {
            Ok(Some(()))
        }
    })
    .await
}
