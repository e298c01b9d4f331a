//! The fault proxy on a real TCP link: bytes pass unchanged, a black hole holds them
//! (and lets them through once healed, as a healed partition does), a reset cuts open
//! connections and refuses new ones, held answers reach the caller only once healed
//! while the requests pass, dropped answers cut the connection after the callee got the
//! request, and non-HTTP traffic is forwarded but not recorded.

use std::net::SocketAddr;
use std::time::Duration;

use qalens_proxy::{Application, Config, Control, Fault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// An upstream that echoes every byte back.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 || sock.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// An upstream that echoes every byte back and reports what it received on `seen`
/// before answering: the callee's work.
async fn witnessed_echo_server() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
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

/// A proxy in front of an echo server: its address and its control.
async fn proxy() -> (SocketAddr, Control) {
    proxy_to(echo_server().await).await
}

/// A proxy in front of `upstream`: its address and its control.
async fn proxy_to(upstream: SocketAddr) -> (SocketAddr, Control) {
    let app = Application::build(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.to_string(),
    })
    .await
    .unwrap();
    let (addr, control) = (app.local_addr(), app.control());
    tokio::spawn(app.run_until(std::future::pending()));
    (addr, control)
}

fn set(control: &Control, fault: Fault) {
    control.fault.set(fault);
}

/// Reads exactly `n` bytes, or `None` if they do not all arrive within `within`.
async fn read_n(sock: &mut TcpStream, n: usize, within: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(within, sock.read_exact(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(buf)
}

/// Asserts that exactly `want` arrives (within 5 s).
async fn expect_bytes(sock: &mut TcpStream, want: &[u8]) {
    assert_eq!(
        read_n(sock, want.len(), Duration::from_secs(5))
            .await
            .as_deref(),
        Some(want),
        "expected {:?}",
        String::from_utf8_lossy(want)
    );
}

#[tokio::test]
async fn a_black_hole_holds_bytes_until_healed_and_then_delivers_them_in_order() {
    let (addr, control) = proxy().await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"before").await.unwrap();
    expect_bytes(&mut sock, b"before").await;

    set(&control, Fault::Blackhole);
    sock.write_all(b"held-1").await.unwrap();
    sock.write_all(b"held-2").await.unwrap();
    assert_eq!(
        read_n(&mut sock, 1, Duration::from_millis(500)).await,
        None,
        "nothing may pass a black-holed link"
    );

    set(&control, Fault::None);
    // Held bytes are delivered, in order, once the link heals (the read that timed out
    // above consumed nothing).
    expect_bytes(&mut sock, b"held-1held-2").await;
}

#[tokio::test]
async fn a_reset_cuts_open_connections_and_refuses_new_ones_until_healed() {
    let (addr, control) = proxy().await;
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(b"x").await.unwrap();
    expect_bytes(&mut open, b"x").await;

    set(&control, Fault::Reset);
    let mut buf = [0u8; 1];
    let cut = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = open.write_all(b"y").await;
        open.read(&mut buf).await
    })
    .await
    .expect("an open connection is cut at once, not left hanging");
    assert!(matches!(cut, Ok(0) | Err(_)), "{cut:?}");

    let mut fresh = TcpStream::connect(addr).await.unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = fresh.write_all(b"z").await;
        fresh.read(&mut buf).await
    })
    .await
    .expect("a new connection is closed at once");
    assert!(matches!(refused, Ok(0) | Err(_)), "{refused:?}");

    set(&control, Fault::None);
    let mut after = TcpStream::connect(addr).await.unwrap();
    after.write_all(b"ok").await.unwrap();
    expect_bytes(&mut after, b"ok").await;
}

/// Waits (5 s at most) until the upstream received exactly `want`.
async fn upstream_got(seen: &mut mpsc::UnboundedReceiver<Vec<u8>>, want: &[u8]) {
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

#[tokio::test]
async fn held_answers_let_requests_through_and_reach_the_caller_once_healed() {
    let (upstream, mut seen) = witnessed_echo_server().await;
    let (addr, control) = proxy_to(upstream).await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"before").await.unwrap();
    expect_bytes(&mut sock, b"before").await;
    upstream_got(&mut seen, b"before").await;

    set(&control, Fault::HoldAnswers);
    sock.write_all(b"charge-1").await.unwrap();
    upstream_got(&mut seen, b"charge-1").await;
    sock.write_all(b"charge-2").await.unwrap();
    upstream_got(&mut seen, b"charge-2").await;
    assert_eq!(
        read_n(&mut sock, 1, Duration::from_millis(500)).await,
        None,
        "no answer may pass while answers are held"
    );

    set(&control, Fault::None);
    expect_bytes(&mut sock, b"charge-1charge-2").await;
}

#[tokio::test]
async fn dropped_answers_cut_the_connection_after_the_callee_got_the_request() {
    let (upstream, mut seen) = witnessed_echo_server().await;
    let (addr, control) = proxy_to(upstream).await;
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(b"x").await.unwrap();
    expect_bytes(&mut open, b"x").await;
    upstream_got(&mut seen, b"x").await;

    set(&control, Fault::DropAnswers);
    // An open connection and a new one alike: the request arrives, the answer does not.
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    for (sock, request) in [
        (&mut open, &b"charge-open"[..]),
        (&mut fresh, b"charge-new"),
    ] {
        sock.write_all(request).await.unwrap();
        upstream_got(&mut seen, request).await;
        let mut buf = [0u8; 64];
        let cut = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
            .await
            .expect("the connection is cut once the callee answered, not left hanging");
        assert!(matches!(cut, Ok(0) | Err(_)), "the answer leaked: {cut:?}");
    }

    set(&control, Fault::None);
    let mut after = TcpStream::connect(addr).await.unwrap();
    after.write_all(b"ok").await.unwrap();
    expect_bytes(&mut after, b"ok").await;
}

#[tokio::test]
async fn added_latency_delays_each_chunk_by_at_least_its_amount() {
    let (addr, control) = proxy().await;
    set(&control, Fault::Latency { ms: 300 });
    let mut sock = TcpStream::connect(addr).await.unwrap();
    let started = std::time::Instant::now();
    sock.write_all(b"slow").await.unwrap();
    expect_bytes(&mut sock, b"slow").await;
    // Held once on the way there and once on the way back.
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn non_http_traffic_is_forwarded_unchanged_and_not_recorded() {
    let (addr, control) = proxy().await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    // An AMQP protocol header, then a Redis command: neither is HTTP.
    let bytes = b"AMQP\x00\x00\x09\x01*1\r\n$4\r\nPING\r\n\r\n";
    sock.write_all(bytes).await.unwrap();
    expect_bytes(&mut sock, bytes).await;
    assert!(control.requests.all().is_empty());

    let mut http = TcpStream::connect(addr).await.unwrap();
    let req = b"POST /payments/charges HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
    http.write_all(req).await.unwrap();
    expect_bytes(&mut http, req).await;
    let recorded = control.requests.all();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].path, "/payments/charges");
}
