//! Meteora-style DLMM (dynamic liquidity market maker) swap math.
//!
//! Liquidity sits in discrete price bins. Bin `i` quotes the constant price
//! `(1 + binStep/10000)^i` (units of Y atoms per X atom, Q64.64 fixed point): within
//! a bin a swap trades at that price until the bin runs dry, then walks to the next
//! bin. Bins below the active one hold only Y, bins above only X, so selling X
//! walks down and buying X walks up.
//!
//! The fee on each bin's input is a base fee plus a variable fee that grows with
//! the square of the volatility accumulator — the number of bins crossed recently,
//! measured from a reference bin — and decays once trading pauses:
//! - at least `filter_period` seconds since the last swap: the reference bin moves to
//!   the active bin and the accumulator falls to `reduction_factor` of itself;
//! - at least `decay_period` seconds: it resets to zero.
//!
//! All amounts are integers: inputs are rounded up, outputs down, so a bin's value
//! `P·x + y` never decreases.

use crate::rate::Rate;
use ethnum::U256;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fixed-point one in Q64.64.
pub const ONE: u128 = 1 << 64;
/// Fee rates are parts per billion.
pub const FEE_PRECISION: u128 = 1_000_000_000;
/// The highest total fee rate charged (10%).
pub const MAX_FEE_RATE: u128 = 100_000_000;
const BPS: u128 = 10_000;
/// A swap may cross at most this many bins before it is refused.
pub const MAX_BINS_CROSSED: u32 = 512;
/// Bin ids are bounded so prices stay representable.
pub const MAX_BIN_ID: i32 = 200_000;

/// The price of bin `id` in Q64.64: Y atoms per X atom. `None` if it under- or
/// overflows 64.64 bits.
pub fn bin_price(id: i32, bin_step: u16) -> Option<u128> {
    if id.unsigned_abs() > MAX_BIN_ID.unsigned_abs() {
        return None;
    }
    // Negative bins raise the inverse base rather than inverting the result: no
    // 256-bit division. The base's rounding (2^-64) compounds to at most ~1e-14
    // relative at bin ±200,000, far below one bin step.
    let base =
        if id >= 0 { ONE + (u128::from(bin_step) << 64) / BPS } else { (ONE * BPS) / (BPS + u128::from(bin_step)) };
    let mut price = ONE;
    let mut square = base;
    let mut exp = id.unsigned_abs();
    while exp > 0 {
        if exp & 1 == 1 {
            price = mul_q64(price, square)?;
        }
        exp >>= 1;
        if exp > 0 {
            square = mul_q64(square, square)?;
        }
    }
    Some(price).filter(|p| *p > 0)
}

/// `a · b` in Q64.64, in 128 bits when the product fits (always, for prices below
/// 2^32), else through 256 bits. `None` when the result itself overflows.
fn mul_q64(a: u128, b: u128) -> Option<u128> {
    match a.checked_mul(b) {
        Some(product) => Some(product >> 64),
        None => u128::try_from((U256::from(a) * U256::from(b)) >> 64).ok(),
    }
}

/// `ceil(a * b / c)` and `floor(a * b / c)` without overflow.
fn mul_div(a: u128, b: u128, c: u128, round_up: bool) -> Option<u128> {
    if c == 0 {
        return None;
    }
    // Most products fit in 128 bits; 256-bit division is two orders of magnitude slower.
    if let Some(product) = a.checked_mul(b) {
        return Some(if round_up { product.div_ceil(c) } else { product / c });
    }
    let product = U256::from(a) * U256::from(b);
    let c = U256::from(c);
    // a, b < 2^128, so the product is below 2^256 - 2^129 and adding c cannot overflow.
    let q = if round_up { (product + c - U256::ONE) / c } else { product / c };
    u128::try_from(q).ok()
}

/// One bin's reserves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bin {
    pub x: u64,
    pub y: u64,
}

/// Fee parameters of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeParams {
    /// Base fee, parts per billion.
    pub base_fee_ppb: u32,
    /// Scales the variable fee.
    pub variable_fee_control: u32,
    /// Cap of the volatility accumulator (in bins × 10,000).
    pub max_volatility_accumulator: u32,
    /// Seconds without swaps before the reference moves.
    pub filter_period: u32,
    /// Seconds without swaps before volatility resets.
    pub decay_period: u32,
    /// Share of volatility kept when the reference moves, in bps.
    pub reduction_factor: u16,
}

