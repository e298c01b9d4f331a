//! `abort`: a request of the scenario never reaches the callee; the proxy answers it
//! itself with the given status (a short text body, `x-qalens-fault: abort`), in its
//! turn on the connection, which stays open for the requests that follow.

use super::Plan;
use crate::faults::Direction;

pub(crate) const DIRECTIONS: &[Direction] = &[Direction::Requests];

/// The header the proxy's own answers carry.
pub(crate) const HEADER: &str = "x-qalens-fault";

/// A status an abort cannot answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an abort answers with a status from 200 to 599, not {0}")]
pub(crate) struct BadStatus(pub(crate) u16);

pub(crate) fn check(status: u16) -> Result<(), BadStatus> {
    if (200..=599).contains(&status) {
        Ok(())
    } else {
        Err(BadStatus(status))
    }
}

pub(crate) fn plan(status: u16, scenario: &str) -> Plan {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Fault",
    };
    let body = format!("qalens proxy: aborted for scenario {scenario}\n");
    Plan::Answer(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{HEADER}: abort\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use crate::faults::ScopedFault;
    use crate::testing::{http_upstream, marked_get, proxy_to, roundtrip};

    #[tokio::test]
    async fn the_scenarios_request_is_answered_by_the_proxy_and_never_reaches_the_callee() {
        let (upstream, mut seen) = http_upstream().await;
        let p = proxy_to(upstream).await;
        p.control
            .scoped
            .set("s-abort", ScopedFault::Abort { status: 503 });
        let mut sock = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        let answer = roundtrip(&mut sock, &marked_get("/charge", Some("s-abort"))).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("x-qalens-fault: abort"), "{text}");
        // The same connection goes on: an unmarked request reaches the callee.
        let answer = roundtrip(&mut sock, &marked_get("/other", None)).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        assert_eq!(
            seen.recv().await.unwrap().0,
            "/other",
            "the aborted one never arrived"
        );

        p.control.scoped.set("s-abort", ScopedFault::None);
        let answer = roundtrip(&mut sock, &marked_get("/charge", Some("s-abort"))).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "healed");
    }
}
