//! What the fault proxy saw: every HTTP/1.1 request that a caller sent over the link,
//! parsed from the byte stream as it passes (request line, headers, body by
//! `Content-Length`). The harness reads them on `GET /internal/requests` to check that
//! a service still sends what its peer expects. Recording never changes the traffic: a
//! stream that is not plain HTTP/1.1 with `Content-Length` framing is forwarded as usual
//! and no longer recorded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// How many requests the proxy keeps (oldest dropped first).
pub(crate) const KEEP: usize = 2000;
/// The largest request head or body that is recorded; a larger one stops recording of
/// its connection.
const MAX_PART: usize = 256 * 1024;

/// A request a caller sent over the link, as the proxy recorded it (`GET
/// /internal/requests` on its control port), read by the harness's contract steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// Position in the proxy's log, from 1.
    pub seq: u64,
    pub method: String,
    /// The request target, with its query string.
    pub path: String,
    /// Header names in lower case; repeated headers are joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {} {}", self.seq, self.method, self.path)?;
        if !self.body.is_empty() {
            write!(f, " {}", self.body)?;
        }
        Ok(())
    }
}

/// The shared log of recorded requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log(Arc<Mutex<(u64, VecDeque<Recorded>)>>);

impl Log {
    fn push(&self, mut r: Recorded) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.0 += 1;
        r.seq = log.0;
        if log.1.len() == KEEP {
            log.1.pop_front();
        }
        log.1.push_back(r);
    }

    /// Every kept request, oldest first.
    pub(crate) fn all(&self) -> Vec<Recorded> {
        let log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.1.iter().cloned().collect()
    }
}

/// Parses the caller-to-upstream bytes of one connection.
#[derive(Debug)]
pub(crate) struct Parser {
    log: Log,
    buf: Vec<u8>,
    /// A head was parsed; waiting for this many body bytes.
    pending: Option<(Recorded, usize)>,
    /// The stream is not something this parser understands; stop looking.
    given_up: bool,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `buf`, at the start of a request, begins like an HTTP request line: a method
/// of 1 to 16 upper-case letters, then a space. `None` until enough bytes arrived to say.
/// A stream that does not (AMQP, Redis, TLS) is given up on at once, so a long-lived
/// non-HTTP connection costs the proxy nothing.
fn starts_like_http(buf: &[u8]) -> Option<bool> {
    for (i, b) in buf.iter().enumerate().take(17) {
        match b {
            b' ' => return Some(i > 0),
            b'A'..=b'Z' => {}
            _ => return Some(false),
        }
    }
    if buf.len() >= 17 { Some(false) } else { None }
}

/// Parses a request head (without the blank line): the request and its body length.
fn parse_head(head: &[u8]) -> Option<(Recorded, usize)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    let mut headers = BTreeMap::<String, String>::new();
    for line in lines {
        let (k, v) = line.split_once(':')?;
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        headers
            .entry(k)
            .and_modify(|old| {
                old.push_str(", ");
                old.push_str(v);
            })
            .or_insert_with(|| v.to_string());
    }
    if headers.contains_key("transfer-encoding") {
        return None;
    }
    let len = match headers.get("content-length") {
        Some(v) => v.parse().ok()?,
        None => 0,
    };
    Some((
        Recorded {
            seq: 0,
            method: method.to_string(),
            path: path.to_string(),
            headers,
            body: String::new(),
        },
        len,
    ))
}

impl Parser {
    pub(crate) fn new(log: Log) -> Self {
        Self {
            log,
            buf: Vec::new(),
            pending: None,
            given_up: false,
        }
    }

