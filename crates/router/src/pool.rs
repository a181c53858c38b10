//! A venue's pool: its curve (constant product or DLMM bins).
//!
//! Everything here is a pure function of the pool's state and the time passed in,
//! so a quote is deterministic for a given state, and the shared chain can apply a
//! swap to whatever state it holds under its lock. A pool changes only through a
//! swap: outside trading is made of real transactions on the chain (the worker's
//! market simulator, see [`crate::outside`]), never applied implicitly with time.

use crate::cpmm::{self, swap_exact_in};
use crate::dlmm::{DlmmError, DlmmPool};
use crate::rate::Rate;
use oee_domain::Dex;
use serde::{Deserialize, Serialize};

/// A constant-product pool (Raydium CPMM / AMM v4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpmmPool {
    pub reserve_base: u64,
    pub reserve_quote: u64,
    pub fee_bps: u16,
}

impl CpmmPool {
    /// The base reserve (`base`) or the quote one.
    pub const fn reserve(&self, base: bool) -> u64 {
        if base { self.reserve_base } else { self.reserve_quote }
    }
}

/// How a pool prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged on purpose: an internally tagged enum buffers its content,
// which loses the string-to-integer coercion that the DLMM's bin-id map keys need.
#[serde(rename_all = "lowercase")]
pub enum Curve {
    Cpmm(CpmmPool),
    Dlmm(DlmmPool),
}

/// One pool on one venue, between a base and a quote token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Stable name, e.g. `raydium:SOL-USDC`.
    pub id: String,
    pub dex: Dex,
    pub mint_base: String,
    pub mint_quote: String,
    pub curve: Curve,
    /// The slot of the last transaction that changed this state (0: none since
    /// it was seeded): the state is current as of this slot. Kept by the ledger
    /// beside the state, not in it (`skip` leaves the stored encoding as it was).
    #[serde(skip)]
    pub slot: u64,
    /// When the pool starts trading (unix seconds), like Raydium's
    /// `open_time`: before it, it quotes and swaps nothing. `None`: always.
    #[serde(default)]
    pub open_at: Option<i64>,
}

/// The result of a swap against a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub amount_out: u64,
    /// In input atoms.
    pub fee: u64,
    pub price_impact_bps: u32,
}

/// Why a pool cannot fill a swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The pool does not hold this token.
    WrongMint,
    /// The pool cannot give anything for this input, or runs out of it.
    InsufficientLiquidity,
}

impl Pool {
    /// Whether the pool trades `a` against `b`, in either order.
    pub fn pairs(&self, a: &str, b: &str) -> bool {
        (self.mint_base == a && self.mint_quote == b) || (self.mint_base == b && self.mint_quote == a)
    }

    fn base_to_quote(&self, mint_in: &str) -> Result<bool, PoolError> {
        if mint_in == self.mint_base {
            Ok(true)
        } else if mint_in == self.mint_quote {
            Ok(false)
        } else {
            Err(PoolError::WrongMint)
        }
    }

    /// Whether a swap of `mint_in` sells base, provided the pool holds it and
    /// is open at `now` (before its open time it fills nothing).
    fn tradable(&self, mint_in: &str, now: i64) -> Result<bool, PoolError> {
        let base_in = self.base_to_quote(mint_in)?;
        if self.is_open(now) { Ok(base_in) } else { Err(PoolError::InsufficientLiquidity) }
    }

    /// Whether the pool trades at `now` (unix seconds): it has reached its open time.
    pub fn is_open(&self, now: i64) -> bool {
        self.open_at.is_none_or(|at| now >= at)
    }

    /// How many atoms of `mint` the pool holds (0 for a mint it does not hold):
    /// the reserve of a constant-product pool, the sum over a DLMM pool's bins.
    pub fn holding(&self, mint: &str) -> u64 {
        let Ok(base) = self.base_to_quote(mint) else { return 0 };
        match &self.curve {
            Curve::Cpmm(p) => p.reserve(base),
            Curve::Dlmm(p) => p.bins.values().map(|b| if base { b.x } else { b.y }).fold(0, u64::saturating_add),
        }
    }

