//! Where one HTTP/1.1 message ends and the next begins, on a byte stream as it passes:
//! the head, then a body framed by `Content-Length`, by chunked transfer coding, or
//! (answers only) by the close of the connection. The scoped faults need it: a
//! keep-alive connection carries requests of several scenarios, one after another, and
//! a fault acts on one request and its answer only.
//!
//! The framer never changes a byte. It hands back what it was fed, cut at message
//! boundaries; a stream it cannot frame (not HTTP/1.1, a head too long) is handed back
//! as it came from then on, and no head is reported again.

/// The longest message head the framer waits for; a longer one stops framing.
const MAX_HEAD: usize = 64 * 1024;

/// Which side of the exchange a framer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Requests,
    Answers,
}

/// A complete message head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// Its bytes as they came, the blank line included.
    pub raw: Vec<u8>,
    /// The request's method, or the answer's status as text.
    pub first: String,
    /// Header names in lower case, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    /// An interim answer (1xx): the final answer to the same request follows.
    pub interim: bool,
}

/// What a chunk of the stream is, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A message head, complete.
    Head(Head),
    /// Body bytes of the current message, or bytes of a stream no longer framed.
    Bytes(Vec<u8>),
    /// The current message ended.
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunked {
    /// Reading a chunk-size line (its bytes so far).
    Size(Vec<u8>),
    /// This many bytes of chunk data left, then CRLF.
    Data(u64),
    /// This many bytes of the CRLF after a chunk left.
    DataEnd(u8),
    /// Trailer lines after the last chunk, until an empty line (the current line so far).
    Trailers(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Head(Vec<u8>),
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    GivenUp,
}

/// Frames one direction of one connection.
#[derive(Debug)]
pub(crate) struct Framer {
    side: Side,
    state: State,
    /// The answer being read is to a HEAD request: it has no body.
    no_body: bool,
}

impl Framer {
    pub(crate) fn new(side: Side) -> Self {
        Self {
            side,
            state: State::Head(Vec::new()),
            no_body: false,
        }
    }

    /// Whether the stream is no longer framed.
    pub(crate) fn given_up(&self) -> bool {
        self.state == State::GivenUp
    }

    /// Whether the framer is between messages, with nothing of the next one seen.
    pub(crate) fn between_messages(&self) -> bool {
        matches!(&self.state, State::Head(b) if b.is_empty())
    }

    /// The next answer is to a HEAD request (answers only): it has no body.
    pub(crate) fn next_answers_head(&mut self, head: bool) {
        self.no_body = head;
    }

    /// Cuts `input` into pieces; bytes of an incomplete head are kept until it completes.
    pub(crate) fn feed(&mut self, mut input: &[u8]) -> Vec<Piece> {
        let mut out = Vec::new();
        while !input.is_empty() {
            match &mut self.state {
                State::GivenUp | State::UntilClose => {
                    push_bytes(&mut out, input);
                    input = &[];
                }
                State::Head(buf) => {
                    let before = buf.len();
                    buf.extend_from_slice(input);
                    let looks = starts_like(self.side, buf).and_then(|ok| {
                        // A line protocol whose commands look like a method (`EHLO x`)
                        // is told apart by its first line, so it is never held.
                        if ok {
                            first_line_ok(self.side, buf)
                        } else {
                            Some(false)
                        }
                    });
                    let end = find(buf, b"\r\n\r\n");
                    match (looks, end) {
                        (Some(false), _) => {
                            let held = std::mem::take(buf);
                            self.state = State::GivenUp;
                            push_bytes(&mut out, &held);
                            input = &[];
                        }
                        (_, Some(end)) => {
                            let raw = buf[..end + 4].to_vec();
                            let used = end + 4 - before;
                            input = &input[used..];
                            match parse_head(self.side, &raw, self.no_body) {
                                Some((head, next)) => {
                                    out.push(Piece::Head(head));
                                    self.state = next;
                                    if self.state == State::Length(0) {
                                        self.end(&mut out);
                                    }
                                }
                                None => {
                                    self.state = State::GivenUp;
                                    push_bytes(&mut out, &raw);
                                }
                            }
                        }
                        (_, None) if buf.len() > MAX_HEAD => {
                            let held = std::mem::take(buf);
                            self.state = State::GivenUp;
                            push_bytes(&mut out, &held);
                            input = &[];
                        }
                        (_, None) => input = &[],
                    }
                }
                State::Length(left) => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    push_bytes(&mut out, &input[..n]);
                    input = &input[n..];
                    *left -= n as u64;
                    if *left == 0 {
                        self.end(&mut out);
                    }
                }
                State::Chunked(c) => {
                    let (used, done) = chunked(c, input);
                    push_bytes(&mut out, &input[..used]);
                    input = &input[used..];
                    match done {
                        Some(true) => self.end(&mut out),
                        Some(false) => {
                            self.state = State::GivenUp;
                        }
                        None => {}
                    }
                }
            }
        }
        out
    }

    fn end(&mut self, out: &mut Vec<Piece>) {
        out.push(Piece::End);
        self.state = State::Head(Vec::new());
        self.no_body = false;
    }
}

