//! A new order as its job carries it, so that the worker that takes a fresh
//! job need not read the order back from PostgreSQL.
//!
//! [`encode`] writes what the insert stored, and [`decode`] gives the
//! [`OrderRecord`] that reading the row back would give: the order `pending`
//! at seq 1, no attempt, created (and updated) at its `pending` event's time,
//! a token known only by its symbol or its mint with decimals 0, and the
//! accepted expiry (not the requested one) in a resting order's terms. The
//! store's tests hold the two to that for every kind of order.
//!
//! It is a hint, never the truth: only a job delivered for the first time uses
//! it, and a worker whose first write finds the order moved on reads the row.

use super::{NewOrder, OrderRecord};
use crate::error::StoreError;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use oee_domain::{EventDetail, LimitTerms, OrderSpec, OrderType, SniperTerms, StatusEvent, Token};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The fields of a queued order (short names: one is written per order).
#[derive(Serialize, Deserialize)]
struct Queued<'a> {
    #[serde(rename = "a", borrow)]
    account: &'a str,
    #[serde(rename = "u", borrow)]
    user_id: &'a str,
    #[serde(rename = "t", borrow)]
    order_type: &'a str,
    #[serde(rename = "i", borrow)]
    token_in: (&'a str, &'a str, u8),
    #[serde(rename = "o", borrow)]
    token_out: (&'a str, &'a str, u8),
    #[serde(rename = "n")]
    amount_in: u64,
    #[serde(rename = "s")]
    slippage_bps: u16,
    /// A limit order's minimum.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    min_amount_out: Option<u64>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    limit_price: Option<String>,
    /// A sniper's terms: its price cap and the liquidity it waits for.
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    sniper: Option<(Option<String>, u64)>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(rename = "c")]
    created_at: DateTime<Utc>,
}

/// The order as its job carries it.
pub fn encode(order: &NewOrder) -> String {
    let spec = &order.spec;
    let queued = Queued {
        account: &order.account,
        user_id: &spec.user_id,
        order_type: spec.order_type.as_str(),
        token_in: fields(&spec.token_in),
        token_out: fields(&spec.token_out),
        amount_in: spec.amount_in,
        slippage_bps: spec.slippage_bps,
        min_amount_out: spec.limit.as_ref().map(|l| l.min_amount_out),
        limit_price: spec.limit.as_ref().and_then(|l| l.limit_price.clone()),
        sniper: spec.sniper.as_ref().map(|s| (s.max_price.clone(), s.min_liquidity)),
        expires_at: order.expires_at,
        created_at: order.at,
    };
    serde_json::to_string(&queued).expect("a queued order always serializes")
}

fn fields(token: &Token) -> (&str, &str, u8) {
    (token.symbol.as_str(), token.mint.as_str(), token.decimals)
}

/// The record of order `id` as [`OrderStore::get`](super::OrderStore::get)
/// would read it right after its insert.
pub fn decode(id: Uuid, text: &str) -> Result<OrderRecord, StoreError> {
    let q: Queued<'_> =
        serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("queued order {id}: {e}")))?;
    let order_type = OrderType::parse(q.order_type)
        .ok_or_else(|| StoreError::corrupt(format!("queued order {id}: order type {}", q.order_type)))?;
    // As the insert stores a token: one known by its symbol or its mint only
    // has no decimals yet.
    let token = |(symbol, mint, decimals): (&str, &str, u8)| {
        let decimals = if symbol.is_empty() || mint.is_empty() { 0 } else { decimals };
        Token::stored(symbol.to_owned(), mint.to_owned(), decimals)
    };
    // Stored as the `pending` event's time (milliseconds, as its JSON says);
    // PostgreSQL keeps the expiry's microseconds.
    let created_at = StatusEvent::new(id, 1, q.created_at, EventDetail::Pending).at;
    let expires_at = q.expires_at.map(|at| at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at));
    let spec = OrderSpec {
        order_type,
        token_in: token(q.token_in),
        token_out: token(q.token_out),
        amount_in: q.amount_in,
        slippage_bps: q.slippage_bps,
        user_id: q.user_id.to_owned(),
        limit: q.min_amount_out.map(|min_amount_out| LimitTerms {
            min_amount_out,
            limit_price: q.limit_price.clone(),
            expires_at,
        }),
        sniper: q.sniper.map(|(max_price, min_liquidity)| SniperTerms { max_price, min_liquidity, expires_at }),
    };
    Ok(OrderRecord::stored(id, q.account.to_owned(), spec, created_at))
}
