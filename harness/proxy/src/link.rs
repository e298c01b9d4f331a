//! One connection across the link: the caller's socket, the callee's, and a pump each
//! way that asks the link-wide fault what to do with every chunk it carries, and frames
//! HTTP/1.1 messages so that a scenario's scoped fault acts on its requests only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, watch};

use crate::control::{Control, ScopedFaults};
use crate::faults::scoped::Plan;
use crate::faults::{Action, Direction, Fault, ScopedFault};
use crate::http1::{Framer, Piece, Side};
use crate::{mark, recorder};

/// Waits as the link-wide fault says for a chunk going `direction`: `false` when the
/// chunk must not pass (a cut, signalled on `reset`, or the switch is gone).
async fn link_wide(
    fault: &mut watch::Receiver<Fault>,
    direction: Direction,
    reset: &Notify,
) -> bool {
    loop {
        let now = *fault.borrow_and_update();
        match now.on_chunk(direction) {
            Action::Forward => return true,
            Action::Delay(by) => {
                tokio::time::sleep(by).await;
                return true;
            }
            Action::Hold => {
                if fault.changed().await.is_err() {
                    return false;
                }
            }
            Action::Cut => {
                reset.notify_one();
                return false;
            }
        }
    }
}

/// A request's plan as the answer side needs it.
struct Planned {
    plan: Plan,
    /// The request was a HEAD: its answer has no body.
    head: bool,
}

/// Copies the caller's bytes to the callee, asking the link-wide fault about each chunk
/// when it arrives ([`link_wide`]). Each HTTP request's head decides its plan from the
/// scenario its baggage names ([`ScopedFaults`]); the plan goes to the answer side, in
/// order, before the request goes on, and an aborted request does not go on at all.
async fn requests<R, W>(
    mut from: R,
    mut to: W,
    mut fault: watch::Receiver<Fault>,
    reset: Arc<Notify>,
    mut record: recorder::Parser,
    scoped: ScopedFaults,
    plans: mpsc::UnboundedSender<Planned>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    let mut framer = Framer::new(Side::Requests);
    let mut swallow = false;
    'read: loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !link_wide(&mut fault, Direction::Requests, &reset).await {
            return;
        }
        record.feed(&buf[..n]);
        for piece in framer.feed(&buf[..n]) {
            let bytes = match piece {
                Piece::Head(head) => {
                    let fault = mark::scenario_of(
                        head.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    )
                    .map(|s| (scoped.get(&s), s));
                    let plan = match fault {
                        Some((f, scenario)) => f.plan(&scenario, Instant::now()),
                        None => Plan::Pass,
                    };
                    swallow = matches!(plan, Plan::Answer(_));
                    let head_request = head.first == "HEAD";
                    if plans
                        .send(Planned {
                            plan,
                            head: head_request,
                        })
                        .is_err()
                    {
                        break 'read;
                    }
                    head.raw
                }
                Piece::Bytes(b) => b,
                Piece::End => {
                    swallow = false;
                    continue;
                }
            };
            if !swallow && to.write_all(&bytes).await.is_err() {
                break 'read;
            }
        }
    }
    let _ = to.shutdown().await;
}

/// Resolves once `scenario` no longer holds its answers, or at `until`.
async fn released(
    mut scoped: watch::Receiver<BTreeMap<String, ScopedFault>>,
    scenario: &str,
    until: Option<Instant>,
) {
    let healed = async {
        let _ = scoped
            .wait_for(|all| !matches!(all.get(scenario), Some(ScopedFault::HoldAnswer { .. })))
            .await;
    };
    match until {
        Some(t) => {
            let _ = tokio::time::timeout_at(t.into(), healed).await;
        }
        None => healed.await,
    }
}

