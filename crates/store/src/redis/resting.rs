//! News of resting orders for the trigger engine: a stream (`{ns}:resting`)
//! with one entry each time an order opens (armed, or re-opened after an
//! execution that could not fill at its minimum) and each time one closes
//! without firing (cancelled).
//!
//! Whoever owns a pair's books reads it from a position noted before loading
//! the pair's open orders from PostgreSQL, so nothing that happens while the
//! books are being built is missed. An entry is appended in the same round trip
//! as the job's acknowledgement, so a lost append means an unacknowledged job,
//! delivered again, which appends again; duplicates are harmless (a book's
//! insert is idempotent, a closed order is simply absent).

use crate::error::StoreError;
use crate::keys::Keys;
use crate::orders::OpenOrder;
use fred::clients::Pipeline;
use fred::prelude::*;
use fred::types::streams::{XCap, XReadResponse};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// Entries kept (approximately): far more than a reader falls behind by
/// between two reads; a reader further behind rebuilds from PostgreSQL.
pub const RESTING_STREAM_MAX: i64 = 1_000_000;

/// What happened to a resting order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The order rests, with these terms.
    Open(OpenOrder),
    /// The order no longer rests (cancelled, expired or fired elsewhere).
    Closed { id: Uuid, mint_in: String, mint_out: String },
}

impl Notice {
    pub fn id(&self) -> Uuid {
        match self {
            Self::Open(o) => o.id,
            Self::Closed { id, .. } => *id,
        }
    }

    /// The pair `(mint_in, mint_out)` the order trades.
    pub fn pair(&self) -> (&str, &str) {
        match self {
            Self::Open(o) => (&o.mint_in, &o.mint_out),
            Self::Closed { mint_in, mint_out, .. } => (mint_in, mint_out),
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Open(o) => vec![
                ("kind", if o.sniper { "sniper" } else { "open" }.into()),
                ("id", o.id.to_string()),
                ("in", o.mint_in.clone()),
                ("out", o.mint_out.clone()),
                ("amount", o.amount_in.to_string()),
                ("min", o.min_amount_out.to_string()),
                ("expires", o.expires_at.timestamp_millis().to_string()),
                ("seq", o.last_seq.to_string()),
            ],
            Self::Closed { id, mint_in, mint_out } => vec![
                ("kind", "closed".into()),
                ("id", id.to_string()),
                ("in", mint_in.clone()),
                ("out", mint_out.clone()),
            ],
        }
    }

    fn parse(fields: &HashMap<String, String>) -> Option<Self> {
        let id = Uuid::parse_str(fields.get("id")?).ok()?;
        let (mint_in, mint_out) = (fields.get("in")?.clone(), fields.get("out")?.clone());
        match fields.get("kind")?.as_str() {
            kind @ ("open" | "sniper") => Some(Self::Open(OpenOrder {
                id,
                mint_in,
                mint_out,
                amount_in: fields.get("amount")?.parse().ok()?,
                min_amount_out: fields.get("min")?.parse().ok()?,
                expires_at: chrono::DateTime::from_timestamp_millis(fields.get("expires")?.parse().ok()?)?,
                last_seq: fields.get("seq")?.parse().ok()?,
                sniper: kind == "sniper",
            })),
            "closed" => Some(Self::Closed { id, mint_in, mint_out }),
            _ => None,
        }
    }
}

/// The stream of [`Notice`]s.
#[derive(Debug, Clone)]
pub struct RestingFeed {
    client: Client,
    keys: Keys,
}

impl RestingFeed {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Adds `notice` to a pipeline.
    pub(super) async fn stage(&self, pipeline: &Pipeline<Client>, notice: &Notice) -> Result<(), StoreError> {
        let cap = XCap::try_from(("MAXLEN", "~", RESTING_STREAM_MAX))?;
        let _: () = pipeline.xadd(self.keys.resting(), false, cap, "*", notice.fields()).await?;
        Ok(())
    }

    /// Appends one notice.
    pub async fn append(&self, notice: &Notice) -> Result<(), StoreError> {
        let pipeline = self.client.pipeline();
        self.stage(&pipeline, notice).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// The id of the stream's latest entry (`0-0` when empty): read after it
    /// to see only what comes next.
    pub async fn last_id(&self) -> Result<String, StoreError> {
        let reply: Value = self.client.xrevrange(self.keys.resting(), "+", "-", Some(1)).await?;
        let id = match reply {
            Value::Array(entries) => entries.into_iter().next().and_then(|entry| match entry {
                Value::Array(parts) => parts.into_iter().next().and_then(|id| id.as_string()),
                _ => None,
            }),
            _ => None,
        };
        Ok(id.unwrap_or_else(|| "0-0".to_owned()))
    }

    /// Up to `count` notices after `after`, waiting up to `block` when there
    /// are none (zero: not at all). Use a client of its own for a blocking
    /// read. Entries that do not parse are skipped (with their ids, so the
    /// reader moves past them).
    pub async fn read_after(
        &self,
        after: &str,
        count: u64,
        block: Duration,
    ) -> Result<Vec<(String, Option<Notice>)>, StoreError> {
        let block_ms = (!block.is_zero()).then(|| u64::try_from(block.as_millis()).unwrap_or(u64::MAX));
        let reply: XReadResponse<String, String, String, String> =
            self.client.xread_map(Some(count), block_ms, self.keys.resting(), after).await?;
        Ok(reply.into_values().flatten().map(|(entry, fields)| (entry, Notice::parse(&fields))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_through_their_fields() {
        let open = Notice::Open(OpenOrder {
            id: Uuid::now_v7(),
            mint_in: "So111".into(),
            mint_out: "EPjF".into(),
            amount_in: 1_500_000_000,
            min_amount_out: 225_750_000,
            expires_at: chrono::DateTime::from_timestamp_millis(1_764_590_400_123).expect("time"),
            last_seq: 2,
            sniper: false,
        });
        // A sniper whose token is not known yet.
        let sniper = Notice::Open(OpenOrder {
            id: Uuid::now_v7(),
            mint_in: "So111".into(),
            mint_out: String::new(),
            amount_in: 1_000_000_000,
            min_amount_out: 0,
            expires_at: chrono::DateTime::from_timestamp_millis(1_764_590_400_000).expect("time"),
            last_seq: 2,
            sniper: true,
        });
        let closed = Notice::Closed { id: Uuid::now_v7(), mint_in: "a".into(), mint_out: "b".into() };
        for notice in [open, sniper, closed] {
            let fields: HashMap<String, String> = notice.fields().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            assert_eq!(Notice::parse(&fields), Some(notice));
        }
        assert_eq!(Notice::parse(&HashMap::from([("kind".to_owned(), "open".to_owned())])), None);
    }
}
