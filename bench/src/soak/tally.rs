//! What the hostile clients saw, kind by kind: how each attempt ended (an
//! HTTP status, a close code, the socket cut, or still open when the client
//! gave up) and what the server answered before that. This is the evidence
//! that every trick was stopped the way docs/protocol.md says.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use super::hostile::Kind;

/// How one hostile attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// The server answered the HTTP request with this status (and said
    /// when to try again, or not).
    Status { code: u16, retry_after: bool },
    /// The server closed the WebSocket with this code (`None`: a Close
    /// frame without one).
    Close(Option<u16>),
    /// The socket ended without an answer, this many whole seconds after
    /// it was opened; `reset` when by a TCP reset rather than a FIN.
    Cut { after_s: u64, reset: bool },
    /// The client gave up waiting: the server had not cut it off.
    StillOpen,
    /// The TCP connection could not be opened.
    ConnectFailed,
}

impl Outcome {
    /// The socket ended without an answer, `after` it was opened (counted
    /// in whole seconds, rounded: a 10 s timeout that fires a hair early is
    /// still 10 s).
    pub fn cut(after: std::time::Duration, reset: bool) -> Outcome {
        Outcome::Cut {
            after_s: after.as_secs_f64().round() as u64,
            reset,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Outcome::Status { code, retry_after } => {
                write!(f, "HTTP {code}")?;
                if retry_after {
                    write!(f, " + Retry-After")?;
                }
                Ok(())
            }
            Outcome::Close(Some(code)) => write!(f, "close {code}"),
            Outcome::Close(None) => write!(f, "close (no code)"),
            Outcome::Cut { after_s: 0, reset } => {
                write!(f, "cut at once{}", if reset { " (reset)" } else { "" })
            }
            Outcome::Cut { after_s, reset } => write!(
                f,
                "cut after {after_s} s{}",
                if reset { " (reset)" } else { "" }
            ),
            Outcome::StillOpen => write!(f, "still open when given up"),
            Outcome::ConnectFailed => write!(f, "connect failed"),
        }
    }
}

/// One kind's counts.
#[derive(Debug, Default, Clone)]
pub struct KindCounts {
    /// How attempts ended.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// What the server answered on the way (frame types, error codes).
    pub answers: BTreeMap<String, u64>,
}

/// The counts of every kind, shared by all hostile tasks.
#[derive(Debug, Default)]
pub struct Tally {
    kinds: Mutex<BTreeMap<Kind, KindCounts>>,
}

impl Tally {
    fn with<R>(&self, kind: Kind, f: impl FnOnce(&mut KindCounts) -> R) -> R {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        f(kinds.entry(kind).or_default())
    }

    /// Counts how one attempt of `kind` ended.
    pub fn outcome(&self, kind: Kind, outcome: Outcome) {
        self.with(kind, |k| *k.outcomes.entry(outcome).or_default() += 1);
    }

    /// Counts one answer (`"joined"`, `"error rate_limited"`, …) to `kind`.
    pub fn answer(&self, kind: Kind, answer: &str) {
        self.with(kind, |k| match k.answers.get_mut(answer) {
            Some(n) => *n += 1,
            None => {
                k.answers.insert(answer.to_owned(), 1);
            }
        });
    }

    /// Everything counted so far.
    pub fn snapshot(&self) -> BTreeMap<Kind, KindCounts> {
        self.kinds.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A short name for a server frame, for [`Tally::answer`]: its `type`, and
/// for an `error` its code (`"error rate_limited"`).
pub fn answer_label(text: &str) -> String {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => return "not JSON".to_owned(),
    };
    let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("?");
    match value.get("code").and_then(|c| c.as_str()) {
        Some(code) if kind == "error" => format!("error {code}"),
        _ => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_like_the_docs() {
        let status = Outcome::Status {
            code: 429,
            retry_after: true,
        };
        assert_eq!(status.to_string(), "HTTP 429 + Retry-After");
        assert_eq!(Outcome::Close(Some(4008)).to_string(), "close 4008");
        let cut = |after_s, reset| Outcome::Cut { after_s, reset };
        assert_eq!(cut(0, false).to_string(), "cut at once");
        assert_eq!(cut(10, true).to_string(), "cut after 10 s (reset)");
    }

    #[test]
    fn answers_are_named_by_type_and_error_code() {
        assert_eq!(
            answer_label(r#"{"type":"error","code":"rate_limited","message":"x"}"#),
            "error rate_limited"
        );
        assert_eq!(answer_label(r#"{"type":"joined","room":"a"}"#), "joined");
        assert_eq!(answer_label("garbage"), "not JSON");
    }

    #[test]
    fn counts_add_up_per_kind() {
        let tally = Tally::default();
        tally.outcome(Kind::PingFlood, Outcome::Close(Some(4008)));
        tally.outcome(Kind::PingFlood, Outcome::Close(Some(4008)));
        tally.answer(Kind::PingFlood, "pong");
        let all = tally.snapshot();
        assert_eq!(
            all[&Kind::PingFlood].outcomes[&Outcome::Close(Some(4008))],
            2
        );
        assert_eq!(all[&Kind::PingFlood].answers["pong"], 1);
        assert!(!all.contains_key(&Kind::Slowloris));
    }
}
