//! Request and response bodies of the order routes, typed.
//!
//! Statuses, order types, routes and failures are the domain's own types;
//! amounts and prices stay the exact decimal text the contract sends.

use crate::event::Event;
use chrono::{DateTime, Utc};
use oee_domain::{ErrorInfo, OrderStatus, OrderType, RouteRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An order to submit, over HTTP or the submit socket.
///
/// ```
/// use oee_client::OrderRequest;
///
/// let order = OrderRequest::market("SOL", "USDC", "1.5").slippage_bps(30).idempotency_key("trade-42");
/// assert_eq!(order.amount_in, "1.5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// The kind of order: `market` executes at once, `limit` rests until the
    /// market returns its minimum, `sniper` until a pool for its token appears.
    pub order_type: OrderType,
    /// The token sold: a symbol (any case) or a mint.
    pub token_in: String,
    /// The token bought: a symbol (any case) or a mint; a sniper's may not be
    /// listed yet.
    pub token_out: String,
    /// How much to sell, exact decimal text in token units (`"1.5"`).
    pub amount_in: String,
    /// Tolerated slippage, 1..=5000 basis points; the engine's default (50) when `None`.
    pub slippage_bps: Option<u32>,
    /// A label for history filters; the engine's default when `None`.
    pub user_id: Option<String>,
    /// Makes resubmitting safe: the same key with the same order returns the same order id.
    pub idempotency_key: Option<String>,
    /// A limit order's price: the least tokenOut per one tokenIn (decimal text).
    pub limit_price: Option<String>,
    /// A limit order's minimum for the whole amount, in tokenOut units.
    pub min_amount_out: Option<String>,
    /// When a limit or sniper order expires if it has not fired (the engine's
    /// default, 24 h, when `None`).
    pub expires_at: Option<DateTime<Utc>>,
    /// A sniper's price cap: the most tokenIn it pays per one tokenOut (decimal text).
    pub max_price: Option<String>,
    /// A sniper's least liquidity: the tokenIn units the new pool must hold.
    pub min_liquidity: Option<String>,
}

impl OrderRequest {
    /// A market order selling `amount_in` of `token_in` for `token_out`.
    pub fn market(token_in: impl Into<String>, token_out: impl Into<String>, amount_in: impl Into<String>) -> Self {
        Self {
            order_type: OrderType::Market,
            token_in: token_in.into(),
            token_out: token_out.into(),
            amount_in: amount_in.into(),
            slippage_bps: None,
            user_id: None,
            idempotency_key: None,
            limit_price: None,
            min_amount_out: None,
            expires_at: None,
            max_price: None,
            min_liquidity: None,
        }
    }

    /// A limit order selling `amount_in` of `token_in` for at least
    /// `limit_price` `token_out` each, resting `open` until the market gets there.
    ///
    /// ```
    /// use oee_client::OrderRequest;
    ///
    /// let order = OrderRequest::limit("SOL", "USDC", "1.5", "160");
    /// assert_eq!(order.limit_price.as_deref(), Some("160"));
    /// ```
    pub fn limit(
        token_in: impl Into<String>,
        token_out: impl Into<String>,
        amount_in: impl Into<String>,
        limit_price: impl Into<String>,
    ) -> Self {
        Self {
            order_type: OrderType::Limit,
            limit_price: Some(limit_price.into()),
            ..Self::market(token_in, token_out, amount_in)
        }
    }

    /// A sniper order spending `amount_in` of `token_in` on `token_out` (a
    /// symbol or a mint, listed or not), resting `open` until a pool for the
    /// pair exists, is open, is deep enough and prices at or under its cap.
    ///
    /// ```
    /// use oee_client::OrderRequest;
    ///
    /// let order = OrderRequest::sniper("SOL", "PEPE", "1").max_price("0.000001").min_liquidity("100");
    /// assert_eq!(order.max_price.as_deref(), Some("0.000001"));
    /// ```
    pub fn sniper(token_in: impl Into<String>, token_out: impl Into<String>, amount_in: impl Into<String>) -> Self {
        Self { order_type: OrderType::Sniper, ..Self::market(token_in, token_out, amount_in) }
    }

    /// Sets when a limit or sniper order expires.
    #[must_use]
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets a sniper's price cap: the most `token_in` per one `token_out`.
    #[must_use]
    pub fn max_price(mut self, price: impl Into<String>) -> Self {
        self.max_price = Some(price.into());
        self
    }

    /// Sets the `token_in` units a sniper's pool must hold before it fires.
    #[must_use]
    pub fn min_liquidity(mut self, amount: impl Into<String>) -> Self {
        self.min_liquidity = Some(amount.into());
        self
    }

