//! What the router needs from a DEX, and why a swap can fail.
//!
//! A [`Venue`] is the DEX *program* as a client sees it: it lists pairs and hands
//! out the current state of a pair's pool (one RPC round trip), against which any
//! number of quotes can then be computed locally — which is how real aggregators
//! search split routes. Sending a transaction and asking whether it landed is the
//! network's job ([`crate::chain::Network`]), since one transaction may touch
//! several venues' pools at once.

use crate::pool::{Pool, PoolError};
use crate::rate::Rate;
use async_trait::async_trait;
use oee_domain::{Dex, FailureCode};
use std::fmt;

/// A pool snapshot taken at `now` (unix seconds), to quote against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub pool: Pool,
    pub now: i64,
}

/// What `amount_in` would buy on one venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub dex: Dex,
    pub pool_id: String,
    pub amount_in: u64,
    pub amount_out: u64,
    /// In atoms of the input token.
    pub fee: u64,
    pub price_impact_bps: u32,
}

impl Market {
    /// An exact-in quote against this snapshot. Pure: the same snapshot and amount
    /// always give the same quote.
    pub fn quote(&self, mint_in: &str, amount_in: u64) -> Result<Quote, VenueError> {
        let fill = self.pool.quote(mint_in, amount_in, self.now).map_err(|e| match e {
            PoolError::WrongMint => VenueError::NoPool { dex: self.pool.dex },
            PoolError::InsufficientLiquidity => VenueError::InsufficientLiquidity { pool: self.pool.id.clone() },
        })?;
        Ok(Quote {
            dex: self.pool.dex,
            pool_id: self.pool.id.clone(),
            amount_in,
            amount_out: fill.amount_out,
            fee: fill.fee,
            price_impact_bps: fill.price_impact_bps,
        })
    }

    /// The most output per atom of `mint_in` any quote against this snapshot
    /// returns ([`Pool::marginal_rate`]).
    pub fn marginal_rate(&self, mint_in: &str) -> Option<Rate> {
        self.pool.marginal_rate(mint_in, self.now)
    }
}

/// Transient failures a Solana client really sees; worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// The blockhash the transaction was signed with is unknown to the leader.
    BlockhashNotFound,
    /// The last valid block height passed before the transaction landed.
    BlockHeightExceeded,
    /// The RPC node did not answer in time.
    RpcTimeout,
}

impl TransientKind {
    pub const fn failure_code(self) -> FailureCode {
        match self {
            Self::BlockhashNotFound | Self::BlockHeightExceeded => FailureCode::BlockhashExpired,
            Self::RpcTimeout => FailureCode::VenueTimeout,
        }
    }
}

impl fmt::Display for TransientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BlockhashNotFound => "BlockhashNotFound: blockhash not found",
            Self::BlockHeightExceeded => {
                "TransactionExpiredBlockheightExceededError: block height exceeded before confirmation"
            }
            Self::RpcTimeout => "RPC timeout: the node did not answer in time",
        })
    }
}

/// Why a quote or a swap failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    #[error("{dex} lists no pool for this pair")]
    NoPool { dex: Dex },
    #[error("{pool} cannot fill the amount")]
    InsufficientLiquidity { pool: String },
    #[error("output {amount_out} is below the minimum {min_amount_out}")]
    SlippageExceeded { amount_out: u64, min_amount_out: u64 },
    #[error("{0}")]
    Transient(TransientKind),
    /// The simulated chain's own store failed; whether a send landed is unknown.
    #[error("the chain is unavailable: {0}")]
    Unavailable(String),
}

impl VenueError {
    /// Whether another attempt may succeed.
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Unavailable(_))
    }

    /// The code an order fails (or retries) with.
    pub const fn failure_code(&self) -> FailureCode {
        match self {
            Self::NoPool { .. } => FailureCode::NoRoute,
            Self::InsufficientLiquidity { .. } => FailureCode::InsufficientLiquidity,
            Self::SlippageExceeded { .. } => FailureCode::SlippageExceeded,
            Self::Transient(kind) => kind.failure_code(),
            Self::Unavailable(_) => FailureCode::VenueTimeout,
        }
    }
}

/// A DEX the router can quote.
#[async_trait]
pub trait Venue: Send + Sync + fmt::Debug + 'static {
    fn dex(&self) -> Dex;

    /// Whether the venue has a pool for the pair, in either direction.
    fn lists(&self, mint_a: &str, mint_b: &str) -> bool;

    /// The pair's pool as it stands now.
    async fn market(&self, mint_in: &str, mint_out: &str) -> Result<Market, VenueError>;

    /// The pair's pool as of `slot` or later ([`crate::Network::pool_since`]).
    /// By default, [`Venue::market`].
    async fn market_since(&self, mint_in: &str, mint_out: &str, slot: u64) -> Result<Market, VenueError> {
        let _ = slot;
        self.market(mint_in, mint_out).await
    }
}
