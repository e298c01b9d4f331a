//! The gateway's declarative route table: which paths are public, which upstream serves
//! each route, the scope a token needs for it, its rate-limit policy and its timeout.
//!
//! The table is JSON (see `reference-system/routes.json`, the default):
//!
//! ```json
//! {
//!   "public": ["/health"],
//!   "policies": {
//!     "default": {"algorithm": "sliding-window", "window_seconds": 60, "free": 100, "paid": 10000}
//!   },
//!   "routes": [
//!     {"prefix": "/orders", "methods": ["GET"], "upstream": "orders",
//!      "scope": "orders:read", "policy": "default", "timeout_ms": 3000}
//!   ]
//! }
//! ```
//!
//! A route matches a request when its method is listed and its `prefix` equals the path
//! or is followed in it by `/` (so `/orders` matches `/orders` and `/orders/1`, not
//! `/ordersx`); the longest matching prefix wins. The upstream named [`GATEWAY_UPSTREAM`]
//! is the gateway itself, which answers with a small JSON body of its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use contract_tools::jwt::Tier;
use serde::{Deserialize, Serialize};

use super::ratelimit::{Algorithm, Quota};

/// The upstream name meaning "the gateway answers itself" (built-in echo and admin).
pub const GATEWAY_UPSTREAM: &str = "gateway";

/// The methods a route may list (upper case, as sent on the wire).
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The whole table. Build it with [`RouteTable::load`] or [`RouteTable::from_json`], which
/// validate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    /// Exact paths served without a token, such as `/health`.
    pub public: Vec<String>,
    /// Rate-limit policies by name.
    pub policies: BTreeMap<String, PolicySpec>,
    pub routes: Vec<Route>,
}

/// A rate-limit policy: `free` or `paid` requests (by the token's tier) per
/// `window_seconds`, counted with `algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub algorithm: Algorithm,
    /// Seconds, at least 1.
    pub window_seconds: u64,
    /// Requests per window for the free tier, at least 1.
    pub free: u64,
    /// Requests per window for the paid tier, at least 1.
    pub paid: u64,
}

impl PolicySpec {
    /// The quota for a client of `tier`.
    pub fn quota(&self, tier: Tier) -> Quota {
        let limit = match tier {
            Tier::Free => self.free,
            Tier::Paid => self.paid,
        };
        Quota::new(limit, Duration::from_secs(self.window_seconds))
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Path prefix starting with `/`, matched on segment boundaries.
    pub prefix: String,
    /// Upper-case HTTP methods, from [`METHODS`].
    pub methods: Vec<String>,
    /// The upstream service name, or [`GATEWAY_UPSTREAM`].
    pub upstream: String,
    /// The scope the token must grant.
    pub scope: String,
    /// The name of a policy in [`RouteTable::policies`].
    pub policy: String,
    /// Upstream timeout in milliseconds, at least 1.
    pub timeout_ms: u64,
}

impl Route {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Whether `path` is `prefix` or lies under it.
    pub fn matches_path(&self, path: &str) -> bool {
        match path.strip_prefix(self.prefix.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/') || self.prefix.ends_with('/'),
            None => false,
        }
    }

    fn describe(&self, index: usize) -> String {
        format!(
            "route {index} ({} {:?})",
            self.methods.join(","),
            self.prefix
        )
    }
}

/// Why a table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RouteTableError {
    #[error("cannot read route table {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("route table is not valid JSON for its schema: {0}")]
    Json(#[from] serde_json::Error),
    /// The table parsed but is inconsistent; the message names the route or policy.
    #[error("invalid route table: {0}")]
    Invalid(String),
}

impl RouteTable {
    /// Reads and validates the table at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RouteTableError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| RouteTableError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// Parses and validates a table. Unknown fields are errors, so typos do not pass.
    pub fn from_json(json: &str) -> Result<Self, RouteTableError> {
        let table: RouteTable = serde_json::from_str(json)?;
        table.validate()?;
        Ok(table)
    }

