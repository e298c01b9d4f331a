//! `holdanswer`: a request of the scenario reaches the callee; its answer is kept by the
//! proxy until the scenario is healed, or until `ms` milliseconds after the request
//! passed when given, then forwarded whole.

use std::time::{Duration, Instant};

use super::Plan;
use crate::faults::Direction;

pub(crate) const DIRECTIONS: &[Direction] = &[Direction::Answers];

pub(crate) fn plan(scenario: &str, ms: Option<u64>, now: Instant) -> Plan {
    Plan::Hold {
        scenario: scenario.to_string(),
        until: ms.map(|ms| now + Duration::from_millis(ms)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::io::AsyncWriteExt;

    use crate::faults::ScopedFault;
    use crate::testing::{http_upstream, marked_get, proxy_to, read_answer, roundtrip};

    #[tokio::test]
    async fn the_scenarios_answer_waits_for_the_heal() {
        let (upstream, mut seen) = http_upstream().await;
        let p = proxy_to(upstream).await;
        p.control
            .scoped
            .set("s-hold", ScopedFault::HoldAnswer { ms: None });
        let mut held = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        held.write_all(&marked_get("/charge", Some("s-hold")))
            .await
            .unwrap();
        assert_eq!(seen.recv().await.unwrap().0, "/charge", "the callee got it");
        assert!(
            tokio::time::timeout(Duration::from_millis(400), read_answer(&mut held))
                .await
                .is_err(),
            "no answer while held"
        );
        // Another connection meanwhile passes.
        let mut other = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        let answer = roundtrip(&mut other, &marked_get("/x", None)).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"));

        p.control.scoped.set("s-hold", ScopedFault::None);
        let answer = read_answer(&mut held).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "released by the heal");
    }

    #[tokio::test]
    async fn a_held_answer_is_released_at_its_deadline() {
        let (upstream, _seen) = http_upstream().await;
        let p = proxy_to(upstream).await;
        p.control
            .scoped
            .set("s-hold", ScopedFault::HoldAnswer { ms: Some(300) });
        let mut sock = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        let started = Instant::now();
        let answer = roundtrip(&mut sock, &marked_get("/charge", Some("s-hold"))).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
    }
}
