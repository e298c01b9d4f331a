//! One connection across the link: the caller's socket, the callee's, and a pump each
//! way that asks the fault in effect what to do with every chunk it carries.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};

use crate::control::Control;
use crate::faults::{Action, Direction, Fault};
use crate::recorder;

/// Copies `from` to `to` in `direction`, asking the fault about each chunk when it
/// arrives ([`Fault::on_chunk`]), so nothing passes once a cut is asked for: the pump
/// signals `reset` and stops. A held chunk waits until the fault changes (a healed link
/// forwards it; a reset drops it with the connection).
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    direction: Direction,
    mut fault: watch::Receiver<Fault>,
    reset: Arc<Notify>,
    mut record: Option<recorder::Parser>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        loop {
            let now = *fault.borrow_and_update();
            match now.on_chunk(direction) {
                Action::Forward => break,
                Action::Delay(by) => {
                    tokio::time::sleep(by).await;
                    break;
                }
                Action::Hold => {
                    if fault.changed().await.is_err() {
                        return;
                    }
                }
                Action::Cut => {
                    reset.notify_one();
                    return;
                }
            }
        }
        if let Some(r) = &mut record {
            r.feed(&buf[..n]);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Resolves when the fault becomes one that cuts every connection; never if the switch
/// is gone.
async fn cut_requested(mut fault: watch::Receiver<Fault>) {
    if fault.wait_for(|f| f.cuts_connections()).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Carries one caller's connection to `upstream` until either side closes it or a
/// fault cuts it.
pub(crate) async fn handle(mut client: TcpStream, upstream: String, control: Control) {
    let fault = control.fault;
    if fault.get().cuts_connections() {
        // Linger 0 turns the close into a reset.
        let _ = client.set_zero_linger();
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let reset_now = Arc::new(Notify::new());
    let reset = {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        let requests = recorder::Parser::new(control.requests);
        tokio::select! {
            _ = async {
                tokio::join!(
                    pump(cr, sw, Direction::Requests, fault.watch(), reset_now.clone(), Some(requests)),
                    pump(sr, cw, Direction::Answers, fault.watch(), reset_now.clone(), None)
                )
            } => false,
            _ = reset_now.notified() => true,
            // Idle connections are cut too, not only the ones that carry traffic.
            _ = cut_requested(fault.watch()) => true,
        }
    };
    if reset {
        // Connections already open are reset too, not only new ones.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    use crate::testing::{expect_bytes, proxy};

    #[tokio::test]
    async fn non_http_traffic_is_forwarded_unchanged_and_not_recorded() {
        let p = proxy().await;
        let mut sock = TcpStream::connect(p.addr).await.unwrap();
        // An AMQP protocol header, then a Redis command: neither is HTTP.
        let bytes = b"AMQP\x00\x00\x09\x01*1\r\n$4\r\nPING\r\n\r\n";
        sock.write_all(bytes).await.unwrap();
        expect_bytes(&mut sock, bytes).await;
        assert!(p.control.requests.all().is_empty());

        let mut http = TcpStream::connect(p.addr).await.unwrap();
        let req = b"POST /payments/charges HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
        http.write_all(req).await.unwrap();
        expect_bytes(&mut http, req).await;
        let recorded = p.control.requests.all();
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0].path, "/payments/charges");
    }
}
