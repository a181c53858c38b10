//! The simulated chain: pool state and the transaction ledger, shared by every
//! worker process.
//!
//! A [`Transaction`] carries every leg of an order (one leg, or one per venue for a
//! split) and one bound on their total output. [`apply`] executes it against the
//! pools' *current* state: all legs land together or none does, and a total below
//! `min_amount_out` fails with `SlippageExceeded`. A [`Ledger`] backend supplies the
//! locking and storage — in memory here for tests and benchmarks, in PostgreSQL for
//! the running engine — and records a [`Receipt`] per transaction id, so sending
//! the same id again returns the recorded result instead of swapping twice.
//!
//! This module is the ledger alone: how the chain is reached (latency, failures,
//! caching) is [`crate::network`]'s concern and the simulator's ([`crate::rpc`]).

use crate::pool::{Pool, PoolError};
use crate::venue::{TransientKind, VenueError};
use async_trait::async_trait;
use oee_domain::{Dex, Instruction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// One swap of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwapLeg {
    pub pool_id: String,
    pub mint_in: String,
    pub amount_in: u64,
}

/// A signed transaction, as far as the simulation cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Deterministic per order and attempt.
    pub id: String,
    pub legs: Vec<SwapLeg>,
    /// The least total output of all legs together.
    pub min_amount_out: u64,
    /// Unix seconds after which it can no longer land (its blockhash has expired).
    pub valid_until: i64,
    pub instructions: Vec<Instruction>,
}

/// One leg as it landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegFill {
    pub pool_id: String,
    pub dex: Dex,
    pub mint_in: String,
    pub amount_in: u64,
    pub amount_out: u64,
}

/// A landed transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub tx_id: String,
    /// Position in the chain's total order of landed transactions.
    pub slot: u64,
    /// Unix seconds at which it landed.
    pub landed_at: i64,
    pub legs: Vec<LegFill>,
}

impl Receipt {
    pub fn amount_in(&self) -> u64 {
        self.legs.iter().map(|l| l.amount_in).sum()
    }

    pub fn amount_out(&self) -> u64 {
        self.legs.iter().map(|l| l.amount_out).sum()
    }

    /// `raydium`, `meteora`, or `split` when the legs used several venues.
    pub fn dex_label(&self) -> &'static str {
        match self.legs.as_slice() {
            [one] => one.dex.as_str(),
            _ => "split",
        }
    }
}

/// Executes `tx` at `now` against `pools` (the current state of every pool it
/// names), changing them only if the whole transaction succeeds. `slot` is the
/// number the ledger gives it; the pools it changed carry it as their
/// [`Pool::slot`].
pub fn apply(pools: &mut [Pool], tx: &Transaction, now: i64, slot: u64) -> Result<Receipt, VenueError> {
    if now > tx.valid_until {
        return Err(VenueError::Transient(TransientKind::BlockHeightExceeded));
    }
    let mut next: Vec<Pool> = pools.to_vec();
    let mut legs = Vec::with_capacity(tx.legs.len());
    for leg in &tx.legs {
        let pool = next
            .iter_mut()
            .find(|p| p.id == leg.pool_id)
            .ok_or_else(|| VenueError::InsufficientLiquidity { pool: leg.pool_id.clone() })?;
        let fill = pool.swap(&leg.mint_in, leg.amount_in, now).map_err(|e| match e {
            PoolError::WrongMint => VenueError::NoPool { dex: pool.dex },
            PoolError::InsufficientLiquidity => VenueError::InsufficientLiquidity { pool: pool.id.clone() },
        })?;
        legs.push(LegFill {
            pool_id: pool.id.clone(),
            dex: pool.dex,
            mint_in: leg.mint_in.clone(),
            amount_in: leg.amount_in,
            amount_out: fill.amount_out,
        });
    }
    let receipt = Receipt { tx_id: tx.id.clone(), slot, landed_at: now, legs };
    if receipt.amount_out() < tx.min_amount_out {
        return Err(VenueError::SlippageExceeded {
            amount_out: receipt.amount_out(),
            min_amount_out: tx.min_amount_out,
        });
    }
    for pool in &mut next {
        pool.slot = slot;
    }
    pools.clone_from_slice(&next);
    Ok(receipt)
}