/// Copies the callee's bytes to the caller, asking the link-wide fault about each chunk
/// ([`link_wide`]). Each HTTP answer starts by carrying out its request's plan: late,
/// held, cut, or (for an aborted request) replaced by the proxy's own answer, written in
/// its turn between answers.
async fn answers<R, W>(
    mut from: R,
    mut to: W,
    mut fault: watch::Receiver<Fault>,
    reset: Arc<Notify>,
    scoped: ScopedFaults,
    mut plans: mpsc::UnboundedReceiver<Planned>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    let mut framer = Framer::new(Side::Answers);
    // The plan of the answer being read, once the next one is known.
    let mut current: Option<Plan> = None;
    // The answer being read is an interim one (1xx): its request's plan waits for the
    // final answer.
    let mut interim = false;
    let mut requests_open = true;
    loop {
        let read = loop {
            let idle = current.is_none() && framer.between_messages() && !framer.given_up();
            if !idle {
                break from.read(&mut buf).await;
            }
            let next = if requests_open {
                tokio::select! {
                    biased;
                    p = plans.recv() => p,
                    r = from.read(&mut buf) => break r,
                }
            } else {
                break from.read(&mut buf).await;
            };
            let Some(Planned { plan, head }) = next else {
                requests_open = false;
                continue;
            };
            if let Plan::Answer(bytes) = plan {
                if to.write_all(&bytes).await.is_err() {
                    return;
                }
                continue;
            }
            framer.next_answers_head(head);
            current = Some(plan);
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !link_wide(&mut fault, Direction::Answers, &reset).await {
            return;
        }
        for piece in framer.feed(&buf[..n]) {
            let bytes = match piece {
                Piece::Head(head) => {
                    interim = head.interim;
                    let plan = if head.interim {
                        Plan::Pass
                    } else {
                        current.clone().unwrap_or(Plan::Pass)
                    };
                    match plan {
                        Plan::Pass | Plan::Answer(_) => {}
                        Plan::Delay(by) => tokio::time::sleep(by).await,
                        Plan::Cut => {
                            reset.notify_one();
                            return;
                        }
                        Plan::Hold { scenario, until } => {
                            released(scoped.watch(), &scenario, until).await;
                        }
                    }
                    head.raw
                }
                Piece::Bytes(b) => b,
                Piece::End => {
                    if !interim {
                        current = None;
                    }
                    continue;
                }
            };
            if to.write_all(&bytes).await.is_err() {
                return;
            }
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
        let record = recorder::Parser::new(control.requests);
        let (plans, planned) = mpsc::unbounded_channel();
        tokio::select! {
            _ = async {
                tokio::join!(
                    requests(cr, sw, fault.watch(), reset_now.clone(), record, control.scoped.clone(), plans),
                    answers(sr, cw, fault.watch(), reset_now.clone(), control.scoped.clone(), planned)
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
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use crate::ScopedFault;
    use crate::testing::{
        expect_bytes, expect_cut, marked_get, proxy, proxy_to, read_answer, roundtrip,
    };

    /// An upstream that keeps every byte it receives and answers each request (no body)
    /// with the same 200.
    async fn byte_keeping_upstream() -> (std::net::SocketAddr, Arc<Mutex<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let kept = Arc::new(Mutex::new(Vec::new()));
        let all = kept.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let all = all.clone();
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = sock.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        all.lock().unwrap().extend_from_slice(&buf[..n]);
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-u: 1\r\n\r\nok";
                            if sock.write_all(ok).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, kept)
    }

    #[tokio::test]
    async fn a_keep_alive_connection_carries_each_scenarios_requests_under_its_own_fault_only() {
        let (upstream, kept) = byte_keeping_upstream().await;
        let p = proxy_to(upstream).await;
        p.control
            .scoped
            .set("sa", ScopedFault::Abort { status: 503 });
        p.control.scoped.set("sb", ScopedFault::Latency { ms: 300 });
        let mut sock = TcpStream::connect(p.addr).await.unwrap();
        let unmarked = b"GET /u HTTP/1.1\r\nHost: callee\r\nBaggage: tenant=t1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-u: 1\r\n\r\nok".to_vec();

        let started = Instant::now();
        assert_eq!(roundtrip(&mut sock, unmarked).await, ok);
        let aborted = roundtrip(&mut sock, &marked_get("/a", Some("sa"))).await;
        assert!(
            aborted.starts_with(b"HTTP/1.1 503 "),
            "{}",
            String::from_utf8_lossy(&aborted)
        );
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
        let late = Instant::now();
        assert_eq!(
            roundtrip(&mut sock, &marked_get("/b", Some("sb"))).await,
            ok
        );
        assert!(
            late.elapsed() >= Duration::from_millis(300),
            "{:?}",
            late.elapsed()
        );
        // A scenario without a fault, then unmarked traffic again: untouched and on time.
        let quick = Instant::now();
        assert_eq!(
            roundtrip(&mut sock, &marked_get("/c", Some("sc"))).await,
            ok
        );
        assert_eq!(roundtrip(&mut sock, unmarked).await, ok);
        assert!(
            quick.elapsed() < Duration::from_millis(250),
            "{:?}",
            quick.elapsed()
        );

        // The callee got every request but the aborted one, byte for byte.
        let mut want = unmarked.to_vec();
        want.extend(marked_get("/b", Some("sb")));
        want.extend(marked_get("/c", Some("sc")));
        want.extend(unmarked);
        assert_eq!(
            String::from_utf8_lossy(&kept.lock().unwrap()),
            String::from_utf8_lossy(&want)
        );
    }

    #[tokio::test]
    async fn two_scenarios_faulted_at_once_on_one_link_each_see_only_their_own_fault() {
        let (upstream, _kept) = byte_keeping_upstream().await;
        let p = proxy_to(upstream).await;
        p.control
            .scoped
            .set("hold", ScopedFault::HoldAnswer { ms: None });
        p.control.scoped.set("drop", ScopedFault::DropAnswer);
        let (mut held, mut dropped, mut free) = (
            TcpStream::connect(p.addr).await.unwrap(),
            TcpStream::connect(p.addr).await.unwrap(),
            TcpStream::connect(p.addr).await.unwrap(),
        );
        held.write_all(&marked_get("/h", Some("hold")))
            .await
            .unwrap();
        dropped
            .write_all(&marked_get("/d", Some("drop")))
            .await
            .unwrap();
        expect_cut(&mut dropped, "the dropping scenario loses its answer").await;
        for _ in 0..3 {
            let answer = roundtrip(&mut free, &marked_get("/f", None)).await;
            assert!(
                answer.starts_with(b"HTTP/1.1 200"),
                "unmarked traffic passes meanwhile"
            );
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(300), read_answer(&mut held))
                .await
                .is_err(),
            "the holding scenario's answer is still held"
        );
        // Healing one scenario leaves the other's fault in place.
        p.control.scoped.set("hold", ScopedFault::None);
        assert!(read_answer(&mut held).await.starts_with(b"HTTP/1.1 200"));
        let mut again = TcpStream::connect(p.addr).await.unwrap();
        again
            .write_all(&marked_get("/d", Some("drop")))
            .await
            .unwrap();
        expect_cut(&mut again, "the other scenario's fault stays").await;
    }

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
