//! `dropanswers`: lost answers. Requests pass and the callee does the work, but the
//! first bytes the callee sends back make the proxy cut the connection with a reset (the
//! answer is dropped, never forwarded), so the caller sees a failed call whose work was
//! done. Open connections are cut when their callee speaks; new ones are accepted and
//! forwarded the same way.

use super::{Action, Direction};

pub(crate) const DIRECTIONS: &[Direction] = &[Direction::Answers];

/// The callee did the work; the answer is lost with the connection.
pub(crate) const ON_CHUNK: Action = Action::Cut;

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::Fault;
    use crate::testing::{expect_bytes, expect_cut, proxy_to, upstream_got, witnessed_echo_server};

    #[tokio::test]
    async fn dropped_answers_cut_the_connection_after_the_callee_got_the_request() {
        let (upstream, mut seen) = witnessed_echo_server().await;
        let p = proxy_to(upstream).await;
        let mut open = TcpStream::connect(p.addr).await.unwrap();
        open.write_all(b"x").await.unwrap();
        expect_bytes(&mut open, b"x").await;
        upstream_got(&mut seen, b"x").await;

        p.control.fault.set(Fault::DropAnswers);
        // An open connection and a new one alike: the request arrives, the answer does
        // not.
        let mut fresh = TcpStream::connect(p.addr).await.unwrap();
        for (sock, request) in [
            (&mut open, &b"charge-open"[..]),
            (&mut fresh, b"charge-new"),
        ] {
            sock.write_all(request).await.unwrap();
            upstream_got(&mut seen, request).await;
            expect_cut(sock, "the connection is cut once the callee answered").await;
        }

        p.control.fault.set(Fault::None);
        let mut after = TcpStream::connect(p.addr).await.unwrap();
        after.write_all(b"ok").await.unwrap();
        expect_bytes(&mut after, b"ok").await;
    }
}
