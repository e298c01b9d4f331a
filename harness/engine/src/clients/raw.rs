//! A raw HTTP/1.1 client: the request line goes on the wire exactly as written, which an
//! HTTP client library would normalise (reqwest drops `..` and turns `\\` into `/`). The
//! request carries its scenario's mark ([`Mark`]) like any other.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{Target, base_url};
use crate::clients::error::{RawStage, ResponseError};
use crate::clients::{ClientError, Exchange, Mark};
use crate::context::RunContext;

/// Longest wait for one raw exchange.
const RAW_TIMEOUT: Duration = Duration::from_secs(10);

/// A raw HTTP/1.1 exchange with `target`: `path` goes on the request line exactly as
/// written (only a space, CR or LF, which would end the request line, is refused).
pub async fn send_raw(
    ctx: &RunContext,
    mark: &Mark,
    target: Target,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> Result<Exchange, ClientError> {
    let base = base_url(ctx, target)?;
    let Some(addr) = base
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
    else {
        return Err(ClientError::NotHttp { base });
    };
    send_raw_to(addr, mark, method, path, authorization, body).await
}

/// [`send_raw`] to `addr` (`host:port`).
pub(crate) async fn send_raw_to(
    addr: &str,
    mark: &Mark,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> Result<Exchange, ClientError> {
    if path.bytes().any(|b| matches!(b, b' ' | b'\r' | b'\n')) {
        return Err(ClientError::NotARequestLine {
            path: path.to_string(),
        });
    }
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in mark.headers() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(a) = authorization {
        request.push_str(&format!("Authorization: {a}\r\n"));
    }
    let sent = body.unwrap_or_default();
    if !sent.is_empty() || method != "GET" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            sent.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(sent);
    let started = Instant::now();
    let what = format!("{method} {path} (raw, to {addr})");
    let failed = |stage| {
        let what = what.clone();
        move |cause| ClientError::Raw { what, stage, cause }
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(failed(RawStage::Connect))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(failed(RawStage::Write))?;
        let mut raw = vec![];
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(failed(RawStage::Read))?;
        Ok::<_, ClientError>(raw)
    };
    let raw = match tokio::time::timeout(RAW_TIMEOUT, exchange).await {
        Ok(raw) => raw?,
        Err(_) => {
            return Err(ClientError::RawTimeout {
                what,
                within: RAW_TIMEOUT,
            });
        }
    };
    let (status, headers, body) = match parse_response(&raw) {
        Ok(parsed) => parsed,
        Err(why) => return Err(ClientError::RawResponse { what, why }),
    };
    Ok(Exchange {
        method: method.to_string(),
        url: format!("http://{addr}{path}"),
        request_body: (!sent.is_empty()).then(|| sent.to_string()),
        status,
        headers,
        body,
        elapsed: started.elapsed(),
        sent_at: started,
    })
}

type Parsed = (u16, Vec<(String, String)>, String);

/// Status, headers and (de-chunked) body of a complete HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> Result<Parsed, ResponseError> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(ResponseError::NoHead(raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ResponseError::StatusLine(status_line.to_string()))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, ResponseError> {
    let mut out = vec![];
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(ResponseError::TruncatedChunkSize)?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| ResponseError::ChunkSize(size_text.to_string()))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err(ResponseError::TruncatedChunk);
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request head a listener on a local port receives: the raw writer keeps the
    /// path as written, while reqwest (through the `url` crate) normalises dot segments
    /// and backslashes.
    async fn head_received(send: impl AsyncFnOnce(String)) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = vec![];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            )
            .await
            .unwrap();
            String::from_utf8_lossy(&got).into_owned()
        });
        send(addr).await;
        server.await.unwrap()
    }

    #[tokio::test]
    async fn raw_paths_go_on_the_wire_exactly_as_written() {
        for path in [
            "/limited/fixed/../../admin/routes",
            "/limited/fixed\\..\\..\\admin/routes",
            "//admin/routes",
            "/a/%2e%2e/%2F/%00;x",
        ] {
            let mark = Mark::new("s1");
            let head = head_received(async |addr: String| {
                let ex = send_raw_to(&addr, &mark, "GET", path, Some("Bearer t"), None)
                    .await
                    .unwrap();
                assert_eq!(ex.status, 200);
                assert_eq!(ex.body, "abc");
            })
            .await;
            assert_eq!(
                head.lines().next(),
                Some(format!("GET {path} HTTP/1.1").as_str())
            );
            // The scenario's mark is on it like on any other request.
            assert!(
                head.contains("\r\nbaggage: qalens.scenario=s1\r\n"),
                "{head}"
            );
            assert!(
                head.contains(&format!("\r\ntraceparent: 00-{}-", mark.trace_id())),
                "{head}"
            );
        }
    }

    #[tokio::test]
    async fn reqwest_would_have_normalised_them() {
        let head = head_received(async |addr: String| {
            let _ = reqwest::get(format!("http://{addr}/limited/fixed/../../admin\\routes")).await;
        })
        .await;
        assert_eq!(head.lines().next(), Some("GET /admin/routes HTTP/1.1"));
    }
}