    /// Sets the slippage tolerance in basis points.
    #[must_use]
    pub fn slippage_bps(mut self, bps: u32) -> Self {
        self.slippage_bps = Some(bps);
        self
    }

    /// Sets the user label.
    #[must_use]
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the idempotency key (1–255 characters).
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The POST body (the idempotency key travels as a header).
    pub(crate) fn http_body(&self) -> String {
        self.body(false, None)
    }

    /// A submit-socket message: the body with `idempotencyKey` and `clientRef`.
    pub(crate) fn socket_message(&self, client_ref: u64) -> String {
        self.body(true, Some(client_ref))
    }

    fn body(&self, with_key: bool, client_ref: Option<u64>) -> String {
        let body = OrderBody {
            order_type: self.order_type.as_str(),
            token_in: &self.token_in,
            token_out: &self.token_out,
            amount_in: &self.amount_in,
            slippage_bps: self.slippage_bps,
            user_id: self.user_id.as_deref(),
            idempotency_key: self.idempotency_key.as_deref().filter(|_| with_key),
            client_ref,
            limit_price: self.limit_price.as_deref(),
            min_amount_out: self.min_amount_out.as_deref(),
            expires_at: self.expires_at.map(oee_domain::format_time),
            max_price: self.max_price.as_deref(),
            min_liquidity: self.min_liquidity.as_deref(),
        };
        serde_json::to_string(&body).expect("an order body always serializes")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderBody<'a> {
    #[serde(rename = "type")]
    order_type: &'static str,
    token_in: &'a str,
    token_out: &'a str,
    amount_in: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    slippage_bps: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ref: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_price: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_amount_out: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_price: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_liquidity: Option<&'a str>,
}

/// The reply to an accepted submission: the order is stored and queued, and
/// will reach exactly one terminal status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The new order's id (or, for a repeated idempotency key, the first one's).
    pub order_id: Uuid,
    /// The order's status when it was answered.
    pub status: OrderStatus,
    /// Where to `GET` the order.
    pub status_url: String,
    /// Where to follow the order's events.
    pub ws_url: String,
    /// Whether this answered a repeated idempotency key (HTTP 200 rather than 202).
    #[serde(skip)]
    pub replayed: bool,
}

/// An order as `GET /api/orders/{orderId}` and the history show it; it
/// serializes back to the contract's shape (its events verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order's id.
    pub order_id: Uuid,
    /// The user label.
    pub user_id: String,
    /// The kind of order.
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// The token sold, by symbol.
    pub token_in: String,
    /// The token bought, by symbol; a sniper's by the mint it was given until
    /// its token is listed.
    pub token_out: String,
    /// How much is sold, in token units.
    pub amount_in: String,
    /// A market or sniper order's slippage tolerance in basis points (`None` for a limit order).
    pub slippage_bps: Option<u32>,
    /// A limit order's price as given (`None` when given as a minimum, and for market orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    /// A limit order's minimum for the whole amount, in tokenOut units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount_out: Option<String>,
    /// When a limit or sniper order expires if it has not fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// A sniper's price cap as given: the most tokenIn per one tokenOut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<String>,
    /// A sniper's least liquidity, in tokenIn units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_liquidity: Option<String>,
    /// Where the order is now.
    pub status: OrderStatus,
    /// Execution attempts so far.
    pub attempts: u32,
    /// The routing decision, once routed.
    pub route: Option<RouteRecord>,
    /// The transaction, once submitted.
    pub tx_hash: Option<String>,
    /// Units of tokenOut per unit of tokenIn, once confirmed.
    pub executed_price: Option<String>,
    /// What the order received in tokenOut units, once confirmed.
    pub amount_out: Option<String>,
    /// Why the order failed, if it did.
    pub error: Option<ErrorInfo>,
    /// When the order was accepted.
    #[serde(serialize_with = "millis")]
    pub created_at: DateTime<Utc>,
    /// When the order last changed.
    #[serde(serialize_with = "millis")]
    pub updated_at: DateTime<Utc>,
    /// The whole status history (on a single order; empty in history pages),
    /// each event with its text as the engine sent it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

/// Writes a time as the contract does: RFC 3339 UTC with milliseconds.
pub(crate) fn millis<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&oee_domain::format_time(*at))
}

/// Writes an optional time as [`millis`] does, `null` when absent.
pub(crate) fn optional_millis<S: serde::Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => millis(at, s),
        None => s.serialize_none(),
    }
}