    /// Swaps `amount_in` of `mint_in` at time `now` (unix seconds), changing the pool.
    /// On error the pool is unchanged. A pool before its open time fills nothing.
    pub fn swap(&mut self, mint_in: &str, amount_in: u64, now: i64) -> Result<Fill, PoolError> {
        let base_in = self.tradable(mint_in, now)?;
        match &mut self.curve {
            Curve::Cpmm(p) => {
                let (r_in, r_out) =
                    if base_in { (p.reserve_base, p.reserve_quote) } else { (p.reserve_quote, p.reserve_base) };
                let s = swap_exact_in(r_in, r_out, amount_in, p.fee_bps).ok_or(PoolError::InsufficientLiquidity)?;
                let r_in_after = r_in.checked_add(amount_in).ok_or(PoolError::InsufficientLiquidity)?;
                let (r_in, r_out) = if base_in {
                    (&mut p.reserve_base, &mut p.reserve_quote)
                } else {
                    (&mut p.reserve_quote, &mut p.reserve_base)
                };
                // The whole input, fee included, stays in the pool: fees accrue to liquidity.
                *r_in = r_in_after;
                *r_out -= s.amount_out;
                Ok(Fill { amount_out: s.amount_out, fee: s.fee, price_impact_bps: s.price_impact_bps })
            }
            Curve::Dlmm(p) => {
                // DlmmPool::swap simulates first and changes nothing on error: no copy needed.
                let s = p
                    .swap(base_in, amount_in, now)
                    .map_err(|DlmmError::InsufficientLiquidity| PoolError::InsufficientLiquidity)?;
                Ok(Fill { amount_out: s.amount_out, fee: s.fee, price_impact_bps: s.price_impact_bps })
            }
        }
    }

    /// What a swap would return now, without changing the pool.
    pub fn quote(&self, mint_in: &str, amount_in: u64, now: i64) -> Result<Fill, PoolError> {
        let base_in = self.tradable(mint_in, now)?;
        let fill = match &self.curve {
            Curve::Cpmm(p) => {
                let (r_in, r_out) =
                    if base_in { (p.reserve_base, p.reserve_quote) } else { (p.reserve_quote, p.reserve_base) };
                let s = swap_exact_in(r_in, r_out, amount_in, p.fee_bps).ok_or(PoolError::InsufficientLiquidity)?;
                Fill { amount_out: s.amount_out, fee: s.fee, price_impact_bps: s.price_impact_bps }
            }
            Curve::Dlmm(p) => {
                let s = p
                    .quote(base_in, amount_in, now)
                    .map_err(|DlmmError::InsufficientLiquidity| PoolError::InsufficientLiquidity)?;
                Fill { amount_out: s.amount_out, fee: s.fee, price_impact_bps: s.price_impact_bps }
            }
        };
        Ok(fill)
    }

    /// The most output per atom of `mint_in` any swap gets at `now` (see
    /// [`cpmm::marginal_rate`] and
    /// [`DlmmPool::marginal_rate`]): no quote at `now`, of any amount, returns
    /// more per atom. `None` when no swap in that direction returns anything
    /// (or the pool does not hold `mint_in`).
    pub fn marginal_rate(&self, mint_in: &str, now: i64) -> Option<Rate> {
        let base_in = self.tradable(mint_in, now).ok()?;
        match &self.curve {
            Curve::Cpmm(p) => {
                let (r_in, r_out) =
                    if base_in { (p.reserve_base, p.reserve_quote) } else { (p.reserve_quote, p.reserve_base) };
                cpmm::marginal_rate(r_in, r_out, p.fee_bps)
            }
            Curve::Dlmm(p) => p.marginal_rate(base_in, now),
        }
    }

    /// The input-side depth an outside trade is sized against, selling base
    /// (`base`) or quote: the reserve for CPMM; for DLMM the input token held
    /// within three bins of the active one (at least the active bin's).
    pub fn input_depth(&self, base: bool) -> u64 {
        match &self.curve {
            Curve::Cpmm(p) => p.reserve(base),
            Curve::Dlmm(p) => {
                // Trade against roughly one bin's worth of the opposite token.
                let bin = p.bins.get(&p.active_id).copied().unwrap_or_default();
                let around: u64 =
                    p.bins.range(p.active_id - 3..=p.active_id + 3).map(|(_, b)| if base { b.x } else { b.y }).sum();
                around.max(if base { bin.x } else { bin.y })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oee_domain::TokenRegistry;

    #[test]
    fn every_seeded_pool_round_trips_through_json() {
        let registry = TokenRegistry::default();
        for pool in crate::seed_pools(&registry, 1_800_000_000) {
            let text = serde_json::to_string(&pool).expect("serialize");
            let back: Pool = serde_json::from_str(&text).expect("deserialize");
            assert_eq!(back, pool, "{}", pool.id);
        }
    }
}
