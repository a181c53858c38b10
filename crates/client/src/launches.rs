//! Token launches on the simulated chain: listing a new token with one pool
//! (`POST /api/admin/sim/launches`, an admin key) — what sniper orders wait
//! for — and the launches so far (`GET /api/launches`).

use crate::order::{millis, optional_millis};
use chrono::{DateTime, Utc};
use oee_domain::Dex;
use serde::{Deserialize, Serialize};

/// A token to list, with the one pool it starts trading in.
///
/// ```
/// use oee_client::LaunchRequest;
/// use oee_client::oee_domain::Dex;
///
/// let launch = LaunchRequest::new("PEPE", 6, "SOL", Dex::Raydium, "1000000000", "500");
/// assert_eq!(launch.mint, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchRequest {
    /// The new token's symbol: 1–16 letters or digits, not listed yet.
    pub symbol: String,
    /// Its mint (base58); the engine makes a fresh one when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mint: Option<String>,
    /// How many decimals its amounts have, 0–18.
    pub decimals: u8,
    /// The listed token the pool pairs it with (symbol or mint).
    pub quote_token: String,
    /// The venue whose pool it gets.
    pub venue: Dex,
    /// How much of the new token the pool starts with, in its units.
    pub base_amount: String,
    /// How much of the quote token the pool starts with, in its units.
    pub quote_amount: String,
    /// When the pool starts trading; at once when `None` or past.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_millis")]
    pub open_at: Option<DateTime<Utc>>,
}

impl LaunchRequest {
    /// A launch of `symbol` against `quote_token` on `venue`, its pool holding
    /// `base_amount` of the new token and `quote_amount` of the quote token.
    pub fn new(
        symbol: impl Into<String>,
        decimals: u8,
        quote_token: impl Into<String>,
        venue: Dex,
        base_amount: impl Into<String>,
        quote_amount: impl Into<String>,
    ) -> Self {
        Self {
            symbol: symbol.into(),
            mint: None,
            decimals,
            quote_token: quote_token.into(),
            venue,
            base_amount: base_amount.into(),
            quote_amount: quote_amount.into(),
            open_at: None,
        }
    }

    /// Sets the new token's mint.
    #[must_use]
    pub fn mint(mut self, mint: impl Into<String>) -> Self {
        self.mint = Some(mint.into());
        self
    }

    /// Sets when the pool starts trading.
    #[must_use]
    pub const fn open_at(mut self, at: DateTime<Utc>) -> Self {
        self.open_at = Some(at);
        self
    }
}

/// What a launch made: the token is listed and its pool exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    pub symbol: String,
    pub mint: String,
    /// The pool's id.
    pub pool: String,
    /// The slot the pool was created in.
    pub slot: u64,
}

/// One launched token and its pool (`GET /api/launches`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Launch {
    pub symbol: String,
    pub mint: String,
    pub decimals: u8,
    /// The symbol of the token it is paired with.
    pub quote_token: String,
    /// The venue of its pool (`None` for a venue this client does not know).
    #[serde(default)]
    pub venue: Option<Dex>,
    /// The pool's id.
    pub pool: String,
    /// The slot the pool was created in.
    pub slot: u64,
    /// When its pool starts trading, if not at once.
    #[serde(serialize_with = "optional_millis")]
    pub open_at: Option<DateTime<Utc>>,
    /// When it was launched.
    #[serde(serialize_with = "millis")]
    pub launched_at: DateTime<Utc>,
}

/// The body of `GET /api/launches`.
#[derive(Debug, Deserialize)]
pub(crate) struct LaunchList {
    pub launches: Vec<Launch>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A launch body carries the contract's names, and only the optional
    /// fields that are set.
    #[test]
    fn launch_bodies_use_the_contract_names() {
        let bare = LaunchRequest::new("PEPE", 6, "SOL", Dex::Meteora, "1000", "5");
        assert_eq!(
            serde_json::to_value(&bare).expect("json"),
            json!({"symbol": "PEPE", "decimals": 6, "quoteToken": "SOL", "venue": "meteora",
                "baseAmount": "1000", "quoteAmount": "5"})
        );
        let at = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").expect("time").with_timezone(&Utc);
        let full = serde_json::to_value(bare.mint("7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr").open_at(at));
        let full = full.expect("json");
        assert_eq!(
            (full["mint"].as_str(), full["openAt"].as_str()),
            (Some("7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"), Some("2026-12-01T12:00:00.000Z"))
        );
    }

    /// The launch list decodes and serializes back to the engine's shape.
    #[test]
    fn launches_decode() {
        let text = r#"{"launches":[{"symbol":"PEPE","mint":"7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr",
            "decimals":6,"quoteToken":"SOL","venue":"raydium","pool":"raydium-7GCi-So11","slot":12,"openAt":null,
            "launchedAt":"2026-11-21T10:00:00.123Z"}]}"#;
        let list: LaunchList = serde_json::from_str(text).expect("decodes");
        let launch = &list.launches[0];
        assert_eq!((launch.venue, launch.slot, launch.open_at), (Some(Dex::Raydium), 12, None));
        let again = serde_json::to_value(launch).expect("encodes");
        assert_eq!(again, serde_json::from_str::<Value>(text).expect("json")["launches"][0]);
    }
}