/// Which orders [`crate::Client::history`] lists, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only this user's orders.
    pub user_id: Option<String>,
    /// Only orders now in this status.
    pub status: Option<OrderStatus>,
    /// Orders per page, 1..=200 (the engine's default, 50, when `None`).
    pub limit: Option<u32>,
    /// Start after this cursor: the previous page's [`HistoryPage::next_cursor`].
    pub before: Option<Uuid>,
}

impl HistoryQuery {
    /// The same query for the page after `page`, or `None` on the last page.
    pub fn next_page(&self, page: &HistoryPage) -> Option<Self> {
        page.next_cursor.map(|cursor| Self { before: Some(cursor), ..self.clone() })
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(user_id) = &self.user_id {
            pairs.push(("userId", user_id.clone()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(before) = self.before {
            pairs.push(("before", before.to_string()));
        }
        pairs
    }
}

/// One page of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The orders, newest first, without their events.
    pub orders: Vec<Order>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The POST body carries the contract's field names and leaves the key to
    /// the header; the socket message carries both key and `clientRef`.
    #[test]
    fn bodies_use_the_contract_names() {
        let order = OrderRequest::market("SOL", "USDC", "1.5").slippage_bps(30).idempotency_key("k-1");
        let body: Value = serde_json::from_str(&order.http_body()).expect("json");
        assert_eq!(
            body,
            json!({"type": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "slippageBps": 30})
        );
        let message: Value = serde_json::from_str(&order.socket_message(7)).expect("json");
        assert_eq!(message["idempotencyKey"], "k-1");
        assert_eq!(message["clientRef"], 7);
    }

    /// A sniper's body names its type, its cap and its liquidity; the order
    /// read back carries them, its token still named by the mint it was given.
    #[test]
    fn snipers_carry_their_terms() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").expect("time").with_timezone(&Utc);
        let order = OrderRequest::sniper("SOL", "PEPE", "1").max_price("0.000001").min_liquidity("100").expires_at(at);
        let body: Value = serde_json::from_str(&order.http_body()).expect("json");
        assert_eq!(
            body,
            json!({"type": "sniper", "tokenIn": "SOL", "tokenOut": "PEPE", "amountIn": "1", "maxPrice": "0.000001",
                "minLiquidity": "100", "expiresAt": "2026-11-22T10:00:00.000Z"})
        );
        let text = r#"{"orderId":"0193b0c4-0000-7000-8000-000000000001","userId":"alice","type":"sniper",
            "tokenIn":"SOL","tokenOut":"7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr","amountIn":"1","slippageBps":50,
            "maxPrice":"0.000001","minLiquidity":"100","expiresAt":"2026-11-22T10:00:00Z","status":"open","attempts":0,
            "route":null,"txHash":null,"executedPrice":null,"amountOut":null,"error":null,
            "createdAt":"2026-11-21T10:00:00.000Z","updatedAt":"2026-11-21T10:00:00.010Z"}"#;
        let read: Order = serde_json::from_str(text).expect("decodes");
        assert_eq!(
            (read.order_type, read.max_price.as_deref(), read.min_liquidity.as_deref()),
            (OrderType::Sniper, Some("0.000001"), Some("100"))
        );
        assert_eq!(read.expires_at, Some(at));
    }

    /// A whole order, as the engine serializes it, decodes with typed status,
    /// route, failure and events.
    #[test]
    fn orders_decode() {
        let text = r#"{"orderId":"0193b0c4-0000-7000-8000-000000000001","userId":"alice","type":"market",
            "tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","slippageBps":50,"status":"failed","attempts":3,
            "route":null,"txHash":null,"executedPrice":null,"amountOut":null,
            "error":{"code":"RETRIES_EXHAUSTED","message":"gave up"},
            "createdAt":"2026-11-21T10:00:00.000Z","updatedAt":"2026-11-21T10:00:01.234Z",
            "events":[{"orderId":"0193b0c4-0000-7000-8000-000000000001","seq":1,"status":"pending","at":"2026-11-21T10:00:00.000Z"}]}"#;
        let order: Order = serde_json::from_str(text).expect("decodes");
        assert_eq!((order.status, order.order_type, order.attempts), (OrderStatus::Failed, OrderType::Market, 3));
        assert_eq!(order.error.as_ref().map(|e| e.code), Some(oee_domain::FailureCode::RetriesExhausted));
        assert_eq!(order.events.len(), 1);
        let again = serde_json::to_value(&order).expect("encodes");
        assert_eq!(again, serde_json::from_str::<Value>(text).expect("json"), "serializes back to the same order");
        let page: HistoryPage = serde_json::from_str(r#"{"orders":[],"nextCursor":null}"#).expect("decodes");
        assert_eq!(HistoryQuery::default().next_page(&page), None);
    }
}