    /// The table as pretty JSON (for the admin endpoint).
    pub fn to_json(&self) -> String {
        // A table of strings, integers and maps with string keys always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks that every route names a known policy and methods, has a usable prefix and
    /// timeout, that no prefix and method pair appears twice, and that policies and
    /// public paths are well formed.
    pub fn validate(&self) -> Result<(), RouteTableError> {
        let invalid = |msg: String| Err(RouteTableError::Invalid(msg));
        for path in &self.public {
            if !path.starts_with('/') {
                return invalid(format!("public path {path:?} must start with '/'"));
            }
        }
        for (name, p) in &self.policies {
            if p.window_seconds == 0 {
                return invalid(format!(
                    "policy {name:?}: window_seconds must be at least 1"
                ));
            }
            if p.free == 0 || p.paid == 0 {
                return invalid(format!("policy {name:?}: free and paid must be at least 1"));
            }
        }
        let mut seen = BTreeMap::new();
        for (i, route) in self.routes.iter().enumerate() {
            let what = route.describe(i);
            if route.prefix.is_empty() {
                return invalid(format!("{what}: empty prefix"));
            }
            if !route.prefix.starts_with('/') {
                return invalid(format!("{what}: prefix must start with '/'"));
            }
            if route.prefix.len() > 1 && route.prefix.ends_with('/') {
                return invalid(format!("{what}: prefix must not end with '/'"));
            }
            if route.methods.is_empty() {
                return invalid(format!("{what}: no methods"));
            }
            for method in &route.methods {
                if !METHODS.contains(&method.as_str()) {
                    return invalid(format!(
                        "{what}: unknown method {method:?} (expected one of {})",
                        METHODS.join(", ")
                    ));
                }
                if let Some(first) = seen.insert((route.prefix.as_str(), method.as_str()), i) {
                    return invalid(format!(
                        "{what}: duplicate {method} {:?} (also route {first})",
                        route.prefix
                    ));
                }
            }
            if !self.policies.contains_key(&route.policy) {
                return invalid(format!("{what}: unknown policy {:?}", route.policy));
            }
            if route.upstream.is_empty() {
                return invalid(format!("{what}: empty upstream"));
            }
            if route.timeout_ms == 0 {
                return invalid(format!("{what}: timeout_ms must be at least 1"));
            }
        }
        Ok(())
    }

    /// Whether `path` is one of the exact public paths.
    pub fn is_public(&self, path: &str) -> bool {
        self.public.iter().any(|p| p == path)
    }

    /// The route for `method` (exact, upper case) and `path`: the longest prefix that
    /// matches on a segment boundary, among routes listing the method.
    pub fn find(&self, method: &str, path: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| r.methods.iter().any(|m| m == method) && r.matches_path(path))
            .max_by_key(|r| r.prefix.len())
    }

    /// The policy a route names (present in a validated table).
    pub fn policy(&self, route: &Route) -> Option<&PolicySpec> {
        self.policies.get(&route.policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/routes.json");

    fn table() -> RouteTable {
        RouteTable::load(DEFAULT_TABLE).unwrap()
    }

    /// A minimal valid table as JSON, for tests to break one piece at a time.
    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "public": ["/health"],
            "policies": {
                "default": {"algorithm": "fixed-window", "window_seconds": 60, "free": 1, "paid": 2}
            },
            "routes": [
                {"prefix": "/orders", "methods": ["GET"], "upstream": "orders",
                 "scope": "orders:read", "policy": "default", "timeout_ms": 1000}
            ]
        })
    }

