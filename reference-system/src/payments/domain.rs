//! Validated payment fields and the payment rules on them (customers and idempotency
//! keys are in [`crate::domain`]).

pub use crate::domain::{Customer, IdempotencyKey};
use crate::error::ApiError;

/// An amount in cents: 1 to [`AmountCents::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountCents(u64);

/// Customer ids with this prefix are always declined: a deterministic failed payment.
pub const DECLINED_PREFIX: &str = "broke";

/// Whether every charge for `customer` is declined (402, nothing recorded).
pub fn is_declined(customer: &Customer) -> bool {
    customer.as_str().starts_with(DECLINED_PREFIX)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broke_customers_are_declined() {
        assert!(!is_declined(&Customer::parse("alice").unwrap()));
        assert!(is_declined(&Customer::parse("broke-bob").unwrap()));
        assert!(!is_declined(&Customer::parse("bob-broke").unwrap()));
    }

    #[test]
    fn amounts_are_bounded() {
        assert!(AmountCents::parse(0).is_err());
        assert_eq!(AmountCents::parse(1).unwrap().get(), 1);
        assert!(AmountCents::parse(AmountCents::MAX).is_ok());
        assert!(AmountCents::parse(AmountCents::MAX + 1).is_err());
    }
}
