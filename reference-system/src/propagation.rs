//! Trace context and baggage, carried the way OpenTelemetry-instrumented services carry
//! them: W3C `traceparent`, `tracestate` and `baggage` are extracted from every HTTP
//! request a service serves ([`layer`]), and injected from the current context into every
//! call it makes ([`inject`]) and every message it publishes ([`amqp_headers`]); a
//! consumer extracts them from a delivery ([`from_amqp`]). Work that outlives its request
//! (an order's saga, an event in the outbox) keeps the context as a text map
//! ([`current_map`]) and resumes under it.
//!
//! Only propagation: no spans are recorded and nothing is exported, so a context passes
//! through a service unchanged. The headers are read and written by OpenTelemetry's
//! propagators, never by hand.

use std::collections::HashMap;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use opentelemetry::Context;
use opentelemetry::context::FutureExt;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// The headers the propagators own: a service never forwards them as they came, it
/// writes them from its context.
pub const HEADERS: &[&str] = &["traceparent", "tracestate", "baggage"];

fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// The context `headers` carry (an empty one when they carry none).
pub fn extract(headers: &HeaderMap) -> Context {
    propagator().extract(&HeaderExtractor(headers))
}

/// Writes the current context into `headers` (nothing when it is empty).
pub fn inject(headers: &mut HeaderMap) {
    propagator().inject_context(&Context::current(), &mut HeaderInjector(headers));
}

/// The current context's headers, for a call about to be made.
pub fn headers() -> HeaderMap {
    let mut out = HeaderMap::new();
    inject(&mut out);
    out
}

/// Serves a request under the context its headers carry. The outermost layer of every
/// service, so everything the request does (calls, outbox rows, spawned sagas) sees it.
pub async fn layer(req: Request, next: Next) -> Response {
    let cx = extract(req.headers());
    next.run(req).with_context(cx).await
}

/// The current context as a text map (empty when there is none), to keep with work that
/// outlives the request.
pub fn current_map() -> HashMap<String, String> {
    let mut map = HashMap::new();
    propagator().inject_context(&Context::current(), &mut map);
    map.retain(|_, v| !v.is_empty());
    map
}

/// The context a text map kept by [`current_map`] carries.
pub fn from_map(map: &HashMap<String, String>) -> Context {
    propagator().extract(map)
}

/// The current context as AMQP message headers, beside `headers`.
pub fn amqp_headers(cx: &Context, mut headers: FieldTable) -> FieldTable {
    let mut map = HashMap::new();
    propagator().inject_context(cx, &mut map);
    for (k, v) in map {
        if !v.is_empty() {
            headers.insert(ShortString::from(k), AMQPValue::LongString(v.into()));
        }
    }
    headers
}

/// The context a delivery's AMQP headers carry.
pub fn from_amqp(headers: Option<&FieldTable>) -> Context {
    let mut map = HashMap::new();
    if let Some(headers) = headers {
        for (k, v) in headers.inner() {
            let text = match v {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::ShortString(s) => s.as_str().to_string(),
                _ => continue,
            };
            map.insert(k.as_str().to_ascii_lowercase(), text);
        }
    }
    from_map(&map)
}

#[cfg(test)]
mod tests {
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::TraceContextExt;

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn marked() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("traceparent", TRACEPARENT.parse().unwrap());
        h.insert("baggage", "qalens.scenario=s1,tenant=t".parse().unwrap());
        h
    }

    #[tokio::test]
    async fn a_context_extracted_from_a_request_is_injected_into_its_calls_and_messages() {
        let cx = extract(&marked());
        let (out, kept, amqp) = async {
            (
                headers(),
                current_map(),
                amqp_headers(&Context::current(), FieldTable::default()),
            )
        }
        .with_context(cx)
        .await;
        assert_eq!(out["traceparent"], TRACEPARENT);
        let baggage = out["baggage"].to_str().unwrap();
        assert!(baggage.contains("qalens.scenario=s1"), "{baggage}");
        assert!(baggage.contains("tenant=t"), "{baggage}");
        // Kept with an order and read back, it is the same context.
        let again = from_map(&kept);
        assert_eq!(
            again.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            again.baggage().get("qalens.scenario").unwrap().as_str(),
            "s1"
        );
        // And so is what a consumer reads from the message's headers.
        let consumed = from_amqp(Some(&amqp));
        assert_eq!(consumed.baggage().get("tenant").unwrap().as_str(), "t");
        assert_eq!(
            consumed.span().span_context().span_id().to_string(),
            "00f067aa0ba902b7"
        );
    }

    #[test]
    fn without_a_context_nothing_is_written() {
        assert!(headers().is_empty());
        assert!(current_map().is_empty());
        assert!(
            amqp_headers(&Context::current(), FieldTable::default())
                .inner()
                .is_empty()
        );
        assert!(!from_amqp(None).span().span_context().is_valid());
    }
}
