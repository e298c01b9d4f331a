//! `holdanswers`: a one-way partition. Requests (caller to callee) pass and the callee
//! does the work; the answers (callee to caller) are held as in a black hole and flow
//! again once the link heals.

use super::{Action, Direction};

pub(crate) const DIRECTIONS: &[Direction] = &[Direction::Answers];

pub(crate) const ON_CHUNK: Action = Action::Hold;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::Fault;
    use crate::testing::{expect_bytes, proxy_to, read_n, upstream_got, witnessed_echo_server};

    #[tokio::test]
    async fn held_answers_let_requests_through_and_reach_the_caller_once_healed() {
        let (upstream, mut seen) = witnessed_echo_server().await;
        let p = proxy_to(upstream).await;
        let mut sock = TcpStream::connect(p.addr).await.unwrap();
        sock.write_all(b"before").await.unwrap();
        expect_bytes(&mut sock, b"before").await;
        upstream_got(&mut seen, b"before").await;

        p.control.fault.set(Fault::HoldAnswers);
        sock.write_all(b"charge-1").await.unwrap();
        upstream_got(&mut seen, b"charge-1").await;
        sock.write_all(b"charge-2").await.unwrap();
        upstream_got(&mut seen, b"charge-2").await;
        assert_eq!(
            read_n(&mut sock, 1, Duration::from_millis(500)).await,
            None,
            "no answer may pass while answers are held"
        );

        p.control.fault.set(Fault::None);
        expect_bytes(&mut sock, b"charge-1charge-2").await;
    }
}