/// A DLMM pool between token X (base) and token Y (quote).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlmmPool {
    pub bin_step: u16,
    pub fees: FeeParams,
    pub active_id: i32,
    pub bins: BTreeMap<i32, Bin>,
    pub volatility_accumulator: u32,
    pub volatility_reference: u32,
    pub index_reference: i32,
    /// Unix seconds of the last swap.
    pub last_update: i64,
}

/// Where a swap stands: the active bin and the volatility state.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    active_id: i32,
    volatility_accumulator: u32,
    volatility_reference: u32,
    index_reference: i32,
}

/// A simulated swap: its result, where the cursor ends, and the bins it changes.
type Simulated = (DlmmSwap, Cursor, Vec<(i32, Bin)>);

/// What a swap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlmmSwap {
    pub amount_out: u64,
    /// Fee paid, in input atoms.
    pub fee: u64,
    pub bins_crossed: u32,
    /// Shortfall of the execution price against the starting bin's price, in bps.
    pub price_impact_bps: u32,
}

/// Why a DLMM swap cannot happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlmmError {
    /// The bins in the swap's direction run out before the input is used up, or the
    /// input buys nothing.
    InsufficientLiquidity,
}

impl DlmmPool {
    /// The variable fee rate (ppb) for a volatility accumulator.
    fn variable_fee(&self, accumulator: u32) -> u128 {
        let v = u128::from(accumulator) * u128::from(self.bin_step);
        (u128::from(self.fees.variable_fee_control) * v * v).div_ceil(100_000_000_000)
    }

    fn fee_rate_at(&self, accumulator: u32) -> u128 {
        (u128::from(self.fees.base_fee_ppb) + self.variable_fee(accumulator)).min(MAX_FEE_RATE)
    }

    /// The total fee rate (ppb) at the current volatility.
    pub fn fee_rate(&self) -> u128 {
        self.fee_rate_at(self.volatility_accumulator)
    }

    fn cursor(&self) -> Cursor {
        Cursor {
            active_id: self.active_id,
            volatility_accumulator: self.volatility_accumulator,
            volatility_reference: self.volatility_reference,
            index_reference: self.index_reference,
        }
    }

    /// The cursor a swap at `now` starts from: a pause in trading moves the
    /// reference and lets volatility decay.
    fn cursor_at(&self, now: i64) -> Cursor {
        let mut c = self.cursor();
        let elapsed = now.saturating_sub(self.last_update);
        if elapsed >= i64::from(self.fees.filter_period) {
            c.index_reference = c.active_id;
            c.volatility_reference = if elapsed < i64::from(self.fees.decay_period) {
                u32::try_from(u128::from(c.volatility_accumulator) * u128::from(self.fees.reduction_factor) / BPS)
                    .unwrap_or(u32::MAX)
            } else {
                0
            };
        }
        c
    }

    /// The volatility accumulator `distance` bins away from the reference.
    fn accumulator(&self, c: &Cursor, distance: u32) -> u32 {
        let distance = u128::from(distance) * BPS;
        u32::try_from(
            (u128::from(c.volatility_reference) + distance).min(u128::from(self.fees.max_volatility_accumulator)),
        )
        .unwrap_or(u32::MAX)
    }

    /// The most output per input atom any swap gets at `now`; `None` when the
    /// active bin holds nothing to give (a swap then returns nothing at all).
    ///
    /// Within a bin, a swap gets at most the bin's price after the bin's fee
    /// (the fee is rounded up, the output down). A larger swap walks on to bins
    /// with worse prices, so the bound is the higher of the active bin's rate
    /// and the next bin's price after the lowest fee any further bin can charge:
    /// walking *towards* the reference bin lowers the volatility accumulator, so
    /// a further bin's fee may be below the active one's.
    pub fn marginal_rate(&self, x_to_y: bool, now: i64) -> Option<Rate> {
        let c = self.cursor_at(now);
        let active = self.bins.get(&c.active_id)?;
        if (if x_to_y { active.y } else { active.x }) == 0 {
            return None;
        }
        let fee = self.fee_rate_at(self.accumulator(&c, c.index_reference.abs_diff(c.active_id)));
        let here = self.bin_rate(c.active_id, fee, x_to_y)?;
        let beyond = self
            .next_bin(c.active_id, x_to_y)
            .filter(|id| id.abs_diff(c.active_id) <= MAX_BINS_CROSSED)
            .and_then(|next| {
                // The nearest any bin from `next` on (in the swap's direction) comes to the reference.
                let towards = if x_to_y { c.index_reference <= next } else { c.index_reference >= next };
                let nearest = if towards { 0 } else { c.index_reference.abs_diff(next) };
                self.bin_rate(next, self.fee_rate_at(self.accumulator(&c, nearest)), x_to_y)
            });
        Some(beyond.map_or(here, |beyond| here.max(beyond)))
    }

