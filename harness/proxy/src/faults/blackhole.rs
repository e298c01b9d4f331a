//! `blackhole`: connections are accepted and then nothing is forwarded either way (the
//! caller times out). Like a network partition, the bytes are held, not dropped, and flow
//! again once the link is healed, so a long-lived connection (AMQP, Redis) that survives
//! the partition stays in step.

use super::{Action, BOTH, Direction};

pub(crate) const DIRECTIONS: &[Direction] = BOTH;

/// The partition is the fault: the chunk waits until the fault changes.
pub(crate) const ON_CHUNK: Action = Action::Hold;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::Fault;
    use crate::testing::{expect_bytes, proxy, read_n};

    #[tokio::test]
    async fn a_black_hole_holds_bytes_until_healed_and_then_delivers_them_in_order() {
        let p = proxy().await;
        let mut sock = TcpStream::connect(p.addr).await.unwrap();
        sock.write_all(b"before").await.unwrap();
        expect_bytes(&mut sock, b"before").await;

        p.control.fault.set(Fault::Blackhole);
        sock.write_all(b"held-1").await.unwrap();
        sock.write_all(b"held-2").await.unwrap();
        assert_eq!(
            read_n(&mut sock, 1, Duration::from_millis(500)).await,
            None,
            "nothing may pass a black-holed link"
        );

        p.control.fault.set(Fault::None);
        // Held bytes are delivered, in order, once the link heals (the read that timed
        // out above consumed nothing).
        expect_bytes(&mut sock, b"held-1held-2").await;
    }
}