fn push_bytes(out: &mut Vec<Piece>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some(Piece::Bytes(b)) = out.last_mut() {
        b.extend_from_slice(bytes);
    } else {
        out.push(Piece::Bytes(bytes.to_vec()));
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `buf`, at the start of a message, begins like one of `side`: a method of 1 to
/// 16 upper-case letters and a space, or `HTTP/1.`. `None` until enough bytes arrived.
fn starts_like(side: Side, buf: &[u8]) -> Option<bool> {
    match side {
        Side::Requests => {
            for (i, b) in buf.iter().enumerate().take(17) {
                match b {
                    b' ' => return Some(i > 0),
                    b'A'..=b'Z' => {}
                    _ => return Some(false),
                }
            }
            if buf.len() >= 17 { Some(false) } else { None }
        }
        Side::Answers => {
            let want = b"HTTP/1.";
            let n = buf.len().min(want.len());
            if buf[..n] != want[..n] {
                Some(false)
            } else if n == want.len() {
                Some(true)
            } else {
                None
            }
        }
    }
}

/// Whether the first line of `buf` is a request line (`METHOD TARGET HTTP/1.x`) or a
/// status line (`HTTP/1.x NNN ...`); `None` until it is complete.
fn first_line_ok(side: Side, buf: &[u8]) -> Option<bool> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let Ok(line) = std::str::from_utf8(&buf[..end]) else {
        return Some(false);
    };
    let parts: Vec<&str> = line.splitn(3, ' ').collect();
    Some(match side {
        Side::Requests => {
            parts.len() == 3 && !parts[2].contains(' ') && parts[2].starts_with("HTTP/1.")
        }
        Side::Answers => {
            parts.len() >= 2
                && parts[0].starts_with("HTTP/1.")
                && parts[1].len() == 3
                && parts[1].bytes().all(|b| b.is_ascii_digit())
        }
    })
}

/// The head and how its body is framed, or `None` for a head the framer cannot follow.
fn parse_head(side: Side, raw: &[u8], no_body: bool) -> Option<(Head, State)> {
    let text = std::str::from_utf8(&raw[..raw.len() - 4]).ok()?;
    let mut lines = text.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let first = match side {
        Side::Requests => {
            let (method, _target, version) = (start.next()?, start.next()?, start.next()?);
            if !version.starts_with("HTTP/1.") {
                return None;
            }
            method.to_string()
        }
        Side::Answers => {
            let _version = start.next()?;
            let status = start.next()?;
            if status.len() != 3 || !status.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            status.to_string()
        }
    };
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let value = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let interim = side == Side::Answers && first.starts_with('1');
    let bodiless =
        side == Side::Answers && (interim || no_body || first == "204" || first == "304");
    let state = if bodiless {
        State::Length(0)
    } else if let Some(te) = value("transfer-encoding") {
        if !te.to_ascii_lowercase().ends_with("chunked") {
            return None;
        }
        State::Chunked(Chunked::Size(Vec::new()))
    } else if let Some(len) = value("content-length") {
        State::Length(len.parse().ok()?)
    } else if side == Side::Answers {
        State::UntilClose
    } else {
        State::Length(0)
    };
    let head = Head {
        raw: raw.to_vec(),
        first,
        headers,
        interim,
    };
    Some((head, state))
}

/// Advances a chunked body over `input`: the bytes used, and `Some(true)` when the body
/// ended with them (`Some(false)` when it is not chunked coding after all).
fn chunked(c: &mut Chunked, input: &[u8]) -> (usize, Option<bool>) {
    let mut used = 0;
    while used < input.len() {
        let rest = &input[used..];
        match c {
            Chunked::Size(line) => {
                let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                    line.extend_from_slice(rest);
                    used += rest.len();
                    if line.len() > 1024 {
                        return (used, Some(false));
                    }
                    continue;
                };
                line.extend_from_slice(&rest[..=nl]);
                used += nl + 1;
                let text = String::from_utf8_lossy(line);
                let size = text.split(';').next().unwrap_or("").trim();
                let Ok(size) = u64::from_str_radix(size, 16) else {
                    return (used, Some(false));
                };
                *c = if size == 0 {
                    Chunked::Trailers(Vec::new())
                } else {
                    Chunked::Data(size)
                };
            }
            Chunked::Data(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(rest.len());
                used += n;
                *left -= n as u64;
                if *left == 0 {
                    *c = Chunked::DataEnd(2);
                }
            }
            Chunked::DataEnd(left) => {
                let n = usize::from(*left).min(rest.len());
                used += n;
                *left -= n as u8;
                if *left == 0 {
                    *c = Chunked::Size(Vec::new());
                }
            }
            Chunked::Trailers(line) => {
                let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                    line.extend_from_slice(rest);
                    used += rest.len();
                    continue;
                };
                line.extend_from_slice(&rest[..=nl]);
                used += nl + 1;
                if line.as_slice() == b"\r\n" || line.as_slice() == b"\n" {
                    return (used, Some(true));
                }
                line.clear();
            }
        }
    }
    (used, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` cut every `split` bytes; the pieces with adjacent bytes joined.
    fn frame(side: Side, stream: &[u8], split: usize) -> Vec<Piece> {
        let mut f = Framer::new(side);
        let mut pieces: Vec<Piece> = Vec::new();
        for chunk in stream.chunks(split) {
            for p in f.feed(chunk) {
                match (pieces.last_mut(), p) {
                    (Some(Piece::Bytes(a)), Piece::Bytes(b)) => a.extend(b),
                    (_, p) => pieces.push(p),
                }
            }
        }
        pieces
    }

    fn rejoined(pieces: &[Piece]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                Piece::Head(h) => out.extend(&h.raw),
                Piece::Bytes(b) => out.extend(b),
                Piece::End => {}
            }
        }
        out
    }

    fn shape(pieces: &[Piece]) -> Vec<String> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Head(h) => format!("head {}", h.first),
                Piece::Bytes(b) => format!("{} bytes", b.len()),
                Piece::End => "end".into(),
            })
            .collect()
    }

    #[test]
    fn keep_alive_requests_are_cut_at_their_boundaries_whatever_the_chunks() {
        let stream = b"POST /charges HTTP/1.1\r\nContent-Length: 5\r\nBaggage: qalens.scenario=a\r\n\r\nhelloGET /x HTTP/1.1\r\n\r\nPUT /y HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3;ext\r\nabc\r\n0\r\nx-t: 1\r\n\r\n";
        for split in [1, 2, 7, 40, stream.len()] {
            let pieces = frame(Side::Requests, stream, split);
            assert_eq!(
                shape(&pieces),
                [
                    "head POST",
                    "5 bytes",
                    "end",
                    "head GET",
                    "end",
                    "head PUT",
                    "25 bytes",
                    "end"
                ],
                "split {split}"
            );
            assert_eq!(rejoined(&pieces), stream, "byte for byte, split {split}");
            let Piece::Head(h) = &pieces[0] else { panic!() };
            assert_eq!(h.headers[1], ("baggage".into(), "qalens.scenario=a".into()));
        }
    }

    #[test]
    fn answers_are_framed_by_length_chunks_status_or_close() {
        let stream = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the end";
        for split in [1, 3, stream.len()] {
            let pieces = frame(Side::Answers, stream, split);
            assert_eq!(
                shape(&pieces),
                [
                    "head 100", "end", "head 200", "2 bytes", "end", "head 204", "end", "head 200",
                    "12 bytes", "end", "head 200", "13 bytes"
                ],
                "split {split}"
            );
            assert_eq!(rejoined(&pieces), stream);
            let Piece::Head(h) = &pieces[0] else { panic!() };
            assert!(h.interim);
        }
    }

    #[test]
    fn the_answer_to_a_head_request_has_no_body() {
        let mut f = Framer::new(Side::Answers);
        f.next_answers_head(true);
        let pieces = f.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n");
        assert_eq!(shape(&pieces), ["head 200", "end"]);
        assert!(f.between_messages());
        // The next answer has its body again.
        let pieces = f.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx");
        assert_eq!(shape(&pieces), ["head 200", "1 bytes", "end"]);
    }

    #[test]
    fn streams_it_cannot_frame_pass_as_they_came() {
        for (side, stream) in [
            (Side::Requests, &b"AMQP\x00\x00\x09\x01 and more"[..]),
            (Side::Requests, b"*1\r\n$4\r\nPING\r\n"),
            (Side::Answers, b"+PONG\r\n"),
            (
                Side::Requests,
                b"GET /x SPDY/3\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
            ),
            // A line protocol whose commands look like methods: given up at its first
            // line, never held waiting for a blank line.
            (Side::Requests, b"EHLO client.example\r\n"),
            (Side::Requests, b"SET key value\r\n"),
            (Side::Answers, b"HTTP/1.1 OK but not a status\r\n"),
            (
                Side::Requests,
                b"POST /x HTTP/1.1\r\ncontent-length: many\r\n\r\n",
            ),
        ] {
            let mut f = Framer::new(side);
            let pieces = f.feed(stream);
            assert!(f.given_up(), "{stream:?}");
            assert!(
                pieces.iter().all(|p| matches!(p, Piece::Bytes(_))),
                "{pieces:?}"
            );
            assert_eq!(rejoined(&pieces), stream);
            assert_eq!(
                f.feed(b"GET / HTTP/1.1\r\n\r\n"),
                [Piece::Bytes(b"GET / HTTP/1.1\r\n\r\n".to_vec())]
            );
        }
    }
}
