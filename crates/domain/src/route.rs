//! The route record of an order: every quote, the legs executed and why.
//!
//! This is the *formatted* record the contract shows (amounts as decimal text in
//! token units). The router keeps the integer amounts it executes with; it renders
//! this record once, when the route is chosen.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Dex {
    Raydium,
    Meteora,
}

impl Dex {
    pub const ALL: [Self; 2] = [Self::Raydium, Self::Meteora];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Raydium => "raydium",
            Self::Meteora => "meteora",
        }
    }
}

impl fmt::Display for Dex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The whole routing decision, as stored on the order and sent in `building`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteRecord {
    /// `raydium`, `meteora`, or `split` when several legs share the order.
    pub dex: String,
    pub legs: Vec<LegRecord>,
    pub quotes: Vec<QuoteRecord>,
    pub min_amount_out: String,
    pub wrap_sol: bool,
    pub unwrap_sol: bool,
    pub reason: String,
}

/// One venue's share of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LegRecord {
    pub dex: Dex,
    pub amount_in: String,
    pub amount_out: String,
    /// This leg's share of the input, in basis points (10000 = all of it).
    pub share_bps: u32,
}

/// One instruction of a built transaction, in the order it executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "instruction", rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Instruction {
    /// ComputeBudget: the compute units the transaction may use.
    #[serde(rename_all = "camelCase")]
    SetComputeUnitLimit { units: u32 },
    /// ComputeBudget: the priority fee per compute unit.
    #[serde(rename_all = "camelCase")]
    SetComputeUnitPrice { micro_lamports: u64 },
    /// Associated Token Account: create the owner's account for a token if missing.
    #[serde(rename_all = "camelCase")]
    CreateTokenAccount { token: String, mint: String },
    /// System transfer of native SOL into the wSOL account, then SyncNative.
    #[serde(rename_all = "camelCase")]
    WrapSol { amount: String },
    /// The venue's swap.
    #[serde(rename_all = "camelCase")]
    Swap { dex: Dex, pool: String, amount_in: String },
    /// Token CloseAccount on the wSOL account: native SOL back to the owner.
    UnwrapSol,
}

/// One venue's quote for the whole order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteRecord {
    pub dex: Dex,
    pub amount_out: String,
    /// The fee, in units of the input token.
    pub fee: String,
    pub price_impact_bps: u32,
    /// Units of the output token per unit of the input token.
    pub price: String,
}
