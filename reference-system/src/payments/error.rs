//! Payments' error type: the shared [`ApiError`] plus the outcomes only payments has.
//! Every variant answers `application/problem+json`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, problem};

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// 402: the payment was declined; nothing was recorded.
    #[error("payment declined: customer {0} cannot pay")]
    Declined(String),
    /// 409: the request contradicts an earlier one.
    #[error("{0}")]
    Conflict(String),
    /// Everything the other services can answer too (400, 404, 500).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<crate::db::DbError> for PaymentsError {
    fn from(e: crate::db::DbError) -> Self {
        PaymentsError::Api(e.into())
    }
}

impl IntoResponse for PaymentsError {
    fn into_response(self) -> Response {
        match self {
            PaymentsError::Declined(_) => {
                problem(StatusCode::PAYMENT_REQUIRED, Some(self.to_string()))
            }
            PaymentsError::Conflict(detail) => problem(StatusCode::CONFLICT, Some(detail)),
            PaymentsError::Api(e) => e.into_response(),
        }
    }
}