    /// Bin `id`'s price after a fee of `fee` ppb, in the swap's direction.
    fn bin_rate(&self, id: i32, fee: u128, x_to_y: bool) -> Option<Rate> {
        let price = U256::from(bin_price(id, self.bin_step)?);
        let kept = U256::from(FEE_PRECISION.saturating_sub(fee));
        let precision = U256::from(FEE_PRECISION);
        let one = U256::from(ONE);
        Some(if x_to_y {
            Rate::at_least(price * kept, one * precision)
        } else {
            Rate::at_least(one * kept, price * precision)
        })
    }

    /// The next bin id with liquidity to give out in the swap's direction.
    fn next_bin(&self, from: i32, x_to_y: bool) -> Option<i32> {
        if x_to_y {
            self.bins.range(..from).rev().find(|(_, b)| b.y > 0).map(|(id, _)| *id)
        } else {
            self.bins.range(from + 1..).find(|(_, b)| b.x > 0).map(|(id, _)| *id)
        }
    }

    /// Runs a swap without changing the pool: returns what it does, where the cursor
    /// ends, and the bins it changes (each visited once, walking one way).
    fn simulate(&self, x_to_y: bool, amount_in: u64, now: i64) -> Result<Simulated, DlmmError> {
        let mut c = self.cursor_at(now);
        let start_id = c.active_id;
        let start_price = bin_price(start_id, self.bin_step).ok_or(DlmmError::InsufficientLiquidity)?;
        let mut changed = Vec::new();
        let mut remaining = u128::from(amount_in);
        let (mut out, mut fees) = (0u128, 0u128);
        while remaining > 0 {
            c.volatility_accumulator = self.accumulator(&c, c.index_reference.abs_diff(c.active_id));
            let rate = self.fee_rate_at(c.volatility_accumulator);
            let price = bin_price(c.active_id, self.bin_step).ok_or(DlmmError::InsufficientLiquidity)?;
            let mut bin = self.bins.get(&c.active_id).copied().unwrap_or_default();
            let available = u128::from(if x_to_y { bin.y } else { bin.x });
            // Net input that would take the whole bin, rounded up in the pool's favour.
            let full_net =
                if x_to_y { mul_div(available, ONE, price, true) } else { mul_div(available, price, ONE, true) }
                    .ok_or(DlmmError::InsufficientLiquidity)?;
            let full_gross =
                mul_div(full_net, FEE_PRECISION, FEE_PRECISION - rate, true).ok_or(DlmmError::InsufficientLiquidity)?;
            let (gross, fee, got) = if available > 0 && remaining >= full_gross {
                (full_gross, full_gross - full_net, available)
            } else {
                let fee = mul_div(remaining, rate, FEE_PRECISION, true).ok_or(DlmmError::InsufficientLiquidity)?;
                let net = remaining - fee.min(remaining);
                let got = if x_to_y { mul_div(net, price, ONE, false) } else { mul_div(net, ONE, price, false) }
                    .ok_or(DlmmError::InsufficientLiquidity)?
                    .min(available);
                (remaining, fee.min(remaining), got)
            };
            // The whole input (fee included) stays in the bin: fees accrue to liquidity.
            let (bin_in, bin_out) = if x_to_y { (&mut bin.x, &mut bin.y) } else { (&mut bin.y, &mut bin.x) };
            *bin_in = bin_in
                .checked_add(u64::try_from(gross).map_err(|_| DlmmError::InsufficientLiquidity)?)
                .ok_or(DlmmError::InsufficientLiquidity)?;
            *bin_out -= u64::try_from(got).map_err(|_| DlmmError::InsufficientLiquidity)?;
            changed.push((c.active_id, bin));
            remaining -= gross;
            out += got;
            fees += fee;
            if remaining > 0 {
                c.active_id = self.next_bin(c.active_id, x_to_y).ok_or(DlmmError::InsufficientLiquidity)?;
                if c.active_id.abs_diff(start_id) > MAX_BINS_CROSSED {
                    return Err(DlmmError::InsufficientLiquidity);
                }
            }
        }
        if out == 0 {
            return Err(DlmmError::InsufficientLiquidity);
        }
        let net_in = u128::from(amount_in) - fees;
        let spot =
            if x_to_y { mul_div(net_in, start_price, ONE, false) } else { mul_div(net_in, ONE, start_price, false) }
                .unwrap_or(0);
        let impact = ((spot.saturating_sub(out)) * BPS).checked_div(spot).unwrap_or(0);
        let swap = DlmmSwap {
            amount_out: u64::try_from(out).map_err(|_| DlmmError::InsufficientLiquidity)?,
            fee: u64::try_from(fees).map_err(|_| DlmmError::InsufficientLiquidity)?,
            bins_crossed: c.active_id.abs_diff(start_id),
            price_impact_bps: u32::try_from(impact).unwrap_or(u32::MAX),
        };
        Ok((swap, c, changed))
    }

