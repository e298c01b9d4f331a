//! Why a step failed: [`StepError`].

use std::fmt;

use qalens_engine::clients::Exchange;
use qalens_engine::wait::Waited;

/// Why a step failed: a check that did not hold (what it expected, what it saw, what it
/// looked at), a wait that gave up or was cancelled, or the engine failing under it.
///
/// **Its text is all that reaches the report.** Cucumber turns a step's `Err(e)` into
/// `panic!("{e}")`, and the report reads only that text: it tells a cancelled scenario by
/// [`qalens_engine::stop::CANCELLED`] in it. So `Display` prints exactly the message a
/// feature writer reads, and a cancellation ([`StepError::is_cancelled`]) always prints
/// `CANCELLED`: keep that text stable.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A check did not hold: `expected <expected>, saw <seen>` and what it looked at.
    #[error("expected {expected}, saw {seen}{shown}")]
    Check {
        expected: String,
        seen: String,
        shown: Shown,
    },
    /// A check did not hold, or the step cannot run, in the step's own words.
    #[error("{0}")]
    Failed(String),
    /// A step that needs the system under test ran outside `qalens run`.
    #[error("no system under test is running (steps run only inside `qalens run`)")]
    NoRun,
    /// A step that acts as the scenario's client ran before one was named.
    #[error("no client yet: start with `Given a free client \"alice\"`")]
    NoClient,
    /// A wait gave up: its deadline passed (with what it saw last), or the run's early
    /// stop cancelled it.
    #[error(transparent)]
    Waited(#[from] Waited),
    /// The engine failed under the step: a client, the nemesis, a token, a shared check.
    #[error(transparent)]
    Engine(Box<qalens_engine::Error>),
}

impl StepError {
    /// A failed check that shows nothing more than what it expected and saw.
    pub fn expected(expected: impl Into<String>, seen: impl Into<String>) -> Self {
        StepError::Check {
            expected: expected.into(),
            seen: seen.into(),
            shown: Shown::Nothing,
        }
    }

    /// A failed check on `exchange`, shown after the message.
    pub fn expected_of(
        expected: impl Into<String>,
        seen: impl Into<String>,
        exchange: &Exchange,
    ) -> Self {
        StepError::Check {
            expected: expected.into(),
            seen: seen.into(),
            shown: Shown::Exchange(Box::new(exchange.clone())),
        }
    }

    /// A failed check, shown with the scenario's last HTTP exchange (or that it has none).
    pub fn expected_after(
        expected: impl Into<String>,
        seen: impl Into<String>,
        last: Option<&Exchange>,
    ) -> Self {
        StepError::Check {
            expected: expected.into(),
            seen: seen.into(),
            shown: Shown::Last(last.cloned().map(Box::new)),
        }
    }

    /// Whether the run's early stop cancelled the step (its message holds
    /// [`qalens_engine::stop::CANCELLED`]).
    pub fn is_cancelled(&self) -> bool {
        match self {
            StepError::Waited(w) => w.is_cancelled(),
            StepError::Engine(e) => e.is_cancelled(),
            _ => false,
        }
    }
}

/// What a failed check shows after `expected ..., saw ...`.
#[derive(Debug, Clone)]
pub enum Shown {
    Nothing,
    /// An exchange the check looked at, on the next line.
    Exchange(Box<Exchange>),
    /// The scenario's last HTTP exchange, introduced as such (`None`: there was none).
    Last(Option<Box<Exchange>>),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Nothing => Ok(()),
            Shown::Exchange(e) => write!(f, "\n{e}"),
            Shown::Last(Some(e)) => write!(f, "\nlast HTTP exchange:\n{e}"),
            Shown::Last(None) => f.write_str("\nno HTTP exchange yet"),
        }
    }
}

impl From<qalens_engine::Error> for StepError {
    fn from(e: qalens_engine::Error) -> Self {
        StepError::Engine(Box::new(e))
    }
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError::Failed(message)
    }
}

impl From<&str> for StepError {
    fn from(message: &str) -> Self {
        StepError::Failed(message.to_string())
    }
}

/// Each role's engine error fails a step as a [`StepError::Engine`].
macro_rules! engine_errors {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for StepError {
            fn from(e: $error) -> Self {
                qalens_engine::Error::from(e).into()
            }
        }
    )*};
}

engine_errors!(
    qalens_engine::error::ClientError,
    qalens_engine::error::TokenError,
    qalens_engine::error::NemesisError,
    qalens_engine::error::CheckError,
    qalens_engine::error::TopologyError,
    qalens_engine::error::GiveBackError,
);

#[cfg(test)]
mod tests {
    use super::*;
    use qalens_engine::stop::{CANCELLED, Cancelled, is_cancellation};

    fn exchange() -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "http://127.0.0.1:1/items".into(),
            request_body: None,
            status: 503,
            headers: vec![],
            body: "busy".into(),
            elapsed: std::time::Duration::from_millis(7),
            sent_at: std::time::Instant::now(),
        }
    }

    #[test]
    fn a_failed_check_reads_expected_then_seen_then_what_it_looked_at() {
        let e = StepError::expected("answers from 2 replicas", "replicas {\"1\"}");
        assert_eq!(
            e.to_string(),
            "expected answers from 2 replicas, saw replicas {\"1\"}"
        );
        let e = StepError::expected_after("status 200", "503", Some(&exchange()));
        assert_eq!(
            e.to_string(),
            format!(
                "expected status 200, saw 503\nlast HTTP exchange:\n{}",
                exchange()
            )
        );
        let e = StepError::expected_after("status 200", "nothing", None);
        assert_eq!(
            e.to_string(),
            "expected status 200, saw nothing\nno HTTP exchange yet"
        );
        let e = StepError::expected_of("a 4xx refusal", "503", &exchange());
        assert_eq!(
            e.to_string(),
            format!("expected a 4xx refusal, saw 503\n{}", exchange())
        );
        assert!(!e.is_cancelled());
    }

    #[test]
    fn a_cancellation_is_typed_and_says_cancelled_in_its_text() {
        let waited = Waited::Cancelled(Cancelled::while_waiting("PENDING"))
            .map(|seen| format!("expected order 7 to be CONFIRMED within 5 s; last seen: {seen}"));
        let e = StepError::from(waited);
        assert!(e.is_cancelled());
        // The text is what crosses cucumber's boundary; the report decides on it.
        let text = e.to_string();
        assert!(is_cancellation(&text), "{text}");
        assert_eq!(
            text,
            format!(
                "expected order 7 to be CONFIRMED within 5 s; last seen: {CANCELLED} (last seen \
                 while waiting: PENDING)"
            )
        );
        // Inside an engine error (a publish that waited) it is still a cancellation.
        let publish = qalens_engine::error::ClientError::Publishing {
            key: "k".into(),
            exchange: "events".into(),
            routing_key: "order.placed".into(),
            waited: Waited::Cancelled(Cancelled::while_waiting("the broker nacked every attempt")),
        };
        let e = StepError::from(publish);
        assert!(e.is_cancelled());
        assert!(is_cancellation(&e.to_string()), "{e}");
        // A deadline that passed is a failure, not a cancellation.
        let e = StepError::from(Waited::TimedOut("3 ready".into()));
        assert!(!e.is_cancelled());
        assert_eq!(e.to_string(), "3 ready");
    }
}
