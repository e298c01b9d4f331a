//! Orders' clients for payments and inventory. Every call is idempotent (keyed by the
//! order id), so the saga may repeat any of them after a timeout or a crash. Every call
//! carries the current trace context and baggage (the order's, see
//! [`crate::propagation`]).

use std::time::Duration;

use contracts::services::{ChargeRequest, ReservationRequest};
use reqwest::StatusCode;
use uuid::Uuid;

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The service said no for good (declined, insufficient stock): do not retry.
    Permanent(String),
    /// No answer, a timeout or a 5xx: the outcome is unknown; retry or compensate.
    Transient(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Permanent(s) | CallError::Transient(s) => f.write_str(s),
        }
    }
}

#[derive(Clone)]
pub struct Clients {
    http: reqwest::Client,
    payments: String,
    inventory: String,
}

fn transport(service: &str, e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Transient(format!("{service} timed out"))
    } else {
        CallError::Transient(format!("{service} unreachable"))
    }
}

async fn classify(
    service: &str,
    res: reqwest::Response,
    ok_missing: bool,
) -> Result<(), CallError> {
    let status = res.status();
    if status.is_success() || (ok_missing && status == StatusCode::NOT_FOUND) {
        return Ok(());
    }
    let body = res.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<contracts::Problem>(&body)
        .ok()
        .and_then(|p| p.detail.or(Some(p.title)))
        .unwrap_or(body);
    let msg = format!("{service} answered {}: {detail}", status.as_u16());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Err(CallError::Transient(msg))
    } else {
        Err(CallError::Permanent(msg))
    }
}

impl Clients {
    pub fn new(payments: String, inventory: String, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .pool_max_idle_per_host(32)
                .build()?,
            payments,
            inventory,
        })
    }

    pub async fn reserve(&self, order_id: Uuid, sku: &str, quantity: u32) -> Result<(), CallError> {
        let body = ReservationRequest {
            order_id,
            sku: sku.to_string(),
            quantity,
        };
        let res = self
            .http
            .post(format!("{}/inventory/reservations", self.inventory))
            .json(&body)
            .headers(crate::propagation::headers())
            .send()
            .await
            .map_err(|e| transport("inventory", e))?;
        classify("inventory", res, false).await
    }

    /// Returns the reserved stock; an order that never reserved anything is fine.
    pub async fn release(&self, order_id: Uuid) -> Result<(), CallError> {
        let res = self
            .http
            .post(format!(
                "{}/inventory/reservations/{order_id}/release",
                self.inventory
            ))
            .headers(crate::propagation::headers())
            .send()
            .await
            .map_err(|e| transport("inventory", e))?;
        classify("inventory", res, true).await
    }

    pub async fn charge(
        &self,
        order_id: Uuid,
        customer: &str,
        amount_cents: u64,
    ) -> Result<(), CallError> {
        let body = ChargeRequest {
            order_id,
            customer: customer.to_string(),
            amount_cents,
        };
        let mut body =
            serde_json::to_value(&body).map_err(|e| CallError::Permanent(e.to_string()))?;
        // DEFECT(renamed-field): orders sends what payments no longer expects.
        if crate::defects::on(crate::defects::Defect::RenamedField)
            && let Some(obj) = body.as_object_mut()
            && let Some(v) = obj.remove("amount_cents")
        {
            obj.insert("amount".into(), v);
        }
        // DEFECT(fresh-key-per-attempt): each attempt is a new request to payments.
        let key = if crate::defects::on(crate::defects::Defect::FreshKeyPerAttempt) {
            Uuid::new_v4()
        } else {
            order_id
        };
        let res = self
            .http
            .post(format!("{}/payments/charges", self.payments))
            .header("idempotency-key", key.to_string())
            .json(&body)
            .headers(crate::propagation::headers())
            .send()
            .await
            .map_err(|e| transport("payments", e))?;
        classify("payments", res, false).await
    }

    /// Refunds whatever charge exists for the order; none is fine.
    pub async fn refund(&self, order_id: Uuid) -> Result<(), CallError> {
        let res = self
            .http
            .post(format!(
                "{}/payments/refunds-by-order/{order_id}",
                self.payments
            ))
            .headers(crate::propagation::headers())
            .send()
            .await
            .map_err(|e| transport("payments", e))?;
        classify("payments", res, true).await
    }
}
