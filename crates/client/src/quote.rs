//! What the engine would do with an order, without placing it: `GET /api/quote`.
//!
//! Amounts and prices stay the exact decimal text the engine sends; the route
//! is the domain's [`RouteRecord`], the same one an order carries once routed.

use crate::order::optional_millis;
use chrono::{DateTime, Utc};
use oee_domain::RouteRecord;
use serde::{Deserialize, Serialize};

/// What to quote: the same fields as a market order, nothing stored.
///
/// ```
/// use oee_client::QuoteRequest;
///
/// let quote = QuoteRequest::new("SOL", "USDC", "1.5").slippage_bps(50);
/// assert_eq!(quote.amount_in, "1.5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    /// The token sold: a symbol (any case) or a mint.
    pub token_in: String,
    /// The token bought: a symbol (any case) or a mint.
    pub token_out: String,
    /// How much to sell, exact decimal text in token units (`"1.5"`).
    pub amount_in: String,
    /// Tolerated slippage in basis points, for the minimum received; the
    /// engine's default (50) when `None`.
    pub slippage_bps: Option<u32>,
}

impl QuoteRequest {
    /// A quote for selling `amount_in` of `token_in` for `token_out`.
    pub fn new(token_in: impl Into<String>, token_out: impl Into<String>, amount_in: impl Into<String>) -> Self {
        Self { token_in: token_in.into(), token_out: token_out.into(), amount_in: amount_in.into(), slippage_bps: None }
    }

    /// Sets the slippage tolerance in basis points.
    #[must_use]
    pub fn slippage_bps(mut self, bps: u32) -> Self {
        self.slippage_bps = Some(bps);
        self
    }

    /// The query string's pairs, in the contract's names.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("tokenIn", self.token_in.clone()),
            ("tokenOut", self.token_out.clone()),
            ("amountIn", self.amount_in.clone()),
        ];
        if let Some(bps) = self.slippage_bps {
            pairs.push(("slippageBps", bps.to_string()));
        }
        pairs
    }
}

/// The route the engine would take now for a [`QuoteRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// The token sold, by symbol.
    pub token_in: String,
    /// The token bought, by symbol.
    pub token_out: String,
    /// How much is sold, in token units.
    pub amount_in: String,
    /// What the chosen route is expected to return, in tokenOut units.
    pub amount_out: String,
    /// The least an order with this slippage would accept.
    pub min_amount_out: String,
    /// How far the trade moves the chosen pools' price, in basis points.
    pub price_impact_bps: u32,
    /// The simulated chain's slot the pools were read at.
    pub slot: u64,
    /// Units of tokenOut per unit of tokenIn, where the engine says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// When the quote was made, where the engine says.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "optional_millis")]
    pub quoted_at: Option<DateTime<Utc>>,
    /// Every venue's quote, the legs, and why this route.
    pub route: RouteRecord,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The query carries the contract's names, and slippage only when set.
    #[test]
    fn quote_queries_use_the_contract_names() {
        let names = |q: &QuoteRequest| q.pairs().into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        let quote = QuoteRequest::new("SOL", "USDC", "1.5");
        assert_eq!(names(&quote), ["tokenIn", "tokenOut", "amountIn"]);
        assert_eq!(quote.slippage_bps(30).pairs()[3], ("slippageBps", "30".to_owned()));
    }

    /// A quote as the engine sends it decodes with its route, and writes back
    /// the same JSON.
    #[test]
    fn quotes_decode_and_encode_back() {
        let text = json!({
            "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "amountOut": "231.402117",
            "minAmountOut": "230.245106", "priceImpactBps": 2, "slot": 812, "price": "154.268078",
            "quotedAt": "2026-11-21T10:00:00.120Z",
            "route": {"dex": "meteora",
                "legs": [{"dex": "meteora", "amountIn": "1.5", "amountOut": "231.402117", "shareBps": 10000}],
                "quotes": [{"dex": "raydium", "amountOut": "229.118342", "fee": "0.00375", "priceImpactBps": 3, "price": "152.745561"},
                           {"dex": "meteora", "amountOut": "231.402117", "fee": "0.003", "priceImpactBps": 2, "price": "154.268078"}],
                "minAmountOut": "230.245106", "wrapSol": true, "unwrapSol": false,
                "reason": "meteora returns 1.00% more USDC than raydium"}
        });
        let quote: Quote = serde_json::from_value(text.clone()).expect("decodes");
        assert_eq!((quote.slot, quote.route.legs.len(), quote.route.quotes[0].dex), (812, 1, oee_domain::Dex::Raydium));
        assert_eq!(serde_json::to_value(&quote).expect("encodes"), text);
        // `price` and `quotedAt` are extras of this engine, not the contract's.
        let mut bare = text;
        let fields = bare.as_object_mut().expect("object");
        fields.remove("price");
        fields.remove("quotedAt");
        let quote: Quote = serde_json::from_value(bare).expect("decodes without extras");
        assert_eq!((quote.price, quote.quoted_at), (None, None));
    }
}
