//! Status events: what the worker records and every follower receives.
//!
//! An event is serialized once, stored verbatim in the order's event log and
//! published verbatim, so a replay from the log and a live delivery are the same
//! bytes. `seq` starts at 1 (`pending`) and rises by exactly one per event.

use crate::amount::Units;
use crate::error::ErrorInfo;
use crate::route::{Instruction, RouteRecord};
use crate::status::OrderStatus;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened, with the fields that status carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDetail {
    Pending,
    Routing {
        attempt: u32,
        last_error: Option<ErrorInfo>,
        /// What fired a resting order (its first `routing` after `open`).
        trigger: Option<Trigger>,
    },
    Building {
        attempt: u32,
        route: Box<RouteRecord>,
    },
    Submitted {
        attempt: u32,
        tx_hash: String,
        /// The built transaction's instructions, in order.
        instructions: Vec<Instruction>,
    },
    Confirmed {
        attempt: u32,
        tx_hash: String,
        dex: String,
        executed_price: String,
        amount_out: Units,
    },
    Failed {
        error: ErrorInfo,
        attempts: u32,
    },
    /// Armed, waiting for its trigger; again after an execution that could not
    /// fill at the order's minimum (`last_error` says why).
    Open {
        expires_at: DateTime<Utc>,
        /// The least the order accepts (a sniper's only once its token is known).
        min_amount_out: Option<Units>,
        limit_price: Option<String>,
        /// A sniper's `maxPrice`.
        max_price: Option<String>,
        last_error: Option<ErrorInfo>,
    },
    Cancelled,
    Expired {
        expires_at: DateTime<Utc>,
    },
}

/// Why a resting order fired: the chain slot of the pool state that crossed
/// its price, and the price its own amount would get there (tokenOut per one
/// tokenIn, decimal text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trigger {
    pub slot: u64,
    pub price: String,
}

impl EventDetail {
    pub const fn status(&self) -> OrderStatus {
        match self {
            Self::Pending => OrderStatus::Pending,
            Self::Routing { .. } => OrderStatus::Routing,
            Self::Building { .. } => OrderStatus::Building,
            Self::Submitted { .. } => OrderStatus::Submitted,
            Self::Confirmed { .. } => OrderStatus::Confirmed,
            Self::Failed { .. } => OrderStatus::Failed,
            Self::Open { .. } => OrderStatus::Open,
            Self::Cancelled => OrderStatus::Cancelled,
            Self::Expired { .. } => OrderStatus::Expired,
        }
    }
}

/// One status change of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub order_id: Uuid,
    pub seq: u32,
    /// When it happened, truncated to milliseconds (the precision on the wire).
    pub at: DateTime<Utc>,
    pub detail: EventDetail,
}

impl StatusEvent {
    pub fn new(order_id: Uuid, seq: u32, at: DateTime<Utc>, detail: EventDetail) -> Self {
        Self { order_id, seq, at: truncate_to_millis(at), detail }
    }

    pub const fn status(&self) -> OrderStatus {
        self.detail.status()
    }

    /// The event as the JSON text stored in the log and sent to clients.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a status event always serializes")
    }
}

/// An event with the JSON text it is stored and published as. The text is made
/// once, when the event is, so the log and every live delivery carry the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub event: StatusEvent,
    pub json: String,
}

impl RecordedEvent {
    pub fn new(event: StatusEvent) -> Self {
        let json = event.to_json();
        Self { event, json }
    }
}

/// Formats a time as the contract does: RFC 3339, UTC, milliseconds.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Drops sub-millisecond precision so a stored time equals the one sent.
pub fn truncate_to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