    /// Swaps `amount_in` of X for Y (`x_to_y`) or Y for X at time `now`. On error
    /// the pool is unchanged.
    pub fn swap(&mut self, x_to_y: bool, amount_in: u64, now: i64) -> Result<DlmmSwap, DlmmError> {
        let (swap, cursor, changed) = self.simulate(x_to_y, amount_in, now)?;
        self.active_id = cursor.active_id;
        self.volatility_accumulator = cursor.volatility_accumulator;
        self.volatility_reference = cursor.volatility_reference;
        self.index_reference = cursor.index_reference;
        self.last_update = now;
        self.bins.extend(changed);
        Ok(swap)
    }

    /// What a swap would do now, without changing (or copying) the pool.
    pub fn quote(&self, x_to_y: bool, amount_in: u64, now: i64) -> Result<DlmmSwap, DlmmError> {
        self.simulate(x_to_y, amount_in, now).map(|(swap, _, _)| swap)
    }

    /// The value of everything in the pool, in Y atoms at each bin's own price.
    pub fn value_in_y(&self) -> u128 {
        self.bins
            .iter()
            .map(|(id, b)| {
                let p = bin_price(*id, self.bin_step).unwrap_or(0);
                mul_div(u128::from(b.x), p, ONE, false).unwrap_or(0) + u128::from(b.y)
            })
            .sum()
    }

    /// The bin whose price is closest below `num / den` (Y atoms per X atom).
    pub fn bin_for_price(num: u128, den: u128, bin_step: u16) -> Option<i32> {
        let target = mul_div(num, ONE, den, false)?;
        // Unrepresentably small prices count as below any target.
        let at_or_below = |id: i32| bin_price(id, bin_step).map_or(id < 0, |p| p <= target);
        // Bracket the answer by doubling steps away from bin 0: `lo` qualifies, `hi` does not.
        let (mut lo, mut hi) = if at_or_below(0) {
            let (mut lo, mut step) = (0i32, 1i32);
            loop {
                let next = lo.saturating_add(step).min(MAX_BIN_ID);
                if next == lo {
                    return None;
                }
                if at_or_below(next) {
                    lo = next;
                    step = step.saturating_mul(2);
                } else {
                    break (lo, next);
                }
            }
        } else {
            let (mut hi, mut step) = (0i32, 1i32);
            loop {
                let next = hi.saturating_sub(step).max(-MAX_BIN_ID);
                if next == hi {
                    return None;
                }
                if at_or_below(next) {
                    break (next, hi);
                }
                hi = next;
                step = step.saturating_mul(2);
            }
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if at_or_below(mid) { lo = mid } else { hi = mid }
        }
        bin_price(lo, bin_step)?;
        Some(lo)
    }

