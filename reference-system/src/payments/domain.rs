//! Validated payment fields: parse at the edge, never re-check inside.

use axum::http::HeaderValue;

use crate::error::ApiError;

/// A paying customer's id: 1 to 64 characters of `[A-Za-z0-9._@-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer(String);

/// An amount in cents: 1 to [`AmountCents::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountCents(u64);

/// The client's `Idempotency-Key`: 1 to 200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl Customer {
    /// Customer ids with this prefix are always declined: a deterministic failed payment.
    pub const DECLINED_PREFIX: &'static str = "broke";

    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let ok = (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(ApiError::BadRequest(format!(
                "customer {s:?} must be 1-64 characters of letters, digits, '.', '_', '@' or '-'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether every charge for this customer is declined (402, nothing recorded).
    pub fn is_declined(&self) -> bool {
        self.0.starts_with(Self::DECLINED_PREFIX)
    }
}

impl AmountCents {
    /// The largest single charge: 100 000.00 in cents.
    pub const MAX: u64 = 10_000_000;

    pub fn parse(n: u64) -> Result<Self, ApiError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ApiError::BadRequest(format!(
                "amount_cents {n} must be between 1 and {}",
                Self::MAX
            )))
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl IdempotencyKey {
    /// The header's value; a missing or malformed header is a 400.
    pub fn from_header(value: Option<&HeaderValue>) -> Result<Self, ApiError> {
        let value = value.ok_or_else(|| {
            ApiError::BadRequest("the Idempotency-Key header is required for a charge".into())
        })?;
        value
            .to_str()
            .ok()
            .filter(|k| (1..=200).contains(&k.len()))
            .map(|k| Self(k.to_string()))
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "Idempotency-Key must be 1-200 visible ASCII characters".into(),
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_validated_and_broke_ones_declined() {
        assert!(Customer::parse("alice-1@x").is_ok());
        assert!(Customer::parse("").is_err());
        assert!(Customer::parse("a b").is_err());
        assert!(!Customer::parse("alice").unwrap().is_declined());
        assert!(Customer::parse("broke-bob").unwrap().is_declined());
        assert!(!Customer::parse("bob-broke").unwrap().is_declined());
    }

    #[test]
    fn amounts_are_bounded() {
        assert!(AmountCents::parse(0).is_err());
        assert_eq!(AmountCents::parse(1).unwrap().get(), 1);
        assert!(AmountCents::parse(AmountCents::MAX).is_ok());
        assert!(AmountCents::parse(AmountCents::MAX + 1).is_err());
    }

    #[test]
    fn idempotency_keys_are_required_and_bounded() {
        assert!(IdempotencyKey::from_header(None).is_err());
        assert!(IdempotencyKey::from_header(Some(&HeaderValue::from_static(""))).is_err());
        let long = HeaderValue::from_str(&"k".repeat(201)).unwrap();
        assert!(IdempotencyKey::from_header(Some(&long)).is_err());
        let key = IdempotencyKey::from_header(Some(&HeaderValue::from_static("k-1"))).unwrap();
        assert_eq!(key.as_str(), "k-1");
    }
}
