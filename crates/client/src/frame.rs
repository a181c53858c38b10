//! The head of any message the engine sends, read without allocating.
//!
//! A [`Frame`] decodes the few fields that say what a message is and whose it
//! is — a submit-socket reply (`type`, `clientRef`), a status event (`seq`,
//! `status`, `at`), an error code — and skips everything else (routes, quotes,
//! instructions). It is for callers that read many messages and need little of
//! each, such as a load generator; [`crate::Event`] decodes a whole event.

use chrono::{DateTime, Utc};
use oee_domain::{ErrorCode, FailureCode, OrderStatus};
use serde::Deserialize;
use uuid::Uuid;

/// What a submit-socket reply says about the message it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyKind {
    /// The order is stored and queued; its events follow on the socket.
    Accepted,
    /// The order was refused; `error` says why.
    Rejected,
}

/// The fields that classify a message: a 202 or error body, a submit-socket
/// reply, or a status event. Absent fields are `None`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame<'a> {
    /// `accepted` / `rejected` on a submit-socket reply; `None` on an event.
    #[serde(rename = "type", default)]
    pub reply: Option<ReplyKind>,
    /// The order the message is about.
    #[serde(default)]
    pub order_id: Option<Uuid>,
    /// The `clientRef` a reply echoes, when the message set a number.
    #[serde(default)]
    pub client_ref: Option<u64>,
    /// An event's `seq`.
    #[serde(default)]
    pub seq: Option<u32>,
    /// An event's status.
    #[serde(default)]
    pub status: Option<OrderStatus>,
    /// When an event happened.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// The `error` object's code, as sent (see [`Frame::rejection`] and
    /// [`Frame::failure`] for it typed).
    #[serde(default, borrow)]
    pub error: Option<CodeOnly<'a>>,
}

/// An `error` object, of which only the code is read.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CodeOnly<'a> {
    /// The code's wire name.
    #[serde(borrow)]
    pub code: &'a str,
}

/// The parts of a status event a stream check needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHead {
    /// The event's `seq`.
    pub seq: u32,
    /// The event's status.
    pub status: OrderStatus,
    /// When it happened, if the event says.
    pub at: Option<DateTime<Utc>>,
    /// Why the order failed, on a `failed` event with a known code.
    pub failure: Option<FailureCode>,
}

impl<'a> Frame<'a> {
    /// Reads a message's head; `None` if it is not a JSON object of this shape.
    pub fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// As [`Frame::parse`], from bytes.
    pub fn parse_bytes(bytes: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// Why a request was refused (an error body or a `rejected` reply).
    pub fn rejection(&self) -> Option<ErrorCode> {
        self.error.and_then(|e| ErrorCode::parse(e.code))
    }

    /// Why an order failed (a `failed` event).
    pub fn failure(&self) -> Option<FailureCode> {
        self.error.and_then(|e| FailureCode::parse(e.code))
    }

    /// The status event this is, if it is one.
    pub fn event(&self) -> Option<EventHead> {
        Some(EventHead { seq: self.seq?, status: self.status?, at: self.at, failure: self.failure() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's head is read and its bulky fields skipped.
    #[test]
    fn events_are_read_without_the_bulky_fields() {
        let text = r#"{"orderId":"0193b0c4-0000-7000-8000-000000000001","seq":3,"status":"building","at":"2026-11-21T05:41:48.079Z","attempt":1,
            "route":{"dex":"meteora","legs":[{"dex":"meteora","amountIn":"1.5"}],"reason":"a \"quoted\" reason"}}"#;
        let frame = Frame::parse(text).expect("parses");
        let event = frame.event().expect("an event");
        assert_eq!((event.seq, event.status, event.failure), (3, OrderStatus::Building, None));
        assert_eq!(event.at.map(|at| at.timestamp_millis()), Some(1_795_239_708_079));
        assert_eq!(frame.order_id.map(|id| id.to_string()).as_deref(), Some("0193b0c4-0000-7000-8000-000000000001"));
        assert!(frame.reply.is_none());
    }

    /// A failed event's code is the domain's failure code.
    #[test]
    fn terminal_events_and_their_failures() {
        let failed = Frame::parse(
            r#"{"seq":5,"status":"failed","at":"2026-11-21T05:41:48.079Z",
                "error":{"code":"SLIPPAGE_EXCEEDED","message":"moved \u00e9"},"attempts":1}"#,
        )
        .and_then(|f| f.event())
        .expect("an event");
        assert!(failed.status.is_terminal());
        assert_eq!(failed.failure, Some(FailureCode::SlippageExceeded));
    }

    /// Replies and error bodies carry typed kinds and codes.
    #[test]
    fn replies_and_error_bodies() {
        let accepted =
            Frame::parse(r#"{"type":"accepted","orderId":"0193b0c4-0000-7000-8000-000000000001","clientRef":7}"#)
                .expect("parses");
        assert_eq!((accepted.reply, accepted.client_ref), (Some(ReplyKind::Accepted), Some(7)));
        assert!(accepted.event().is_none());
        let rejected = Frame::parse_bytes(
            br#"{"type":"rejected","error":{"code":"UNKNOWN_TOKEN","message":"no","field":"tokenIn"},"clientRef":3}"#,
        )
        .expect("parses");
        assert_eq!(rejected.rejection(), Some(ErrorCode::UnknownToken));
        let http_error = Frame::parse(r#"{"error":{"code":"UNAVAILABLE","message":"down"}}"#).expect("parses");
        assert_eq!(http_error.rejection(), Some(ErrorCode::Unavailable));
        assert!(Frame::parse("not json").is_none());
    }
}
