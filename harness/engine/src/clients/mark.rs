//! The mark a scenario puts on every HTTP request it sends: W3C trace context (one trace
//! per scenario, a new span per request) and a W3C baggage entry naming the scenario
//! ([`qalens_proxy::mark::SCENARIO_KEY`]). A system that propagates trace context and
//! baggage, as OpenTelemetry-instrumented services do, carries the mark to every call a
//! request causes, so a fault proxy can fault one scenario's requests and pass the rest.
//!
//! The headers are written by OpenTelemetry's own propagators into an `http::HeaderMap`
//! (`opentelemetry-http`'s injector), never by hand.

use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use reqwest::header::HeaderMap;

pub use qalens_proxy::mark::SCENARIO_KEY;

/// One scenario's mark: its id and the trace its requests belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    scenario: String,
    trace_id: TraceId,
}

impl Mark {
    /// The mark of scenario `scenario`, with a trace of its own.
    pub fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_string(),
            trace_id: RandomIdGenerator::default().new_trace_id(),
        }
    }

    /// The scenario it names.
    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// The trace every request of the scenario belongs to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The context of one new request: a new (sampled, remote) span of the scenario's
    /// trace, with the scenario in its baggage.
    fn request_context(&self) -> Context {
        let span = SpanContext::new(
            self.trace_id,
            RandomIdGenerator::default().new_span_id(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        Context::new()
            .with_remote_span_context(span)
            .with_baggage([KeyValue::new(SCENARIO_KEY, self.scenario.clone())])
    }

    /// Writes `traceparent` and `baggage` for one new request into `headers`.
    pub fn inject(&self, headers: &mut HeaderMap) {
        let cx = self.request_context();
        let mut injector = HeaderInjector(headers);
        TraceContextPropagator::new().inject_context(&cx, &mut injector);
        BaggagePropagator::new().inject_context(&cx, &mut injector);
        // The scenario's trace has no vendor state: an empty `tracestate` says nothing.
        if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
            headers.remove("tracestate");
        }
    }

    /// The headers of one new request, as name and value (for a client that writes its
    /// own request head).
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut map = HeaderMap::new();
        self.inject(&mut map);
        map.iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_http::HeaderExtractor;

    use super::*;

    fn extracted(headers: &HeaderMap) -> Context {
        let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        BaggagePropagator::new().extract_with_context(&cx, &HeaderExtractor(headers))
    }

    #[test]
    fn each_request_is_a_new_span_of_the_scenarios_trace_naming_the_scenario() {
        let mark = Mark::new("s1a2b3c4d");
        let (mut first, mut second) = (HeaderMap::new(), HeaderMap::new());
        mark.inject(&mut first);
        mark.inject(&mut second);
        for h in [&first, &second] {
            let traceparent = h["traceparent"].to_str().unwrap();
            assert!(
                traceparent.starts_with(&format!("00-{}-", mark.trace_id())),
                "{traceparent}"
            );
            assert!(traceparent.ends_with("-01"), "sampled: {traceparent}");
            assert_eq!(h["baggage"].to_str().unwrap(), "qalens.scenario=s1a2b3c4d");
            // What a propagating service reads back.
            let cx = extracted(h);
            assert_eq!(cx.span().span_context().trace_id(), mark.trace_id());
            assert_eq!(
                cx.baggage()
                    .get(SCENARIO_KEY)
                    .map(|v| v.as_str().to_string()),
                Some("s1a2b3c4d".to_string())
            );
            assert_eq!(
                qalens_proxy::mark::scenario_of(
                    h.iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
                )
                .as_deref(),
                Some("s1a2b3c4d")
            );
        }
        let span_of = |h: &HeaderMap| extracted(h).span().span_context().span_id();
        assert_ne!(span_of(&first), span_of(&second), "a new span per request");
    }

    #[test]
    fn two_scenarios_have_two_traces() {
        let (a, b) = (Mark::new("sa"), Mark::new("sb"));
        assert_ne!(a.trace_id(), b.trace_id());
        assert_ne!(a.trace_id(), TraceId::INVALID);
        let headers = a.headers();
        let mut names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        names.sort();
        assert_eq!(names, ["baggage", "traceparent"]);
    }
}