impl Serialize for StatusEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("orderId", &self.order_id)?;
        m.serialize_entry("seq", &self.seq)?;
        m.serialize_entry("status", &self.status())?;
        m.serialize_entry("at", &format_time(self.at))?;
        match &self.detail {
            EventDetail::Pending => {}
            EventDetail::Routing { attempt, last_error, trigger } => {
                m.serialize_entry("attempt", attempt)?;
                if let Some(e) = last_error {
                    m.serialize_entry("lastError", e)?;
                }
                if let Some(t) = trigger {
                    m.serialize_entry("trigger", t)?;
                }
            }
            EventDetail::Building { attempt, route } => {
                m.serialize_entry("attempt", attempt)?;
                m.serialize_entry("route", route)?;
            }
            EventDetail::Submitted { attempt, tx_hash, instructions } => {
                m.serialize_entry("attempt", attempt)?;
                m.serialize_entry("txHash", tx_hash)?;
                if !instructions.is_empty() {
                    m.serialize_entry("instructions", instructions)?;
                }
            }
            EventDetail::Confirmed { attempt, tx_hash, dex, executed_price, amount_out } => {
                m.serialize_entry("attempt", attempt)?;
                m.serialize_entry("txHash", tx_hash)?;
                m.serialize_entry("dex", dex)?;
                m.serialize_entry("executedPrice", executed_price)?;
                m.serialize_entry("amountOut", amount_out)?;
            }
            EventDetail::Failed { error, attempts } => {
                m.serialize_entry("error", error)?;
                m.serialize_entry("attempts", attempts)?;
            }
            EventDetail::Open { expires_at, min_amount_out, limit_price, max_price, last_error } => {
                m.serialize_entry("expiresAt", &format_time(*expires_at))?;
                if let Some(min) = min_amount_out {
                    m.serialize_entry("minAmountOut", min)?;
                }
                if let Some(price) = limit_price {
                    m.serialize_entry("limitPrice", price)?;
                }
                if let Some(price) = max_price {
                    m.serialize_entry("maxPrice", price)?;
                }
                if let Some(e) = last_error {
                    m.serialize_entry("lastError", e)?;
                }
            }
            EventDetail::Cancelled => {}
            EventDetail::Expired { expires_at } => m.serialize_entry("expiresAt", &format_time(*expires_at))?,
        }
        m.end()
    }
}

/// The two fields a follower needs to order and end a stream, read from an
/// event's JSON without decoding the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct EventHead {
    pub seq: u32,
    pub status: OrderStatus,
    /// When the event happened (for delay measurements).
    pub at: DateTime<Utc>,
}

impl EventHead {
    pub fn parse(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }
}

/// A status event decoded from its JSON: what a client receives.
///
/// The other side of [`StatusEvent`]'s serialization, flat: the fields a status
/// does not carry are `None` (see the table in the contract). Amounts and prices
/// stay decimal text, as sent: a client does not know every token's decimals.
/// Fields this version does not know are ignored, so a newer server's events
/// still decode.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedEvent {
    pub order_id: Uuid,
    /// 1 for `pending`, then one more per event of the order.
    pub seq: u32,
    pub status: OrderStatus,
    pub at: DateTime<Utc>,
    /// The execution attempt (`routing`, `building`, `submitted`, `confirmed`).
    #[serde(default)]
    pub attempt: Option<u32>,
    /// Why the previous attempt failed (`routing` on a retry).
    #[serde(default)]
    pub last_error: Option<ErrorInfo>,
    /// The chosen route (`building`).
    #[serde(default)]
    pub route: Option<RouteRecord>,
    /// The transaction (`submitted`, `confirmed`).
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// The built transaction's instructions (`submitted`), in order.
    #[serde(default)]
    pub instructions: Vec<Instruction>,
    /// The venue that executed, or `split` (`confirmed`).
    #[serde(default)]
    pub dex: Option<String>,
    /// Units of tokenOut per unit of tokenIn (`confirmed`).
    #[serde(default)]
    pub executed_price: Option<String>,
    /// What the order received, in tokenOut units (`confirmed`).
    #[serde(default)]
    pub amount_out: Option<String>,
    /// Why the order failed (`failed`).
    #[serde(default)]
    pub error: Option<ErrorInfo>,
    /// How many attempts were made (`failed`).
    #[serde(default)]
    pub attempts: Option<u32>,
    /// When a resting order expires (`open`, `expired`).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The least a resting order accepts, in tokenOut units (`open`).
    #[serde(default)]
    pub min_amount_out: Option<String>,
    /// A limit order's price, as given (`open`).
    #[serde(default)]
    pub limit_price: Option<String>,
    /// A sniper order's `maxPrice`, as given (`open`).
    #[serde(default)]
    pub max_price: Option<String>,
    /// What fired a resting order (`routing`).
    #[serde(default)]
    pub trigger: Option<Trigger>,
}

