//! Payments' HTTP surface. `/internal/*` is for inspection; the gateway does not route it.
//!
//! The reads the gateway routes to clients (`GET /payments/charges?order_id=` and
//! `GET /payments/charges/{id}`) answer only the charge's own customer, the authenticated
//! client the gateway names in `x-client-id` (401 without it): anyone else gets the same
//! 404 as for a charge that does not exist, so ids do not reveal that a charge exists.
//! Orders charges and refunds on its own network link (those `POST`s are not routed);
//! the gateway's order summary reads the charge with the client's identity headers.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::services::{ChargeRequest, ChargeView, IDEMPOTENCY_KEY_HEADER};
use uuid::Uuid;

use super::AppState;
use super::domain::{AmountCents, Customer, IdempotencyKey};
use super::error::PaymentsError;
use super::store::{Charged, NewCharge};
use crate::defects::{self, Defect};
use crate::error::{ApiError, PathParam, QueryParams};

pub fn router(state: AppState) -> Router {
    crate::server::with_probes(Router::new())
        .route("/payments/charges", post(charge).get(list_charges))
        .route("/payments/charges/{id}", get(get_charge))
        .route("/payments/charges/{id}/refund", post(refund))
        .route("/payments/refunds-by-order/{order_id}", post(refund_order))
        .route("/internal/charges", get(all_charges))
        .with_state(state)
}

fn parse_id(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::BadRequest(format!("{s:?} is not {what}")))
}

/// `POST /payments/charges` (header `Idempotency-Key` required): 201 with the new charge;
/// 200 with the same charge when the key is replayed with the same body; 409 when the key
/// was used with a different body or the order already has a charge; 402 for a declined
/// customer (nothing recorded); 400 for an invalid body or key.
async fn charge(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ChargeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ChargeView>), PaymentsError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let new = NewCharge {
        key: IdempotencyKey::from_header(headers.get(IDEMPOTENCY_KEY_HEADER), "a charge")?,
        order_id: req.order_id,
        customer: Customer::parse(&req.customer)?,
        amount: AmountCents::parse(req.amount_cents)?,
    };
    // PAYMENTS_LATENCY_MS: the configured slowness is the fault itself, not a wait.
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    if super::domain::is_declined(&new.customer) {
        return Err(PaymentsError::Declined(new.customer.as_str().to_string()));
    }
    match state.store.charge(new).await? {
        Charged::Created(view) => Ok((StatusCode::CREATED, Json(view))),
        Charged::Replayed(view) => Ok((StatusCode::OK, Json(view))),
        Charged::KeyReused { charge } => Err(PaymentsError::Conflict(format!(
            "Idempotency-Key was already used for a different request (charge {})",
            charge.id
        ))),
        Charged::OrderHasCharge { charge } => Err(PaymentsError::Conflict(format!(
            "order {} already has charge {} under another Idempotency-Key",
            charge.order_id, charge.id
        ))),
    }
}

/// Whether `client` may read `charge`: only its own customer may.
fn readable_by(charge: &ChargeView, client: &Customer) -> bool {
    // DEFECT(any-customer-reads): every client may read every charge.
    charge.customer == client.as_str() || defects::on(Defect::AnyCustomerReads)
}

/// `GET /payments/charges/{id}`: the charge, for its own customer only (404 for anyone
/// else, as for a charge that does not exist); 401 without `x-client-id`.
async fn get_charge(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParam(id): PathParam,
) -> Result<Json<ChargeView>, PaymentsError> {
    let id = parse_id(&id, "a charge id")?;
    let client = Customer::from_identity_header(headers.get("x-client-id"))?;
    let view = state.store.get(id).await?;
    Ok(Json(view.filter(|c| readable_by(c, &client)).ok_or_else(
        || ApiError::NotFound(format!("charge {id} does not exist")),
    )?))
}

#[derive(serde::Deserialize)]
struct ChargesQuery {
    order_id: Option<String>,
}

/// `GET /payments/charges?order_id=ID`: the order's charge (an order has at most one) as
/// a one-item list, for the charge's own customer only; 404 when the order has no charge
/// or it is another customer's (the same answer, so order ids reveal nothing); 401
/// without `x-client-id`.
async fn list_charges(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<ChargesQuery>,
) -> Result<Json<Vec<ChargeView>>, PaymentsError> {
    let order_id = q
        .order_id
        .ok_or_else(|| ApiError::BadRequest("the order_id query parameter is required".into()))?;
    let order_id = parse_id(&order_id, "an order id")?;
    let client = Customer::from_identity_header(headers.get("x-client-id"))?;
    let charges: Vec<ChargeView> = state
        .store
        .list(Some(order_id))
        .await?
        .into_iter()
        .filter(|c| readable_by(c, &client))
        .collect();
    if charges.is_empty() {
        return Err(ApiError::NotFound(format!("order {order_id} has no charge")).into());
    }
    Ok(Json(charges))
}

/// `POST /payments/charges/{id}/refund`: 200 with the REFUNDED charge, also when it was
/// refunded before; 404 for an unknown charge.
async fn refund(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Json<ChargeView>, PaymentsError> {
    let id = parse_id(&id, "a charge id")?;
    let view = state.store.refund(id).await?;
    Ok(Json(view.ok_or_else(|| {
        ApiError::NotFound(format!("charge {id} does not exist"))
    })?))
}

/// `POST /payments/refunds-by-order/{order_id}`: refunds the order's charge whatever its
/// id (for compensation when a charge's outcome is unknown); 200 with the REFUNDED
/// charge, 404 when the order was never charged.
async fn refund_order(
    State(state): State<AppState>,
    PathParam(order_id): PathParam,
) -> Result<Json<ChargeView>, PaymentsError> {
    let order_id = parse_id(&order_id, "an order id")?;
    let view = state.store.refund_order(order_id).await?;
    Ok(Json(view.ok_or_else(|| {
        ApiError::NotFound(format!("order {order_id} has no charge"))
    })?))
}

/// `GET /internal/charges`: every charge, oldest first.
async fn all_charges(
    State(state): State<AppState>,
) -> Result<Json<Vec<ChargeView>>, PaymentsError> {
    Ok(Json(state.store.list(None).await?))
}
