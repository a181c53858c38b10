//! The venue abstraction: what the router and worker need from a DEX.
//!
//! A venue quotes, executes a signed swap, and answers whether a transaction
//! landed. The last is what makes execution exactly-once: a transaction id is
//! deterministic per order and attempt, and a worker that is unsure whether an
//! earlier attempt landed asks before it sends another. The simulator implements
//! this trait today; a Solana RPC adapter can implement it later.

use async_trait::async_trait;
use oee_domain::{Dex, FailureCode};
use std::fmt;

/// A request for an exact-in quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest<'a> {
    pub mint_in: &'a str,
    pub mint_out: &'a str,
    pub amount_in: u64,
}

/// A venue's answer: what `amount_in` would buy now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub dex: Dex,
    pub amount_in: u64,
    pub amount_out: u64,
    /// In atoms of the input token.
    pub fee: u64,
    pub price_impact_bps: u32,
}

/// A swap to execute, with its slippage bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapRequest<'a> {
    /// Deterministic per order and attempt: sending it twice cannot land twice.
    pub tx_id: &'a str,
    pub mint_in: &'a str,
    pub mint_out: &'a str,
    pub amount_in: u64,
    pub min_amount_out: u64,
}

/// A landed swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub tx_id: String,
    pub dex: Dex,
    pub amount_in: u64,
    pub amount_out: u64,
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

/// Why a venue could not quote or execute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    #[error("{dex} lists no pool for this pair")]
    NoPool { dex: Dex },
    #[error("{dex}: the pool cannot fill {amount_in} atoms")]
    InsufficientLiquidity { dex: Dex, amount_in: u64 },
    #[error("{dex}: output {amount_out} is below the minimum {min_amount_out}")]
    SlippageExceeded { dex: Dex, amount_out: u64, min_amount_out: u64 },
    #[error("{dex}: {kind}")]
    Transient { dex: Dex, kind: TransientKind },
}

impl VenueError {
    /// Whether another attempt may succeed.
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The code an order fails (or retries) with.
    pub const fn failure_code(&self) -> FailureCode {
        match self {
            Self::NoPool { .. } => FailureCode::NoRoute,
            Self::InsufficientLiquidity { .. } => FailureCode::InsufficientLiquidity,
            Self::SlippageExceeded { .. } => FailureCode::SlippageExceeded,
            Self::Transient { kind, .. } => kind.failure_code(),
        }
    }
}

/// A DEX the router can use.
#[async_trait]
pub trait Venue: Send + Sync + fmt::Debug + 'static {
    fn dex(&self) -> Dex;

    /// Whether the venue has a pool for the pair, in either direction.
    fn lists(&self, mint_a: &str, mint_b: &str) -> bool;

    /// An exact-in quote against the pool's current state.
    async fn quote(&self, request: &QuoteRequest<'_>) -> Result<Quote, VenueError>;

    /// Sends the swap. Idempotent per `tx_id`: a transaction that already landed
    /// returns its recorded execution instead of swapping again.
    async fn execute(&self, request: &SwapRequest<'_>) -> Result<Execution, VenueError>;

    /// Whether `tx_id` landed, and with what result.
    async fn landed(&self, tx_id: &str) -> Result<Option<Execution>, VenueError>;
}
