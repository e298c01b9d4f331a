//! The canonical form of a request path, the only form the gateway routes on.

/// Why `path` (the raw request path, percent-escapes intact) is not in the canonical
/// form the gateway routes on, or `None` when it is. Rejected: `.` and `..` segments,
/// empty segments (`//`), backslashes, and percent-encoded `/`, `\`, `.` and NUL, since
/// each lets a path match one route prefix here and mean another upstream.
pub fn non_canonical(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("the path must start with '/'");
    }
    let lower = path.to_ascii_lowercase();
    if path.contains('\\') || lower.contains("%5c") {
        return Some("backslashes are not allowed in the path");
    }
    if lower.contains("%2f") {
        return Some("encoded slashes (%2F) are not allowed in the path");
    }
    if lower.contains("%2e") {
        return Some("encoded dots (%2E) are not allowed in the path");
    }
    if lower.contains("%00") {
        return Some("NUL (%00) is not allowed in the path");
    }
    if path.contains("//") {
        return Some("empty path segments (//) are not allowed");
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Some("dot segments (. and ..) are not allowed in the path");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_pass() {
        for path in [
            "/",
            "/orders",
            "/orders/",
            "/orders/6f1c2a5e-1111-4c1d-9a55-0f4b2d1e9c3a/summary",
            "/inventory/stock/SKU-1",
            "/limited/fixed",
            "/a.b/c..d/.e/f.",
            "/caf%C3%A9",
        ] {
            assert_eq!(non_canonical(path), None, "{path}");
        }
    }

    /// One path per class of rejection, percent-escapes in either case.
    #[test]
    fn every_confusing_path_class_is_rejected() {
        for (path, class) in [
            ("/limited/fixed/../../admin/routes", "dot segments"),
            ("/limited/fixed/./x", "dot segments"),
            ("/orders/..", "dot segments"),
            ("/limited/fixed/%2e%2e/%2E%2E/admin/routes", "encoded dots"),
            ("/limited/fixed/.%2e/admin", "encoded dots"),
            (
                "/limited/fixed%2f..%2f..%2fadmin%2froutes",
                "encoded slashes",
            ),
            ("/admin%2Froutes", "encoded slashes"),
            ("/limited/fixed\\..\\..\\admin/routes", "backslashes"),
            ("/limited/fixed%5c..%5Cadmin", "backslashes"),
            ("//admin/routes", "empty path segments"),
            ("/limited//fixed", "empty path segments"),
            ("/admin/routes%00", "NUL"),
            ("admin/routes", "must start with '/'"),
        ] {
            let reason = non_canonical(path).unwrap_or_else(|| panic!("{path} passed"));
            assert!(reason.contains(class), "{path}: {reason}");
        }
    }
}
