//! A venue's pool: its curve (constant product or DLMM bins), and the simulated
//! outside trading that makes its price drift.
//!
//! Everything here is a pure function of the pool's state and the time passed in,
//! so a quote is deterministic for a given state, and the shared chain can apply a
//! swap to whatever state it holds under its lock.

use crate::cpmm::{self, swap_exact_in};
use crate::dlmm::{DlmmError, DlmmPool};
use crate::rate::Rate;
use oee_domain::Dex;
use serde::{Deserialize, Serialize};

/// Seconds between two simulated outside trades on a pool.
pub const DRIFT_PERIOD_SECS: i64 = 5;
/// At most this many missed outside trades are replayed at once; after a long
/// pause the pool simply resumes from where it stood.
const MAX_DRIFT_STEPS: i64 = 120;
/// An outside trade is up to this share of the input-side reserve, in bps.
const DRIFT_MAX_BPS: u64 = 15;

/// A constant-product pool (Raydium CPMM / AMM v4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpmmPool {
    pub reserve_base: u64,
    pub reserve_quote: u64,
    pub fee_bps: u16,
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
    /// The last drift period applied (unix seconds / period).
    pub drift_epoch: i64,
    /// The slot of the last transaction that changed this state (0: none since
    /// it was seeded): the state is current as of this slot. Kept by the ledger
    /// beside the state, not in it (`skip` leaves the stored encoding as it was).
    #[serde(skip)]
    pub slot: u64,
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

    /// Swaps `amount_in` of `mint_in` at time `now` (unix seconds), changing the pool.
    /// On error the pool is unchanged.
    pub fn swap(&mut self, mint_in: &str, amount_in: u64, now: i64) -> Result<Fill, PoolError> {
        let base_in = self.base_to_quote(mint_in)?;
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
        if self.drift_epoch < now.div_euclid(DRIFT_PERIOD_SECS) {
            // Outside trading happened since this state: quote against its result.
            let mut current = self.clone();
            current.drift_to(now);
            return current.quote(mint_in, amount_in, now);
        }
        let base_in = self.base_to_quote(mint_in)?;
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
        if self.drift_epoch < now.div_euclid(DRIFT_PERIOD_SECS) {
            // As for a quote: outside trading happened since this state.
            let mut current = self.clone();
            current.drift_to(now);
            return current.marginal_rate(mint_in, now);
        }
        let base_in = self.base_to_quote(mint_in).ok()?;
        match &self.curve {
            Curve::Cpmm(p) => {
                let (r_in, r_out) =
                    if base_in { (p.reserve_base, p.reserve_quote) } else { (p.reserve_quote, p.reserve_base) };
                cpmm::marginal_rate(r_in, r_out, p.fee_bps)
            }
            Curve::Dlmm(p) => p.marginal_rate(base_in, now),
        }
    }

    /// Applies the outside trading that happened up to `now`: one pseudo-random
    /// trade per period, derived from the pool id and the period alone, so every
    /// process that brings a pool up to date brings it to the same state.
    pub fn drift_to(&mut self, now: i64) {
        let epoch = now.div_euclid(DRIFT_PERIOD_SECS);
        if epoch <= self.drift_epoch {
            return;
        }
        let first = (self.drift_epoch + 1).max(epoch - MAX_DRIFT_STEPS + 1);
        for e in first..=epoch {
            let r = mix(fnv(&self.id) ^ e.cast_unsigned());
            let base_in = r & 1 == 1;
            let bps = (r >> 1) % (DRIFT_MAX_BPS + 1);
            let reserve_in = self.reserve_of(base_in);
            let amount = u64::try_from(u128::from(reserve_in) * u128::from(bps) / 10_000).unwrap_or(0);
            let mint = if base_in { self.mint_base.clone() } else { self.mint_quote.clone() };
            if amount > 0 {
                // An outside trade that cannot fill simply does not happen.
                let _ = self.swap(&mint, amount, e * DRIFT_PERIOD_SECS);
            }
        }
        self.drift_epoch = epoch;
    }

    /// Input-side depth used to size outside trades: reserves for CPMM, the active
    /// bin's side for DLMM.
    fn reserve_of(&self, base: bool) -> u64 {
        match &self.curve {
            Curve::Cpmm(p) => {
                if base {
                    p.reserve_base
                } else {
                    p.reserve_quote
                }
            }
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

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// splitmix64: a fast, well-mixed hash of a counter.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