impl ReceivedEvent {
    /// Decodes one event's JSON text.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Whether this is the order's last event (`confirmed`, `failed`, `cancelled`, `expired`).
    pub const fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureCode;
    use serde_json::{Value, json};

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T10:00:01.234567Z").expect("time").with_timezone(&Utc)
    }

    #[test]
    fn serializes_each_status_with_its_fields() {
        let id = Uuid::nil();
        let submitted = StatusEvent::new(
            id,
            4,
            at(),
            EventDetail::Submitted { attempt: 1, tx_hash: "abc".into(), instructions: Vec::new() },
        );
        let v: Value = serde_json::from_str(&submitted.to_json()).expect("json");
        assert_eq!(
            v,
            json!({"orderId": id, "seq": 4, "status": "submitted", "at": "2026-11-21T10:00:01.234Z", "attempt": 1, "txHash": "abc"})
        );
        let failed = StatusEvent::new(
            id,
            9,
            at(),
            EventDetail::Failed { error: ErrorInfo::new(FailureCode::SlippageExceeded, "moved"), attempts: 1 },
        );
        let v: Value = serde_json::from_str(&failed.to_json()).expect("json");
        assert_eq!(v["error"], json!({"code": "SLIPPAGE_EXCEEDED", "message": "moved"}));
        assert_eq!(v["attempts"], 1);
        let pending = StatusEvent::new(id, 1, at(), EventDetail::Pending).to_json();
        assert!(pending.starts_with(r#"{"orderId":"00000000-0000-0000-0000-000000000000","seq":1,"status":"pending""#));
        assert_eq!(
            EventHead::parse(&pending),
            Some(EventHead {
                seq: 1,
                status: OrderStatus::Pending,
                at: StatusEvent::new(id, 1, at(), EventDetail::Pending).at
            })
        );
    }

    /// What the engine serializes, a client decodes field for field.
    #[test]
    fn every_status_decodes_as_received() {
        let id = Uuid::now_v7();
        let confirmed = StatusEvent::new(
            id,
            5,
            at(),
            EventDetail::Confirmed {
                attempt: 2,
                tx_hash: "tx".into(),
                dex: "meteora".into(),
                executed_price: "154.26".into(),
                amount_out: Units { atoms: 231_402_117, decimals: 6 },
            },
        );
        let received = ReceivedEvent::parse(&confirmed.to_json()).expect("decodes");
        assert_eq!((received.order_id, received.seq, received.status), (id, 5, OrderStatus::Confirmed));
        assert_eq!(received.at, confirmed.at);
        assert_eq!(received.attempt, Some(2));
        assert_eq!(received.amount_out.as_deref(), Some("231.402117"));
        assert_eq!(received.executed_price.as_deref(), Some("154.26"));
        assert!(received.is_terminal());

        let error = ErrorInfo::new(FailureCode::BlockhashExpired, "expired");
        let routing = StatusEvent::new(
            id,
            3,
            at(),
            EventDetail::Routing { attempt: 2, last_error: Some(error.clone()), trigger: None },
        );
        let received = ReceivedEvent::parse(&routing.to_json()).expect("decodes");
        assert!(!received.is_terminal());
        assert_eq!((received.last_error, received.error), (Some(error.clone()), None));

        let failed = StatusEvent::new(id, 9, at(), EventDetail::Failed { error: error.clone(), attempts: 3 });
        let received = ReceivedEvent::parse(&failed.to_json()).expect("decodes");
        assert_eq!((received.error, received.attempts), (Some(error), Some(3)));

        let trigger = Trigger { slot: 812, price: "151.25".into() };
        let fired = StatusEvent::new(
            id,
            3,
            at(),
            EventDetail::Routing { attempt: 1, last_error: None, trigger: Some(trigger.clone()) },
        );
        assert_eq!(ReceivedEvent::parse(&fired.to_json()).expect("decodes").trigger, Some(trigger));

        let open = StatusEvent::new(
            id,
            2,
            at(),
            EventDetail::Open {
                expires_at: at(),
                min_amount_out: Some(Units { atoms: 150_000_000, decimals: 6 }),
                limit_price: Some("150".into()),
                max_price: None,
                last_error: None,
            },
        );
        let v: Value = serde_json::from_str(&open.to_json()).expect("json");
        assert_eq!(
            (v["expiresAt"].as_str(), v["minAmountOut"].as_str(), v["limitPrice"].as_str()),
            (Some("2026-11-21T10:00:01.234Z"), Some("150"), Some("150"))
        );
        let received = ReceivedEvent::parse(&open.to_json()).expect("decodes");
        assert_eq!((received.status, received.min_amount_out.as_deref()), (OrderStatus::Open, Some("150")));
        assert_eq!(received.expires_at, Some(open.at));
        assert!(!received.is_terminal());
        for (detail, status) in [
            (EventDetail::Cancelled, OrderStatus::Cancelled),
            (EventDetail::Expired { expires_at: at() }, OrderStatus::Expired),
        ] {
            let received = ReceivedEvent::parse(&StatusEvent::new(id, 3, at(), detail).to_json()).expect("decodes");
            assert_eq!(received.status, status);
            assert!(received.is_terminal());
        }

        let pending = ReceivedEvent::parse(
            r#"{"orderId":"00000000-0000-0000-0000-000000000000","seq":1,
            "status":"pending","at":"2026-11-21T10:00:01.234Z","fromTheFuture":true}"#,
        )
        .expect("unknown fields are ignored");
        assert_eq!((pending.seq, pending.attempt, pending.instructions.len()), (1, None, 0));
    }

    #[test]
    fn times_are_millisecond_precision() {
        let e = StatusEvent::new(Uuid::nil(), 1, at(), EventDetail::Pending);
        assert_eq!(e.at.timestamp_subsec_micros(), 234_000);
    }
}
