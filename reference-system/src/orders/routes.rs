//! Orders' HTTP surface. `/internal/*` is for inspection; the gateway does not route it.
//!
//! Every order belongs to the customer who placed it, and that customer is the
//! authenticated client the gateway names in `x-client-id` (set from the verified token;
//! see the `IdentityHeaders` contract), never whatever the request body says:
//! - `POST /orders` needs `x-client-id` (401 without it) and refuses, with a 403 Problem,
//!   a body whose `customer` is someone else;
//! - `GET /orders/{id}` answers only the order's own customer; anyone else gets the same
//!   404 as for an order that does not exist, so ids do not reveal that an order exists.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::{OrderView, PlaceOrderRequest};
use uuid::Uuid;

use super::AppState;
use super::store::{NewOrder, Placed};
use crate::defects::{self, Defect};
use crate::domain::{Customer, IdempotencyKey, Quantity, Sku};
use crate::error::{ApiError, PathParam};

pub fn router(state: AppState) -> Router {
    crate::server::with_probes(Router::new())
        .route("/orders", post(place_order))
        .route("/orders/{id}", get(get_order))
        .route("/internal/outbox", get(outbox_backlog))
        .route("/internal/orders", get(all_orders))
        .route("/internal/orders/{id}", get(inspect_order))
        .with_state(state)
}

/// `POST /orders`: 201 with the new PENDING order (its saga runs in the background); with an `Idempotency-Key` seen before, 200 with
/// the order created the first time.
async fn place_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PlaceOrderRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let quantity = Quantity::parse(req.quantity)?;
    let named = Customer::parse(&req.customer)?;
    // DEFECT(body-customer-trusted): the body's customer is taken at its word.
    let customer = if defects::on(Defect::BodyCustomerTrusted) {
        named
    } else {
        let client = authenticated(&headers)?;
        if named != client {
            return Err(ApiError::Forbidden(format!(
                "an order's customer must be the authenticated client {:?}, not {:?}",
                client.as_str(),
                named.as_str()
            )));
        }
        client
    };
    let order = NewOrder {
        customer: customer.clone(),
        sku: Sku::parse(&req.sku)?,
        amount_cents: u64::from(quantity.get()) * state.unit_price_cents,
        quantity,
    };
    let key = IdempotencyKey::from_optional_header(headers.get("idempotency-key"))?
        .map(|k| k.as_str().to_string());
    match state.store.place(order, key).await? {
        Placed::Created(view) => {
            state.outbox_wake.notify_one();
            state.saga.spawn(view.id);
            Ok((StatusCode::CREATED, Json(view)))
        }
        // A key another customer used says nothing about their order.
        // DEFECT(idempotency-key-shared): ...unless keys are taken as global.
        Placed::Existing(view)
            if view.customer != customer.as_str() && !defects::on(Defect::IdempotencyKeyShared) =>
        {
            Err(ApiError::Conflict(
                "this idempotency key was used for another request".into(),
            ))
        }
        Placed::Existing(view) => Ok((StatusCode::OK, Json(view))),
    }
}

/// The client the gateway authenticated, from `x-client-id`.
fn authenticated(headers: &HeaderMap) -> Result<Customer, ApiError> {
    Customer::from_identity_header(headers.get("x-client-id"))
}

fn parse_order_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::BadRequest(format!("{id:?} is not an order id")))
}

/// `GET /orders/{id}`: the order, for its own customer only (404 for anyone else).
async fn get_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParam(id): PathParam,
) -> Result<Json<OrderView>, ApiError> {
    let id = parse_order_id(&id)?;
    let client = authenticated(&headers)?;
    let not_found = || ApiError::NotFound(format!("order {id} does not exist"));
    let order = state.store.get(id).await?.ok_or_else(not_found)?;
    // DEFECT(any-customer-reads): every client may read every order.
    if order.view.customer != client.as_str() && !defects::on(Defect::AnyCustomerReads) {
        return Err(not_found());
    }
    Ok(Json(order.view))
}

/// `GET /internal/orders/{id}`: any order, for inspection (not routed by the gateway).
async fn inspect_order(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Json<OrderView>, ApiError> {
    let id = parse_order_id(&id)?;
    state
        .store
        .get(id)
        .await?
        .map(|o| Json(o.view))
        .ok_or_else(|| ApiError::NotFound(format!("order {id} does not exist")))
}

async fn outbox_backlog(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let pending = state.store.outbox_backlog().await?;
    Ok(Json(serde_json::json!({ "pending": pending })))
}

/// `GET /internal/orders`: every order (for invariant checks).
async fn all_orders(State(state): State<AppState>) -> Result<Json<Vec<OrderView>>, ApiError> {
    Ok(Json(state.store.all().await?))
}