    fn invalid(json: serde_json::Value) -> String {
        match RouteTable::from_json(&json.to_string()) {
            Err(RouteTableError::Invalid(msg)) => msg,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// The file may grow (more routes, policies, public paths); these entries must stay.
    #[test]
    fn the_default_table_loads() {
        let t = table();
        assert!(t.public.iter().any(|p| p == "/health"), "{:?}", t.public);
        assert_eq!(
            t.policies["default"],
            PolicySpec {
                algorithm: Algorithm::SlidingWindow,
                window_seconds: 60,
                free: 100,
                paid: 10_000,
            }
        );
        for (name, algorithm) in [
            ("strict-fixed", Algorithm::FixedWindow),
            ("strict-sliding", Algorithm::SlidingWindow),
            ("strict-bucket", Algorithm::TokenBucket),
        ] {
            assert_eq!(
                t.policies[name],
                PolicySpec {
                    algorithm,
                    window_seconds: 60,
                    free: 5,
                    paid: 50,
                },
                "{name}"
            );
        }
        assert!(t.routes.len() >= 8, "{:?}", t.routes);
        for r in &t.routes {
            assert!(t.policy(r).is_some(), "{r:?}");
        }
    }

    #[test]
    fn the_default_table_routes_as_documented() {
        let t = table();
        let expect = [
            ("POST", "/orders", "orders", "orders:write", "default", 3000),
            (
                "GET",
                "/orders/42",
                "orders",
                "orders:read",
                "default",
                3000,
            ),
            (
                "GET",
                "/payments/p1",
                "payments",
                "payments:read",
                "default",
                3000,
            ),
            (
                "GET",
                "/inventory/stock/SKU-1",
                "inventory",
                "inventory:read",
                "default",
                3000,
            ),
            (
                "GET",
                "/limited/fixed",
                GATEWAY_UPSTREAM,
                "limited:read",
                "strict-fixed",
                1000,
            ),
            (
                "GET",
                "/limited/sliding",
                GATEWAY_UPSTREAM,
                "limited:read",
                "strict-sliding",
                1000,
            ),
            (
                "GET",
                "/limited/bucket",
                GATEWAY_UPSTREAM,
                "limited:read",
                "strict-bucket",
                1000,
            ),
            (
                "GET",
                "/admin/routes",
                GATEWAY_UPSTREAM,
                "admin",
                "default",
                1000,
            ),
        ];
        for (method, path, upstream, scope, policy, timeout_ms) in expect {
            let r = t
                .find(method, path)
                .unwrap_or_else(|| panic!("{method} {path}"));
            assert_eq!(
                (
                    r.upstream.as_str(),
                    r.scope.as_str(),
                    r.policy.as_str(),
                    r.timeout_ms
                ),
                (upstream, scope, policy, timeout_ms),
                "{method} {path}"
            );
            assert!(t.policy(r).is_some());
        }
        assert!(t.find("DELETE", "/orders/1").is_none());
        // Reservations are per customer and inventory does not know customers: clients
        // see theirs in the order summary, never straight from inventory.
        assert!(t.find("GET", "/inventory/reservations/1").is_none());
        assert!(t.find("GET", "/inventory").is_none());
        assert!(t.find("POST", "/limited/fixed").is_none());
        assert!(t.find("GET", "/health").is_none());
        assert!(t.is_public("/health"));
        assert!(!t.is_public("/health/x"));
        assert!(!t.is_public("/orders"));
    }

    #[test]
    fn policies_give_quotas_by_tier() {
        let t = table();
        let p = t.policies["strict-bucket"];
        assert_eq!(p.quota(Tier::Free), Quota::new(5, Duration::from_secs(60)));
        assert_eq!(p.quota(Tier::Paid), Quota::new(50, Duration::from_secs(60)));
    }

    #[test]
    fn find_matches_on_segment_boundaries() {
        let t = table();
        assert_eq!(t.find("GET", "/orders").unwrap().prefix, "/orders");
        assert_eq!(t.find("GET", "/orders/").unwrap().prefix, "/orders");
        assert_eq!(t.find("GET", "/orders/1/items").unwrap().prefix, "/orders");
        assert!(t.find("GET", "/ordersx").is_none());
        assert!(t.find("GET", "/order").is_none());
        assert!(t.find("GET", "/").is_none());
        assert!(t.find("GET", "").is_none());
        assert!(t.find("GET", "/limited").is_none());
        assert!(t.find("GET", "/limited/fixedx").is_none());
        assert!(
            t.find("get", "/orders").is_none(),
            "methods are case-sensitive"
        );
    }

    #[test]
    fn find_prefers_the_longest_prefix() {
        let mut json = minimal();
        json["routes"] = serde_json::json!([
            {"prefix": "/", "methods": ["GET"], "upstream": "catch-all",
             "scope": "s", "policy": "default", "timeout_ms": 1},
            {"prefix": "/a", "methods": ["GET"], "upstream": "a",
             "scope": "s", "policy": "default", "timeout_ms": 1},
            {"prefix": "/a/b", "methods": ["GET"], "upstream": "ab",
             "scope": "s", "policy": "default", "timeout_ms": 1},
            {"prefix": "/a/b/c", "methods": ["POST"], "upstream": "abc",
             "scope": "s", "policy": "default", "timeout_ms": 1}
        ]);
        let t = RouteTable::from_json(&json.to_string()).unwrap();
        let up = |m: &str, p: &str| t.find(m, p).map(|r| r.upstream.as_str());
        assert_eq!(up("GET", "/"), Some("catch-all"));
        assert_eq!(up("GET", "/x"), Some("catch-all"));
        assert_eq!(up("GET", "/ab"), Some("catch-all"));
        assert_eq!(up("GET", "/a"), Some("a"));
        assert_eq!(up("GET", "/a/x"), Some("a"));
        assert_eq!(up("GET", "/a/b"), Some("ab"));
        assert_eq!(up("GET", "/a/b/c/d"), Some("ab"), "POST-only route skipped");
        assert_eq!(up("POST", "/a/b/c/d"), Some("abc"));
        assert_eq!(up("POST", "/a"), None);
    }

    #[test]
    fn serializes_and_reloads() {
        let t = table();
        let again = RouteTable::from_json(&t.to_json()).unwrap();
        assert_eq!(again, t);
        let json: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(
            json["policies"]["strict-fixed"]["algorithm"],
            "fixed-window"
        );
        assert_eq!(json["routes"][0]["methods"][0], "POST");
    }

    #[test]
    fn unknown_policy_is_an_error_naming_the_route() {
        let mut json = minimal();
        json["routes"][0]["policy"] = "nope".into();
        let msg = invalid(json);
        assert!(msg.contains("route 0 (GET \"/orders\")"), "{msg}");
        assert!(msg.contains("unknown policy \"nope\""), "{msg}");
    }

    #[test]
    fn empty_prefix_is_an_error() {
        let mut json = minimal();
        json["routes"][0]["prefix"] = "".into();
        let msg = invalid(json);
        assert!(
            msg.contains("route 0") && msg.contains("empty prefix"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_prefixes_are_errors() {
        for (prefix, expected) in [
            ("orders", "must start with '/'"),
            ("/orders/", "must not end with '/'"),
        ] {
            let mut json = minimal();
            json["routes"][0]["prefix"] = prefix.into();
            let msg = invalid(json);
            assert!(msg.contains(expected), "{prefix}: {msg}");
        }
    }

    #[test]
    fn duplicate_prefix_and_method_is_an_error() {
        let mut json = minimal();
        let mut second = json["routes"][0].clone();
        second["methods"] = serde_json::json!(["POST", "GET"]);
        second["upstream"] = "other".into();
        json["routes"].as_array_mut().unwrap().push(second);
        let msg = invalid(json);
        assert!(msg.contains("route 1 (POST,GET \"/orders\")"), "{msg}");
        assert!(
            msg.contains("duplicate GET \"/orders\" (also route 0)"),
            "{msg}"
        );

        // The same prefix with different methods is fine.
        let mut json = minimal();
        let mut post = json["routes"][0].clone();
        post["methods"] = serde_json::json!(["POST"]);
        json["routes"].as_array_mut().unwrap().push(post);
        assert!(RouteTable::from_json(&json.to_string()).is_ok());
    }

    #[test]
    fn unknown_method_is_an_error_naming_the_route() {
        for method in ["FETCH", "get", ""] {
            let mut json = minimal();
            json["routes"][0]["methods"] = serde_json::json!([method]);
            let msg = invalid(json);
            assert!(msg.contains("route 0"), "{msg}");
            assert!(msg.contains(&format!("unknown method {method:?}")), "{msg}");
        }
        let mut json = minimal();
        json["routes"][0]["methods"] = serde_json::json!([]);
        assert!(invalid(json).contains("no methods"));
    }

    #[test]
    fn other_inconsistencies_are_errors() {
        let cases: [(&str, serde_json::Value, &str); 6] = [
            (
                "/routes/0/timeout_ms",
                0.into(),
                "timeout_ms must be at least 1",
            ),
            ("/routes/0/upstream", "".into(), "empty upstream"),
            (
                "/policies/default/window_seconds",
                0.into(),
                "window_seconds must be at least 1",
            ),
            (
                "/policies/default/free",
                0.into(),
                "free and paid must be at least 1",
            ),
            (
                "/policies/default/paid",
                0.into(),
                "free and paid must be at least 1",
            ),
            ("/public/0", "health".into(), "must start with '/'"),
        ];
        for (pointer, value, expected) in cases {
            let mut json = minimal();
            *json.pointer_mut(pointer).unwrap() = value;
            let msg = invalid(json);
            assert!(msg.contains(expected), "{pointer}: {msg}");
        }
    }

    #[test]
    fn schema_errors_are_json_errors() {
        for bad in [
            "not json".to_string(),
            // A typo in a field name.
            minimal().to_string().replace("timeout_ms", "timeout"),
            // An unknown algorithm.
            minimal()
                .to_string()
                .replace("fixed-window", "leaky-bucket"),
            // A negative limit.
            minimal().to_string().replace("\"free\":1", "\"free\":-1"),
        ] {
            assert!(
                matches!(RouteTable::from_json(&bad), Err(RouteTableError::Json(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = RouteTable::load("/nonexistent/routes.json").unwrap_err();
        assert!(matches!(err, RouteTableError::Io { .. }));
        assert!(
            err.to_string().contains("/nonexistent/routes.json"),
            "{err}"
        );
    }
}
