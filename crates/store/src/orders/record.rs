//! An order as stored, decoded from its row once, by column name, into the
//! domain's types.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use oee_domain::{ErrorInfo, LimitTerms, OrderSpec, OrderStatus, OrderType, RouteRecord, SniperTerms, Token};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Json};
use uuid::Uuid;

/// An order as stored: the validated request, where it stands, and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: Uuid,
    /// The account of the key that submitted it.
    pub account: String,
    /// The order as submitted (validated then, so it runs as it is).
    pub spec: OrderSpec,
    pub status: OrderStatus,
    /// The seq of the order's latest event.
    pub last_seq: u32,
    /// Attempts started so far.
    pub attempts: u32,
    /// The routing decision of the latest attempt that got one.
    pub route: Option<RouteRecord>,
    pub tx_hash: Option<String>,
    pub executed_price: Option<String>,
    pub amount_out: Option<u64>,
    /// Why the order failed, once it has.
    pub failure: Option<ErrorInfo>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns [`OrderRecord::decode`] reads, for `SELECT {COLUMNS} FROM orders`.
/// Amounts are `numeric` in the table and read as text, so they stay exact.
pub(crate) const COLUMNS: &str = "id, account, user_id, order_type, token_in, token_in_mint, token_in_decimals, \
    token_out, token_out_mint, token_out_decimals, amount_in::text AS amount_in, slippage_bps, status, last_seq, \
    attempts, route, tx_hash, executed_price, amount_out::text AS amount_out, error, created_at, updated_at, \
    min_amount_out::text AS min_amount_out, limit_price, expires_at, max_price, \
    min_liquidity::text AS min_liquidity";

impl OrderRecord {
    /// An order as its insert stores it: `pending` at seq 1, no attempt yet,
    /// updated when it was created.
    pub fn stored(id: Uuid, account: String, spec: OrderSpec, created_at: DateTime<Utc>) -> Self {
        Self {
            id,
            account,
            spec,
            status: OrderStatus::Pending,
            last_seq: 1,
            attempts: 0,
            route: None,
            tx_hash: None,
            executed_price: None,
            amount_out: None,
            failure: None,
            created_at,
            updated_at: created_at,
        }
    }

    /// Decodes a row selected with [`COLUMNS`].
    pub(crate) fn decode(row: &Row) -> Result<Self, StoreError> {
        // A sniper's token may be known only by its symbol or its mint (NULLs).
        let token = |symbol: &str, mint: &str, decimals: &str| -> Result<Token, StoreError> {
            let decimals =
                u8::try_from(column::<Option<i16>>(row, decimals)?.unwrap_or(0)).map_err(|e| corrupt(decimals, e))?;
            let text = |name| column::<Option<String>>(row, name).map(Option::unwrap_or_default);
            Ok(Token::stored(text(symbol)?, text(mint)?, decimals))
        };
        let order_type: &str = column(row, "order_type")?;
        let status: &str = column(row, "status")?;
        let spec = OrderSpec {
            order_type: OrderType::parse(order_type).ok_or_else(|| corrupt("order_type", order_type))?,
            token_in: token("token_in", "token_in_mint", "token_in_decimals")?,
            token_out: token("token_out", "token_out_mint", "token_out_decimals")?,
            amount_in: atoms(row, "amount_in")?.ok_or_else(|| corrupt("amount_in", "null"))?,
            slippage_bps: u16::try_from(column::<i32>(row, "slippage_bps")?).map_err(|e| corrupt("slippage_bps", e))?,
            user_id: column(row, "user_id")?,
            limit: match atoms(row, "min_amount_out")? {
                None => None,
                Some(min_amount_out) => Some(LimitTerms {
                    min_amount_out,
                    limit_price: column(row, "limit_price")?,
                    expires_at: column(row, "expires_at")?,
                }),
            },
            sniper: match order_type {
                "sniper" => Some(SniperTerms {
                    max_price: column(row, "max_price")?,
                    min_liquidity: atoms(row, "min_liquidity")?.unwrap_or(0),
                    expires_at: column(row, "expires_at")?,
                }),
                _ => None,
            },
        };
        Ok(Self {
            id: column(row, "id")?,
            account: column(row, "account")?,
            spec,
            status: OrderStatus::parse(status).ok_or_else(|| corrupt("status", status))?,
            last_seq: counter(row, "last_seq")?,
            attempts: counter(row, "attempts")?,
            route: column::<Option<Json<RouteRecord>>>(row, "route")?.map(|Json(route)| route),
            tx_hash: column(row, "tx_hash")?,
            executed_price: column(row, "executed_price")?,
            amount_out: atoms(row, "amount_out")?,
            failure: column::<Option<Json<ErrorInfo>>>(row, "error")?.map(|Json(error)| error),
            created_at: column(row, "created_at")?,
            updated_at: column(row, "updated_at")?,
        })
    }
}

/// An open order as the trigger engine holds it (see [`super::OrderStore::open_orders`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    pub id: Uuid,
    pub mint_in: String,
    pub mint_out: String,
    pub amount_in: u64,
    pub min_amount_out: u64,
    pub expires_at: DateTime<Utc>,
    pub last_seq: u32,
    /// A sniper order: the trigger engine reads its terms from PostgreSQL
    /// (`mint_out` is empty while its token is unknown, `min_amount_out` 0).
    pub sniper: bool,
}

impl OpenOrder {
    pub(crate) fn decode(row: &Row) -> Result<Self, StoreError> {
        let amount = |i: usize, name: &str| -> Result<u64, StoreError> {
            let text: &str = row.try_get(i).map_err(|e| corrupt(name, e))?;
            text.parse().map_err(|e| corrupt(name, format!("{text:?}: {e}")))
        };
        let text = |i: usize, name: &str| row.try_get::<_, String>(i).map_err(|e| corrupt(name, e));
        Ok(Self {
            id: row.try_get(0).map_err(|e| corrupt("id", e))?,
            mint_in: text(1, "token_in_mint")?,
            mint_out: text(2, "token_out_mint")?,
            amount_in: amount(3, "amount_in")?,
            min_amount_out: amount(4, "min_amount_out")?,
            expires_at: row.try_get(5).map_err(|e| corrupt("expires_at", e))?,
            last_seq: u32::try_from(row.try_get::<_, i32>(6).map_err(|e| corrupt("last_seq", e))?)
                .map_err(|e| corrupt("last_seq", e))?,
            sniper: false,
        })
    }
}

fn corrupt(name: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(format!("orders.{name}: {what}"))
}

fn column<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, StoreError> {
    row.try_get(name).map_err(|e| corrupt(name, e))
}

/// A `numeric` amount read as text, in atoms.
fn atoms(row: &Row, name: &str) -> Result<Option<u64>, StoreError> {
    column::<Option<&str>>(row, name)?
        .map(|s| s.parse::<u64>().map_err(|e| corrupt(name, format!("{s:?}: {e}"))))
        .transpose()
}

fn counter(row: &Row, name: &str) -> Result<u32, StoreError> {
    u32::try_from(column::<i32>(row, name)?).map_err(|e| corrupt(name, e))
}
