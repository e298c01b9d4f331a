//! Orders' HTTP surface. `/internal/*` is for inspection; the gateway does not route it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::{OrderView, PlaceOrderRequest};
use uuid::Uuid;

use super::AppState;
use super::store::{NewOrder, Placed};
use crate::domain::{Customer, IdempotencyKey, Quantity, Sku};
use crate::error::{ApiError, PathParam};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/orders", post(place_order))
        .route("/orders/{id}", get(get_order))
        .route("/internal/outbox", get(outbox_backlog))
        .route("/internal/orders", get(all_orders))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(|| async { "ok" }))
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
    let order = NewOrder {
        customer: Customer::parse(&req.customer)?,
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
        Placed::Existing(view) => Ok((StatusCode::OK, Json(view))),
    }
}

async fn get_order(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Json<OrderView>, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::BadRequest(format!("{id:?} is not an order id")))?;
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
