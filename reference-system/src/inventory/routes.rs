//! Inventory's HTTP surface. `/internal/*` is for inspection (and for tests to stock a
//! SKU of their own); the gateway does not route it.
//!
//! Of this surface the gateway routes to clients only `GET /inventory/stock/{sku}`: stock
//! is not per customer. A reservation is (it is an order's), but inventory knows orders,
//! not customers, so it cannot tell its owner: reservations are read and changed by
//! orders' saga and read by the gateway's order summary after orders confirmed that the
//! order is the client's, never routed to clients directly.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::services::{ReservationRequest, ReservationView, StockView};
use uuid::Uuid;

use super::AppState;
use super::domain::{Quantity, Sku};
use super::error::InventoryError;
use super::store::{NewReservation, Reserved};
use crate::error::{ApiError, PathParam};

pub fn router(state: AppState) -> Router {
    crate::server::with_probes(Router::new())
        .route("/inventory/reservations", post(reserve))
        .route("/inventory/reservations/{order_id}", get(get_reservation))
        .route("/inventory/reservations/{order_id}/release", post(release))
        .route("/inventory/stock/{sku}", get(get_stock))
        .route("/internal/stock", get(all_stock).post(add_sku))
        .route("/internal/reservations", get(all_reservations))
        .with_state(state)
}

fn parse_order_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::BadRequest(format!("{s:?} is not an order id")))
}

/// `POST /inventory/reservations`: 201 with the new reservation; 200 with the existing
/// one when the order already has this reservation (whatever its status); 409 when the
/// order has a different reservation or stock is insufficient (nothing reserved); 404
/// for an unknown SKU; 400 for an invalid body.
async fn reserve(
    State(state): State<AppState>,
    body: Result<Json<ReservationRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ReservationView>), InventoryError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let new = NewReservation {
        order_id: req.order_id,
        sku: Sku::parse(&req.sku)?,
        quantity: Quantity::parse(req.quantity)?,
    };
    let (sku, requested) = (new.sku.as_str().to_string(), new.quantity.get());
    match state.store.reserve(new).await? {
        Reserved::Created(view) => Ok((StatusCode::CREATED, Json(view))),
        Reserved::Existing(view) => Ok((StatusCode::OK, Json(view))),
        Reserved::Conflict(existing) => Err(InventoryError::Conflict(format!(
            "order {} already has a reservation of {} x {}",
            existing.order_id, existing.quantity, existing.sku
        ))),
        Reserved::UnknownSku => Err(ApiError::NotFound(format!("sku {sku} is not stocked")).into()),
        Reserved::Insufficient { available } => Err(InventoryError::InsufficientStock {
            sku,
            available,
            requested,
        }),
    }
}

async fn get_reservation(
    State(state): State<AppState>,
    PathParam(order_id): PathParam,
) -> Result<Json<ReservationView>, InventoryError> {
    let order_id = parse_order_id(&order_id)?;
    let view = state.store.reservation(order_id).await?;
    Ok(Json(view.ok_or_else(|| {
        ApiError::NotFound(format!("order {order_id} has no reservation"))
    })?))
}

/// `POST /inventory/reservations/{order_id}/release`: 200 with the RELEASED reservation;
/// the units go back to stock the first time only. 404 when the order never had a
/// reservation.
async fn release(
    State(state): State<AppState>,
    PathParam(order_id): PathParam,
) -> Result<Json<ReservationView>, InventoryError> {
    let order_id = parse_order_id(&order_id)?;
    let view = state.store.release(order_id).await?;
    Ok(Json(view.ok_or_else(|| {
        ApiError::NotFound(format!("order {order_id} has no reservation"))
    })?))
}

async fn get_stock(
    State(state): State<AppState>,
    PathParam(sku): PathParam,
) -> Result<Json<StockView>, InventoryError> {
    let sku = Sku::parse(&sku)?;
    let view = state.store.stock(&sku).await?;
    Ok(Json(view.ok_or_else(|| {
        ApiError::NotFound(format!("sku {} is not stocked", sku.as_str()))
    })?))
}

/// `GET /internal/stock`: every SKU's stock, ordered by SKU.
async fn all_stock(State(state): State<AppState>) -> Result<Json<Vec<StockView>>, InventoryError> {
    Ok(Json(state.store.all_stock().await?))
}

/// A SKU to stock, for `POST /internal/stock`.
#[derive(serde::Deserialize)]
struct NewSku {
    sku: String,
    units: u32,
}

/// `POST /internal/stock` with `{"sku": "...", "units": N}`: stocks a new SKU with N
/// units (201 with its stock), so a test can have a product of its own whose every unit
/// it knows; 409 when the SKU is already stocked (nothing changed); 400 for an invalid
/// body. Not routed by the gateway.
async fn add_sku(
    State(state): State<AppState>,
    body: Result<Json<NewSku>, JsonRejection>,
) -> Result<(StatusCode, Json<StockView>), InventoryError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let sku = Sku::parse(&req.sku)?;
    match state.store.add_sku(&sku, req.units).await? {
        Some(view) => Ok((StatusCode::CREATED, Json(view))),
        None => Err(InventoryError::Conflict(format!(
            "sku {} is already stocked",
            sku.as_str()
        ))),
    }
}

/// `GET /internal/reservations`: every reservation, oldest first.
async fn all_reservations(
    State(state): State<AppState>,
) -> Result<Json<Vec<ReservationView>>, InventoryError> {
    Ok(Json(state.store.reservations().await?))
}
