//! The mark that names a scenario on a request: a W3C `baggage` entry
//! [`SCENARIO_KEY`]`=<scenario id>`, which the harness's clients send and a propagating
//! system carries to every call the request causes. The proxy reads it with
//! OpenTelemetry's baggage propagator, so it reads what an instrumented service writes
//! (other entries, properties, percent-encoding) the same way.

use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::BaggagePropagator;

/// The baggage key whose value is the scenario's id.
pub const SCENARIO_KEY: &str = "qalens.scenario";

/// Header names (lower case) and values of one request; a repeated header is one, its
/// values joined with `,` (as HTTP reads a list).
struct Headers(Vec<(String, String)>);

impl Headers {
    fn of<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut joined: Vec<(String, String)> = Vec::new();
        for (k, v) in headers {
            let k = k.to_ascii_lowercase();
            match joined.iter_mut().find(|(name, _)| *name == k) {
                Some((_, all)) => {
                    all.push(',');
                    all.push_str(v);
                }
                None => joined.push((k, v.to_string())),
            }
        }
        Self(joined)
    }
}

impl Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// The scenario a request's headers name in their baggage, if any.
pub fn scenario_of<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let headers = Headers::of(headers);
    let cx = BaggagePropagator::new().extract(&headers);
    cx.baggage()
        .get(SCENARIO_KEY)
        .map(|v| v.as_str().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_is_read_from_any_baggage_entry_an_instrumented_service_writes() {
        for (baggage, want) in [
            ("qalens.scenario=s1", Some("s1")),
            ("tenant=acme, qalens.scenario = s2 ;prop=1", Some("s2")),
            ("a=1,qalens.scenario=s%203", Some("s 3")),
            ("tenant=acme", None),
            ("qalens.scenario=", None),
        ] {
            assert_eq!(
                scenario_of([("content-type", "text/plain"), ("baggage", baggage)]).as_deref(),
                want,
                "{baggage}"
            );
        }
        // Two baggage headers are one list.
        assert_eq!(
            scenario_of([("Baggage", "a=1"), ("baggage", "qalens.scenario=s4")]).as_deref(),
            Some("s4")
        );
        assert_eq!(scenario_of([("traceparent", "00-x")]), None);
    }
}
