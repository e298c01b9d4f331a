//! `reset`: every connection is cut with a TCP reset the moment the fault is set, idle
//! ones too, and new connections are closed at once the same way, until the link heals.

use super::{Action, BOTH, Direction};

pub(crate) const DIRECTIONS: &[Direction] = BOTH;

/// Nothing passes once a reset is asked for.
pub(crate) const ON_CHUNK: Action = Action::Cut;

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::Fault;
    use crate::testing::{expect_bytes, expect_cut, proxy};

    #[tokio::test]
    async fn a_reset_cuts_open_connections_and_refuses_new_ones_until_healed() {
        let p = proxy().await;
        let mut open = TcpStream::connect(p.addr).await.unwrap();
        open.write_all(b"x").await.unwrap();
        expect_bytes(&mut open, b"x").await;

        p.control.fault.set(Fault::Reset);
        let _ = open.write_all(b"y").await;
        expect_cut(&mut open, "an open connection is cut at once").await;

        let mut fresh = TcpStream::connect(p.addr).await.unwrap();
        let _ = fresh.write_all(b"z").await;
        expect_cut(&mut fresh, "a new connection is closed at once").await;

        p.control.fault.set(Fault::None);
        let mut after = TcpStream::connect(p.addr).await.unwrap();
        after.write_all(b"ok").await.unwrap();
        expect_bytes(&mut after, b"ok").await;
    }

    #[tokio::test]
    async fn a_reset_cuts_an_idle_connection_without_waiting_for_traffic() {
        let p = proxy().await;
        let mut idle = TcpStream::connect(p.addr).await.unwrap();
        idle.write_all(b"x").await.unwrap();
        expect_bytes(&mut idle, b"x").await;

        p.control.fault.set(Fault::Reset);
        expect_cut(&mut idle, "an idle connection is cut at once").await;
    }
}
