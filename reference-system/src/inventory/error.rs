//! Inventory's error type: the shared [`ApiError`] plus the conflicts only inventory has.
//! Every variant answers `application/problem+json`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, problem};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// 409: not enough units available; nothing was reserved.
    #[error("insufficient stock: {sku} has {available} available, {requested} requested")]
    InsufficientStock {
        sku: String,
        available: u32,
        requested: u32,
    },
    /// 409: the request contradicts an earlier one.
    #[error("{0}")]
    Conflict(String),
    /// Everything the other services can answer too (400, 404, 500).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<crate::db::DbError> for InventoryError {
    fn from(e: crate::db::DbError) -> Self {
        InventoryError::Api(e.into())
    }
}

impl IntoResponse for InventoryError {
    fn into_response(self) -> Response {
        match self {
            InventoryError::Api(e) => e.into_response(),
            other => problem(StatusCode::CONFLICT, Some(other.to_string())),
        }
    }
}