    /// Feeds the next chunk the caller sent.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if self.given_up {
            return;
        }
        self.buf.extend_from_slice(chunk);
        loop {
            if let Some((_, len)) = &self.pending {
                let len = *len;
                if self.buf.len() < len {
                    break;
                }
                let (mut req, _) = self.pending.take().expect("checked above");
                req.body = String::from_utf8_lossy(&self.buf[..len]).into_owned();
                self.buf.drain(..len);
                self.log.push(req);
                continue;
            }
            match starts_like_http(&self.buf) {
                Some(true) => {}
                Some(false) => {
                    self.give_up();
                    return;
                }
                None => break,
            }
            let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                break;
            };
            match parse_head(&self.buf[..end]) {
                Some((req, len)) if len <= MAX_PART => {
                    self.buf.drain(..end + 4);
                    self.pending = Some((req, len));
                }
                _ => {
                    self.give_up();
                    return;
                }
            }
        }
        if self.buf.len() > MAX_PART + 64 * 1024 {
            self.give_up();
        }
    }

    fn give_up(&mut self) {
        self.given_up = true;
        self.buf = Vec::new();
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Recorded> {
        let log = Log::default();
        let mut p = Parser::new(log.clone());
        for c in chunks {
            p.feed(c);
        }
        log.all()
    }

    #[test]
    fn keep_alive_requests_split_across_chunks_are_recorded_in_order() {
        let stream = b"POST /payments/charges HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\nIdempotency-Key: k1\r\ncontent-length: 13\r\n\r\n{\"a\":\"\xc3\xa9x\"}\r\nGET /health HTTP/1.1\r\nhost: p\r\n\r\n";
        for split in [1, 7, 50, 90, stream.len()] {
            let chunks: Vec<&[u8]> = stream.chunks(split).collect();
            let got = parse_all(&chunks);
            assert_eq!(got.len(), 2, "split {split}: {got:?}");
            assert_eq!(got[0].seq, 1);
            assert_eq!(got[0].method, "POST");
            assert_eq!(got[0].path, "/payments/charges");
            assert_eq!(got[0].headers["idempotency-key"], "k1");
            assert_eq!(got[0].body, "{\"a\":\"éx\"}\r\n");
            assert_eq!(
                (got[1].method.as_str(), got[1].path.as_str()),
                ("GET", "/health")
            );
            assert_eq!(got[1].body, "");
        }
    }

    #[test]
    fn an_incomplete_body_is_not_recorded_yet() {
        let got = parse_all(&[b"POST /x HTTP/1.1\r\ncontent-length: 10\r\n\r\n12345"]);
        assert!(got.is_empty());
    }

    #[test]
    fn streams_it_cannot_frame_stop_recording() {
        let chunked = b"POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /y HTTP/1.1\r\n\r\n";
        assert!(parse_all(&[chunked]).is_empty());
        assert!(parse_all(&[b"\x16\x03\x01 tls hello\r\n\r\n"]).is_empty());
    }

    #[test]
    fn non_http_streams_are_given_up_on_from_their_first_bytes() {
        for stream in [
            &b"AMQP\x00\x00\x09\x01"[..],
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            b"GETTINGLONGERTHANAMETHOD /x HTTP/1.1\r\n\r\n",
            b" GET /x HTTP/1.1\r\n\r\n",
        ] {
            let log = Log::default();
            let mut p = Parser::new(log.clone());
            p.feed(stream);
            assert!(p.given_up, "{stream:?}");
            p.feed(b"GET /late HTTP/1.1\r\n\r\n");
            assert!(log.all().is_empty(), "{stream:?}");
        }
        // A method split across chunks is still waited for.
        let got = parse_all(&[b"PO", b"ST /x HTTP/1.1\r\ncontent-length: 0\r\n\r\n"]);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn the_log_keeps_the_newest() {
        let log = Log::default();
        let mut p = Parser::new(log.clone());
        for _ in 0..KEEP + 5 {
            p.feed(b"GET /a HTTP/1.1\r\n\r\n");
        }
        let all = log.all();
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].seq, 6);
        assert_eq!(all.last().unwrap().seq, (KEEP + 5) as u64);
    }
}
