//! The `tier` claim of a bearer token: the harness mints tokens with it and the reference
//! gateway reads it. Signing and verifying are `jsonwebtoken`'s.

use serde::{Deserialize, Serialize};

/// A client's service tier, the `tier` claim (`"free"` or `"paid"`); it selects the
/// rate-limit quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Paid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_serialize_as_their_claim_values() {
        for (tier, json) in [(Tier::Free, "\"free\""), (Tier::Paid, "\"paid\"")] {
            assert_eq!(serde_json::to_string(&tier).unwrap(), json);
            assert_eq!(serde_json::from_str::<Tier>(json).unwrap(), tier);
        }
        assert!(serde_json::from_str::<Tier>("\"gold\"").is_err());
        assert!(serde_json::from_str::<Tier>("\"Free\"").is_err());
    }
}
