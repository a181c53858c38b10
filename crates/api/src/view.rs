//! Response bodies, exactly as the contract shows them.

use oee_domain::{format_time, format_units};
use oee_store::OrderRecord;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

/// `202 Accepted` (or `200` for an idempotent repeat) on submit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub order_id: Uuid,
    /// `pending` when new; the order's current status for an idempotent repeat.
    #[schema(value_type = oee_domain::OrderStatus)]
    pub status: &'static str,
    /// Where to read the order.
    pub status_url: String,
    /// Where to follow it (WebSocket).
    pub ws_url: String,
}

impl Accepted {
    pub fn new(order_id: Uuid, status: &'static str) -> Self {
        Self {
            order_id,
            status,
            status_url: format!("/api/orders/{order_id}"),
            ws_url: format!("/api/orders/{order_id}/ws"),
        }
    }
}

/// An order, optionally with its events (the stored JSON, not re-encoded).
#[derive(Debug)]
pub struct OrderView<'a> {
    pub order: &'a OrderRecord,
    pub events: Option<Vec<Box<RawValue>>>,
}

impl Serialize for OrderView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = self.order;
        let spec = &o.spec;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("orderId", &o.id)?;
        m.serialize_entry("userId", &spec.user_id)?;
        m.serialize_entry("type", spec.order_type.as_str())?;
        m.serialize_entry("tokenIn", &spec.token_in.symbol)?;
        // A sniper's token may be known only by the mint it was given, so far.
        let token_out = if spec.token_out.symbol.is_empty() { &spec.token_out.mint } else { &spec.token_out.symbol };
        m.serialize_entry("tokenOut", token_out)?;
        m.serialize_entry("amountIn", &format_units(u128::from(spec.amount_in), spec.token_in.decimals))?;
        match &spec.limit {
            // A limit order's bound is its minimum: it has no slippage tolerance.
            Some(limit) => {
                m.serialize_entry("slippageBps", &None::<u16>)?;
                m.serialize_entry("limitPrice", &limit.limit_price)?;
                m.serialize_entry(
                    "minAmountOut",
                    &format_units(u128::from(limit.min_amount_out), spec.token_out.decimals),
                )?;
                m.serialize_entry("expiresAt", &limit.expires_at.map(format_time))?;
            }
            None => m.serialize_entry("slippageBps", &spec.slippage_bps)?,
        }
        if let Some(sniper) = &spec.sniper {
            m.serialize_entry("maxPrice", &sniper.max_price)?;
            m.serialize_entry("minLiquidity", &format_units(u128::from(sniper.min_liquidity), spec.token_in.decimals))?;
            m.serialize_entry("expiresAt", &sniper.expires_at.map(format_time))?;
        }
        m.serialize_entry("status", &o.status)?;
        m.serialize_entry("attempts", &o.attempts)?;
        m.serialize_entry("route", &o.route)?;
        m.serialize_entry("txHash", &o.tx_hash)?;
        m.serialize_entry("executedPrice", &o.executed_price)?;
        m.serialize_entry("amountOut", &o.amount_out.map(|a| format_units(u128::from(a), spec.token_out.decimals)))?;
        m.serialize_entry("error", &o.failure)?;
        m.serialize_entry("createdAt", &format_time(o.created_at))?;
        m.serialize_entry("updatedAt", &format_time(o.updated_at))?;
        if let Some(events) = &self.events {
            m.serialize_entry("events", events)?;
        }
        m.end()
    }
}