    /// A pool centred on `active_id`, with `depth_y` Y atoms spread over the active
    /// bin and `side` bins below, and `depth_x` X atoms over the active bin and
    /// `side` bins above, more of it near the active bin (linearly tapering).
    pub fn seeded(
        bin_step: u16,
        fees: FeeParams,
        active_id: i32,
        side: u32,
        depth_x: u64,
        depth_y: u64,
        now: i64,
    ) -> Self {
        let side_i = i32::try_from(side).unwrap_or(i32::MAX);
        let weights: u128 = (1..=u128::from(side) + 1).sum();
        let mut bins = BTreeMap::new();
        for k in 0..=side_i {
            let weight = u128::from(side + 1 - k.unsigned_abs());
            let share = |depth: u64| u64::try_from(u128::from(depth) * weight / weights).unwrap_or(0);
            // The active bin holds half a share of each token.
            let (x, y) =
                if k == 0 { (share(depth_x) / 2, share(depth_y) / 2) } else { (share(depth_x), share(depth_y)) };
            bins.entry(active_id + k).or_insert_with(Bin::default).x += x;
            bins.entry(active_id - k).or_insert_with(Bin::default).y += y;
        }
        Self {
            bin_step,
            fees,
            active_id,
            bins,
            volatility_accumulator: 0,
            volatility_reference: 0,
            index_reference: active_id,
            last_update: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FEES: FeeParams = FeeParams {
        base_fee_ppb: 2_000_000, // 0.2%
        variable_fee_control: 40_000,
        max_volatility_accumulator: 350_000,
        filter_period: 10,
        decay_period: 120,
        reduction_factor: 5_000,
    };

    /// SOL/USDC around 150 USDC per SOL: 0.15 micro-USDC per lamport.
    fn sol_usdc() -> DlmmPool {
        let id = DlmmPool::bin_for_price(15, 100, 10).expect("bin");
        DlmmPool::seeded(10, FEES, id, 100, 100_000_000_000_000, 15_000_000_000_000, 1_000)
    }

    #[test]
    fn bin_prices_follow_the_formula() {
        assert_eq!(bin_price(0, 25), Some(ONE));
        let p1 = bin_price(1, 25).expect("p1");
        assert_eq!(p1, ONE + ONE / 400);
        let p100 = bin_price(100, 25).expect("p100") as f64 / ONE as f64;
        assert!((p100 - 1.0025f64.powi(100)).abs() < 1e-9, "{p100}");
        let pm100 = bin_price(-100, 25).expect("p-100") as f64 / ONE as f64;
        assert!((pm100 - 1.0025f64.powi(-100)).abs() < 1e-9, "{pm100}");
        let id = DlmmPool::bin_for_price(15, 100, 10).expect("bin");
        let below = bin_price(id, 10).expect("price");
        let above = bin_price(id + 1, 10).expect("price");
        let target = (15u128 << 64) / 100;
        assert!(below <= target && target < above);
    }

    #[test]
    fn a_small_swap_stays_in_the_active_bin_at_its_price() {
        let pool = sol_usdc();
        let s = pool.quote(true, 1_000_000, 1_000).expect("quote"); // 0.001 SOL
        assert_eq!(s.bins_crossed, 0);
        assert_eq!(s.fee, 2_000); // 0.2% rounded up
        let price = bin_price(pool.active_id, 10).expect("price");
        assert_eq!(u128::from(s.amount_out), mul_div(998_000, price, ONE, false).expect("out"));
    }

    #[test]
    fn a_large_swap_walks_bins_and_pays_a_growing_fee() {
        let mut pool = sol_usdc();
        let small = pool.quote(true, 1_000_000_000, 1_000).expect("small");
        let big = pool.swap(true, 20_000_000_000_000, 1_000).expect("big"); // 20,000 SOL
        assert!(big.bins_crossed > 5, "{big:?}");
        assert!(big.price_impact_bps > small.price_impact_bps);
        // The variable fee now applies to the next swap.
        assert!(pool.fee_rate() > u128::from(FEES.base_fee_ppb));
        // Right after, a small swap pays the variable fee too; after the decay period
        // it pays the base fee alone again (0.2% of 0.001 SOL = 2,000 lamports).
        assert!(pool.quote(true, 1_000_000, 1_001).expect("soon").fee > 2_000);
        assert_eq!(pool.quote(true, 1_000_000, 1_000 + 400).expect("later").fee, 2_000);
    }

    #[test]
    fn liquidity_runs_out() {
        let pool = sol_usdc();
        assert_eq!(pool.quote(true, u64::MAX / 2, 1_000), Err(DlmmError::InsufficientLiquidity));
        assert_eq!(pool.quote(true, 1, 1_000), Err(DlmmError::InsufficientLiquidity), "one lamport buys nothing");
    }

    /// Walking back towards the reference bin, the fee can fall faster than the
    /// price worsens: then a swap larger than the active bin gets more per atom
    /// than the active bin's own rate, and the marginal rate must count the bins
    /// beyond it.
    #[test]
    fn the_marginal_rate_counts_a_lower_fee_beyond_the_active_bin() {
        let fees = FeeParams { base_fee_ppb: 1_000_000, variable_fee_control: 2_000_000, ..FEES };
        let id = DlmmPool::bin_for_price(15, 100, 100).expect("bin");
        let mut pool = DlmmPool::seeded(100, fees, id, 60, 100_000_000_000_000, 15_000_000_000_000, 1_000);
        pool.swap(true, 2_000_000_000_000, 1_000).expect("walks down");
        assert!(pool.active_id < pool.index_reference, "the reference stays above");
        let now = 1_001; // within the filter period: the accumulator is kept
        let c = pool.cursor_at(now);
        let fee = pool.fee_rate_at(pool.accumulator(&c, c.index_reference.abs_diff(c.active_id)));
        let active_only = pool.bin_rate(pool.active_id, fee, false).expect("rate");
        let marginal = pool.marginal_rate(false, now).expect("rate");
        assert!(marginal > active_only);
        let rates: Vec<Rate> = (0..14)
            .filter_map(|exp| {
                let amount = 10u64.pow(exp);
                pool.quote(false, amount, now).ok().and_then(|s| Rate::of(s.amount_out, amount))
            })
            .collect();
        assert!(rates.iter().any(|r| *r > active_only), "some swap beats the active bin alone");
        assert!(rates.iter().all(|r| *r <= marginal));
    }

    proptest! {
        #[test]
        fn value_never_decreases_and_output_is_bounded(x_to_y: bool, amount in 1u64..5_000_000_000_000u64) {
            let pool = sol_usdc();
            let mut after = pool.clone();
            if let Ok(s) = after.swap(x_to_y, amount, 1_000) {
                let reserve_out: u64 = pool.bins.values().map(|b| if x_to_y { b.y } else { b.x }).sum();
                prop_assert!(s.amount_out <= reserve_out);
                prop_assert!(s.fee <= amount);
                // Valued at each bin's price, liquidity never loses: the trader pays at least the bin price.
                // (Each bin's value is floored once when summed, hence the slack of one atom per bin.)
                let slack = pool.bins.len() as u128;
                prop_assert!(after.value_in_y() + slack >= pool.value_in_y());
            }
        }

        #[test]
        fn output_is_monotonic_in_input(x_to_y: bool, a in 1u64..1_000_000_000_000u64, b in 1u64..1_000_000_000_000u64) {
            let pool = sol_usdc();
            let (lo, hi) = (a.min(b), a.max(b));
            let out = |n| pool.quote(x_to_y, n, 1_000).map_or(0, |s| s.amount_out);
            prop_assert!(out(lo) <= out(hi));
        }

        /// No swap, of any size, in either direction, returns more per input atom
        /// than the marginal rate: whatever the fees, after a first swap has moved
        /// the active bin away from the reference (walking back towards it lowers
        /// the fee bin by bin), and across the filter and decay periods.
        #[test]
        fn no_swap_beats_the_marginal_rate(
            bin_step in 1u16..=100,
            base_fee_ppb in 0u32..20_000_000,
            variable_fee_control in 0u32..2_000_000,
            first_x_to_y: bool,
            first in 0u64..30_000_000_000_000,
            wait in prop_oneof![0i64..10, 10i64..200],
            x_to_y: bool,
            mantissa in 1u64..1_000,
            exp in 0u32..15,
        ) {
            let fees = FeeParams { base_fee_ppb, variable_fee_control, ..FEES };
            let id = DlmmPool::bin_for_price(15, 100, bin_step).expect("bin");
            let mut pool = DlmmPool::seeded(bin_step, fees, id, 60, 100_000_000_000_000, 15_000_000_000_000, 1_000);
            let _ = pool.swap(first_x_to_y, first, 1_000);
            let amount = mantissa * 10u64.pow(exp);
            if let Ok(s) = pool.quote(x_to_y, amount, 1_000 + wait) {
                let rate = pool.marginal_rate(x_to_y, 1_000 + wait).expect("a swap that returns something has a rate");
                prop_assert!(Rate::of(s.amount_out, amount).expect("rate") <= rate, "{s:?} beats {rate:?}");
            }
        }

        #[test]
        fn quoting_is_deterministic(x_to_y: bool, amount in 1u64..1_000_000_000_000u64) {
            let pool = sol_usdc();
            prop_assert_eq!(pool.quote(x_to_y, amount, 1_000), pool.quote(x_to_y, amount, 1_000));
        }
    }
}
