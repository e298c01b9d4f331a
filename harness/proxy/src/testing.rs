//! Test support: a proxy on port 0 in front of a real TCP upstream, and reads with
//! deadlines. No Docker.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::{Application, Config, Control};

/// An upstream that echoes every byte back.
pub(crate) async fn echo_server() -> SocketAddr {
    witnessed_echo_server().await.0
}

/// An upstream that echoes every byte back and reports what it received on `seen`
/// before answering: the callee's work.
pub(crate) async fn witnessed_echo_server() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
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
pub(crate) struct Proxy {
    pub addr: SocketAddr,
    pub control_addr: SocketAddr,
    pub control: Control,
}

/// A proxy in front of an echo server.
pub(crate) async fn proxy() -> Proxy {
    proxy_to(echo_server().await).await
}

/// A proxy in front of `upstream`.
pub(crate) async fn proxy_to(upstream: SocketAddr) -> Proxy {
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
pub(crate) async fn read_n(sock: &mut TcpStream, n: usize, within: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(within, sock.read_exact(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(buf)
}

/// Asserts that exactly `want` arrives (within 5 s).
pub(crate) async fn expect_bytes(sock: &mut TcpStream, want: &[u8]) {
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
pub(crate) async fn expect_cut(sock: &mut TcpStream, why: &str) {
    let mut buf = [0u8; 64];
    let cut = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("{why}: the connection was left hanging"));
    assert!(matches!(cut, Ok(0) | Err(_)), "{why}: {cut:?}");
}

/// Waits (5 s at most) until the upstream received exactly `want`.
pub(crate) async fn upstream_got(seen: &mut mpsc::UnboundedReceiver<Vec<u8>>, want: &[u8]) {
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

/// An HTTP/1.1 upstream (keep-alive) that answers every request 200 with its path as
/// the body, and reports each request's path and the scenario its baggage names on
/// `seen` before answering.
pub(crate) async fn http_upstream() -> (
    SocketAddr,
    mpsc::UnboundedReceiver<(String, Option<String>)>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
            let tx = tx.clone();
            async move {
                let scenario = crate::mark::scenario_of(
                    headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or(""))),
                );
                let _ = tx.send((uri.path().to_string(), scenario));
                uri.path().to_string()
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rx)
}

/// A GET of `path` whose baggage names `scenario` (none without it), beside another
/// baggage entry.
pub(crate) fn marked_get(path: &str, scenario: Option<&str>) -> Vec<u8> {
    let baggage = match scenario {
        Some(s) => format!("baggage: tenant=t1,qalens.scenario={s}\r\n"),
        None => String::new(),
    };
    format!("GET {path} HTTP/1.1\r\nhost: callee\r\n{baggage}\r\n").into_bytes()
}

/// Reads one whole answer (head and `content-length` body) as it came, within 5 s.
pub(crate) async fn read_answer(sock: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if got.len() >= end + 4 + len {
                assert_eq!(got.len(), end + 4 + len, "nothing more than one answer");
                return got;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .expect("an open connection");
        assert!(
            n > 0,
            "the connection closed mid-answer: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
}

/// Sends `request` and reads its answer.
pub(crate) async fn roundtrip(sock: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    sock.write_all(request).await.unwrap();
    read_answer(sock).await
}
