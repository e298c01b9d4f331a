//! `dropanswer`: a request of the scenario reaches the callee, which does the work; when
//! its answer starts to arrive the proxy cuts the connection with a reset, so the caller
//! sees a failed call whose work was done.

use super::Plan;
use crate::faults::Direction;

pub(crate) const DIRECTIONS: &[Direction] = &[Direction::Answers];

pub(crate) const PLAN: Plan = Plan::Cut;

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use crate::faults::ScopedFault;
    use crate::testing::{expect_cut, http_upstream, marked_get, proxy_to, roundtrip};

    #[tokio::test]
    async fn the_scenarios_answer_is_lost_after_the_callee_did_the_work() {
        let (upstream, mut seen) = http_upstream().await;
        let p = proxy_to(upstream).await;
        p.control.scoped.set("s-drop", ScopedFault::DropAnswer);
        let mut sock = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        let answer = roundtrip(&mut sock, &marked_get("/before", Some("s-other"))).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        assert_eq!(seen.recv().await.unwrap().0, "/before");

        sock.write_all(&marked_get("/charge", Some("s-drop")))
            .await
            .unwrap();
        let (path, scenario) = seen.recv().await.unwrap();
        assert_eq!(
            (path.as_str(), scenario.as_deref()),
            ("/charge", Some("s-drop"))
        );
        expect_cut(&mut sock, "the answer is dropped with the connection").await;
    }
}
