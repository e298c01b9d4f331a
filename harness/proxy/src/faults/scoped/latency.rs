//! `latency`: the answer to a request of the scenario is held `ms` milliseconds once it
//! starts to arrive, then forwarded whole. The callee does the work on time; the caller
//! sees it `ms` later.

use std::time::Duration;

use super::Plan;
use crate::faults::Direction;

pub(crate) const DIRECTIONS: &[Direction] = &[Direction::Answers];

pub(crate) fn plan(ms: u64) -> Plan {
    Plan::Delay(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::faults::ScopedFault;
    use crate::testing::{http_upstream, marked_get, proxy_to, roundtrip};

    #[tokio::test]
    async fn the_scenarios_answers_are_late_and_the_others_are_not() {
        let (upstream, _seen) = http_upstream().await;
        let p = proxy_to(upstream).await;
        p.control
            .scoped
            .set("slow", ScopedFault::Latency { ms: 400 });
        let mut sock = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        // One keep-alive connection: the other scenario's request, then this one's.
        let started = Instant::now();
        let answer = roundtrip(&mut sock, &marked_get("/a", Some("fast"))).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let answer = roundtrip(&mut sock, &marked_get("/b", Some("slow"))).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }
}
