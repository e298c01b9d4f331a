//! Validated fields shared by the services: parse at the edge, never re-check inside.

use axum::http::HeaderValue;

use crate::error::ApiError;

/// A customer id: 1 to 64 characters of `[A-Za-z0-9._@-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer(String);

/// A stock keeping unit: 1 to 32 characters of `[A-Z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

/// Units of one SKU in an order or reservation: 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u32);

/// A client's `Idempotency-Key`: 1 to 200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl Customer {
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

    /// The authenticated client the gateway names in `x-client-id` (set from the verified
    /// token; see the `IdentityHeaders` contract): a 401 when absent, a 400 when malformed.
    pub fn from_identity_header(value: Option<&HeaderValue>) -> Result<Self, ApiError> {
        let id = value.and_then(|v| v.to_str().ok()).ok_or_else(|| {
            ApiError::Unauthorized("no authenticated client (x-client-id)".into())
        })?;
        Self::parse(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Sku {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let ok = (1..=32).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(ApiError::BadRequest(format!(
                "sku {s:?} must be 1-32 characters of A-Z, 0-9 or '-'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Quantity {
    pub const MAX: u32 = 1000;

    pub fn parse(n: u32) -> Result<Self, ApiError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ApiError::BadRequest(format!(
                "quantity {n} must be between 1 and {}",
                Self::MAX
            )))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl IdempotencyKey {
    /// The header's value: `None` when absent, a 400 when malformed.
    pub fn from_optional_header(value: Option<&HeaderValue>) -> Result<Option<Self>, ApiError> {
        let Some(value) = value else {
            return Ok(None);
        };
        value
            .to_str()
            .ok()
            .filter(|k| (1..=200).contains(&k.len()))
            .map(|k| Some(Self(k.to_string())))
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "Idempotency-Key must be 1-200 visible ASCII characters".into(),
                )
            })
    }

    /// The header's value; a missing header is a 400 naming `what` needs it.
    pub fn from_header(value: Option<&HeaderValue>, what: &str) -> Result<Self, ApiError> {
        Self::from_optional_header(value)?.ok_or_else(|| {
            ApiError::BadRequest(format!("the Idempotency-Key header is required for {what}"))
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
    fn customers_are_validated() {
        assert!(Customer::parse("alice-1@x").is_ok());
        assert!(Customer::parse("").is_err());
        assert!(Customer::parse("a b").is_err());
        assert!(Customer::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn skus_are_validated() {
        assert!(Sku::parse("SKU-1").is_ok());
        assert!(Sku::parse("sku-1").is_err());
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse(&"A".repeat(33)).is_err());
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(Quantity::parse(0).is_err());
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert!(Quantity::parse(Quantity::MAX).is_ok());
        assert!(Quantity::parse(Quantity::MAX + 1).is_err());
    }

    #[test]
    fn idempotency_keys_are_bounded_and_required_where_asked() {
        assert!(IdempotencyKey::from_header(None, "a charge").is_err());
        assert_eq!(IdempotencyKey::from_optional_header(None).unwrap(), None);
        assert!(IdempotencyKey::from_optional_header(Some(&HeaderValue::from_static(""))).is_err());
        let long = HeaderValue::from_str(&"k".repeat(201)).unwrap();
        assert!(IdempotencyKey::from_optional_header(Some(&long)).is_err());
        let key = IdempotencyKey::from_header(Some(&HeaderValue::from_static("k-1")), "x").unwrap();
        assert_eq!(key.as_str(), "k-1");
    }
}