/// Where the chain's state lives. Implementations make [`apply`] atomic and
/// durable; they hold no swap logic of their own.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug + 'static {
    /// Adds pools that do not exist yet; existing ones are left as they are.
    async fn seed(&self, pools: Vec<Pool>) -> Result<(), VenueError>;

    /// The current state of the named pools (missing ids are skipped).
    async fn pools(&self, ids: &[String]) -> Result<Vec<Pool>, VenueError>;

    /// Lands `tx` atomically at `now`, or returns the receipt it already has.
    async fn commit(&self, tx: &Transaction, now: i64) -> Result<Landed, VenueError>;

    /// The receipt of `tx_id`, if it landed.
    async fn receipt(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError>;
}

/// A landed transaction: its receipt, and the state its pools were left in
/// (empty when it had landed before and this commit changed nothing).
#[derive(Debug, Clone)]
pub struct Landed {
    pub receipt: Receipt,
    pub pools: Vec<Pool>,
}

/// A ledger in this process's memory: for tests, benchmarks and a single worker.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    pools: HashMap<String, Pool>,
    receipts: HashMap<String, Receipt>,
    slot: u64,
}

impl MemoryLedger {
    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // `apply` changes state only after it has fully succeeded, so poison is benign.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every receipt, in slot order.
    pub fn receipts(&self) -> Vec<Receipt> {
        let mut all: Vec<Receipt> = self.state().receipts.values().cloned().collect();
        all.sort_by_key(|r| r.slot);
        all
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn seed(&self, pools: Vec<Pool>) -> Result<(), VenueError> {
        let mut state = self.state();
        for pool in pools {
            state.pools.entry(pool.id.clone()).or_insert(pool);
        }
        Ok(())
    }

    async fn pools(&self, ids: &[String]) -> Result<Vec<Pool>, VenueError> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.pools.get(id).cloned()).collect())
    }

    async fn commit(&self, tx: &Transaction, now: i64) -> Result<Landed, VenueError> {
        let mut guard = self.state();
        let state = &mut *guard;
        if let Some(done) = state.receipts.get(&tx.id) {
            return Ok(Landed { receipt: done.clone(), pools: Vec::new() });
        }
        let mut pools: Vec<Pool> = Vec::new();
        for leg in &tx.legs {
            if !pools.iter().any(|p| p.id == leg.pool_id) {
                let pool = state.pools.get(&leg.pool_id).cloned();
                pools.push(pool.ok_or_else(|| VenueError::InsufficientLiquidity { pool: leg.pool_id.clone() })?);
            }
        }
        let receipt = apply(&mut pools, tx, now, state.slot + 1)?;
        state.slot += 1;
        for pool in &pools {
            state.pools.insert(pool.id.clone(), pool.clone());
        }
        state.receipts.insert(tx.id.clone(), receipt.clone());
        Ok(Landed { receipt, pools })
    }

    async fn receipt(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError> {
        Ok(self.state().receipts.get(tx_id).cloned())
    }
}

/// Replays receipts (in slot order) on `pools`, checking each leg gives the output
/// its receipt records. Used to verify a ledger: replaying everything it landed on
/// the starting pools must reproduce its current pools exactly, slots included.
pub fn replay(mut pools: Vec<Pool>, receipts: &[Receipt]) -> Result<Vec<Pool>, String> {
    let mut ordered: Vec<&Receipt> = receipts.iter().collect();
    ordered.sort_by_key(|r| r.slot);
    for r in ordered {
        for leg in &r.legs {
            let pool =
                pools.iter_mut().find(|p| p.id == leg.pool_id).ok_or_else(|| format!("no pool {}", leg.pool_id))?;
            let fill =
                pool.swap(&leg.mint_in, leg.amount_in, r.landed_at).map_err(|e| format!("slot {}: {e:?}", r.slot))?;
            if fill.amount_out != leg.amount_out {
                return Err(format!("slot {}: replayed {} but landed {}", r.slot, fill.amount_out, leg.amount_out));
            }
            pool.slot = r.slot;
        }
    }
    Ok(pools)
}
