//! `latency`: every chunk, both ways, is held for `ms` milliseconds before it is
//! forwarded, so a request and its answer each take `ms` longer.

use std::time::Duration;

use super::{Action, BOTH, Direction};

pub(crate) const DIRECTIONS: &[Direction] = BOTH;

/// The added latency is the fault itself.
pub(crate) fn on_chunk(ms: u64) -> Action {
    Action::Delay(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::Fault;
    use crate::testing::{expect_bytes, proxy};

    #[tokio::test]
    async fn added_latency_delays_each_chunk_by_at_least_its_amount() {
        let p = proxy().await;
        p.control.fault.set(Fault::Latency { ms: 300 });
        let mut sock = TcpStream::connect(p.addr).await.unwrap();
        let started = Instant::now();
        sock.write_all(b"slow").await.unwrap();
        expect_bytes(&mut sock, b"slow").await;
        // Held once on the way there and once on the way back.
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }
}
