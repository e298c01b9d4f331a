//! Test support: a proxy on port 0 in front of a real TCP upstream, and reads with
//! deadlines. No Docker.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::{Application, Config, Control};

/// An upstream that echoes every byte back.
pub async fn echo_server() -> SocketAddr {
    witnessed_echo_server().await.0
}

/// An upstream that echoes every byte back and reports what it received on `seen`
/// before answering: the callee's work.
pub async fn witnessed_echo_server() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let _ = tx.send(buf[..n].to_vec());
                    if sock.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// A running proxy: where callers connect, where its control API listens, its control.
pub struct Proxy {
    pub addr: SocketAddr,
    pub control_addr: SocketAddr,
    pub control: Control,
}

/// A proxy in front of an echo server.
pub async fn proxy() -> Proxy {
    proxy_to(echo_server().await).await
}

/// A proxy in front of `upstream`.
pub async fn proxy_to(upstream: SocketAddr) -> Proxy {
    let app = Application::build(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        control_bind: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.to_string(),
        passthrough: vec![],
    })
    .await
    .unwrap();
    let proxy = Proxy {
        addr: app.local_addr(),
        control_addr: app.control_addr(),
        control: app.control(),
    };
    tokio::spawn(app.run_until(std::future::pending()));
    proxy
}

/// Reads exactly `n` bytes, or `None` if they do not all arrive within `within`.
pub async fn read_n(sock: &mut TcpStream, n: usize, within: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(within, sock.read_exact(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(buf)
}

/// Asserts that exactly `want` arrives (within 5 s).
pub async fn expect_bytes(sock: &mut TcpStream, want: &[u8]) {
    assert_eq!(
        read_n(sock, want.len(), Duration::from_secs(5))
            .await
            .as_deref(),
        Some(want),
        "expected {:?}",
        String::from_utf8_lossy(want)
    );
}

/// Asserts that the connection is closed or reset within 5 s, with nothing read.
pub async fn expect_cut(sock: &mut TcpStream, why: &str) {
    let mut buf = [0u8; 64];
    let cut = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("{why}: the connection was left hanging"));
    assert!(matches!(cut, Ok(0) | Err(_)), "{why}: {cut:?}");
}

/// Waits (5 s at most) until the upstream received exactly `want`.
pub async fn upstream_got(seen: &mut mpsc::UnboundedReceiver<Vec<u8>>, want: &[u8]) {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while got.len() < want.len() {
            match seen.recv().await {
                Some(chunk) => got.extend(chunk),
                None => break,
            }
        }
    })
    .await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "the request must reach the callee"
    );
}
