//! What the generator reads from the engine, and how it names failures.
//!
//! Every reply and event is parsed into one small struct that borrows its
//! strings from the received text and skips everything else (routes, quotes,
//! instructions), so reading an event allocates nothing.

use serde::Deserialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// The fields the generator needs from any message: a 202 or error body, a
/// submit-socket reply, or a status event.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incoming<'a> {
    /// `accepted` / `rejected` on a submit-socket reply; absent on events.
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<&'a str>,
    #[serde(default, borrow)]
    pub order_id: Option<&'a str>,
    #[serde(default)]
    pub client_ref: Option<u64>,
    #[serde(default)]
    pub seq: Option<u32>,
    #[serde(default, borrow)]
    pub status: Option<&'a str>,
    #[serde(default, borrow)]
    pub at: Option<&'a str>,
    #[serde(default, borrow)]
    pub error: Option<ErrorHead<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorHead<'a> {
    #[serde(borrow)]
    pub code: &'a str,
}

impl<'a> Incoming<'a> {
    pub fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    pub fn parse_bytes(bytes: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    pub fn error_code(&self) -> Option<&'a str> {
        self.error.as_ref().map(|e| e.code)
    }

    /// The status event this is, if it is one.
    pub fn event(&self) -> Option<Event<'a>> {
        let status = self.status?;
        Some(Event {
            seq: self.seq?,
            terminal: matches!(status, "confirmed" | "failed"),
            confirmed: status == "confirmed",
            at_ms: self.at.and_then(parse_at_ms),
            failure: self.error_code(),
        })
    }
}

/// A status event's fields that the checks and the latencies use.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub seq: u32,
    pub terminal: bool,
    pub confirmed: bool,
    /// `at` in Unix milliseconds.
    pub at_ms: Option<i64>,
    /// A failed event's error code.
    pub failure: Option<&'a str>,
}

/// An event's `at` (RFC 3339) in Unix milliseconds.
pub fn parse_at_ms(at: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(at).ok().map(|t| t.timestamp_millis())
}

/// The wall clock in Unix microseconds.
pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A short, stable name for a transport failure: the OS error where there is
/// one (so `connection refused` and `too many open files` are told apart),
/// else the error's own kind. Never includes ids or addresses, so failures
/// group into a few keys.
pub fn failure_kind(error: &(dyn std::error::Error + 'static)) -> String {
    let mut fallback = "transport error";
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.raw_os_error() {
                Some(24) => "too many open files (raise ulimit -n)".to_owned(),
                Some(99) => "no free local port (ephemeral ports exhausted)".to_owned(),
                Some(104) => "connection reset".to_owned(),
                Some(110) => "connection timed out".to_owned(),
                Some(111) => "connection refused".to_owned(),
                _ => io.kind().to_string(),
            };
        }
        if let Some(ws) = e.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
            use tokio_tungstenite::tungstenite::Error as Ws;
            match ws {
                Ws::Io(_) => {}
                Ws::Http(response) => return format!("upgrade refused with HTTP {}", response.status().as_u16()),
                Ws::ConnectionClosed | Ws::AlreadyClosed => return "connection closed".to_owned(),
                Ws::Protocol(p) => return format!("protocol: {p}"),
                other => return format!("websocket: {other}"),
            }
        }
        if let Some(http) = e.downcast_ref::<reqwest::Error>() {
            if http.is_timeout() {
                return "request timed out".to_owned();
            }
            fallback = if http.is_connect() { "connect failed" } else { "request failed" };
        }
        cause = e.source();
    }
    fallback.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_without_the_bulky_fields() {
        let text = r#"{"orderId":"01a1","seq":3,"status":"building","at":"2026-11-21T05:41:48.079Z","attempt":1,
            "route":{"dex":"meteora","legs":[{"dex":"meteora","amountIn":"1.5"}],"reason":"a \"quoted\" reason"}}"#;
        let incoming = Incoming::parse(text).expect("parses");
        let event = incoming.event().expect("an event");
        assert_eq!((event.seq, event.terminal, event.confirmed), (3, false, false));
        assert_eq!(event.at_ms, Some(1_795_239_708_079));
        assert_eq!(incoming.order_id, Some("01a1"));
    }

    #[test]
    fn terminal_events_and_their_failures() {
        let failed = Incoming::parse(
            r#"{"orderId":"x","seq":5,"status":"failed","at":"2026-11-21T05:41:48.079Z",
                "error":{"code":"SLIPPAGE_EXCEEDED","message":"moved \u00e9"},"attempts":1}"#,
        )
        .expect("parses");
        let event = failed.event().expect("an event");
        assert!(event.terminal && !event.confirmed);
        assert_eq!(event.failure, Some("SLIPPAGE_EXCEEDED"));
        let confirmed = Incoming::parse(r#"{"seq":5,"status":"confirmed","at":"2026-11-21T05:41:48Z"}"#)
            .and_then(|i| i.event())
            .expect("an event");
        assert!(confirmed.terminal && confirmed.confirmed);
    }

    #[test]
    fn replies_and_error_bodies() {
        let accepted = Incoming::parse(r#"{"type":"accepted","orderId":"01a1","clientRef":7}"#).expect("parses");
        assert_eq!((accepted.kind, accepted.client_ref, accepted.order_id), (Some("accepted"), Some(7), Some("01a1")));
        assert!(accepted.event().is_none());
        let rejected = Incoming::parse_bytes(
            br#"{"type":"rejected","error":{"code":"UNKNOWN_TOKEN","message":"no","field":"tokenIn"},"clientRef":3}"#,
        )
        .expect("parses");
        assert_eq!(rejected.error_code(), Some("UNKNOWN_TOKEN"));
        let http_error = Incoming::parse(r#"{"error":{"code":"UNAVAILABLE","message":"down"}}"#).expect("parses");
        assert_eq!(http_error.error_code(), Some("UNAVAILABLE"));
        assert!(Incoming::parse("not json").is_none());
    }

    #[test]
    fn failures_are_named_by_their_os_error() {
        let refused = std::io::Error::from_raw_os_error(111);
        assert_eq!(failure_kind(&refused), "connection refused");
        let files = tokio_tungstenite::tungstenite::Error::Io(std::io::Error::from_raw_os_error(24));
        assert!(failure_kind(&files).starts_with("too many open files"));
        let closed = tokio_tungstenite::tungstenite::Error::ConnectionClosed;
        assert_eq!(failure_kind(&closed), "connection closed");
    }
}
