//! Constant-product (x·y = k) swap math on integer reserves.
//!
//! The fee is taken from the input and rounded *up*, the output is rounded *down*:
//! every rounding favours the pool, so `k` never decreases.

use crate::rate::Rate;

/// One exact-in swap against a constant-product pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpmmSwap {
    /// Output atoms the trader receives.
    pub amount_out: u64,
    /// Input atoms kept by the pool as its fee.
    pub fee: u64,
    /// How far the execution price is below the spot price, in basis points.
    pub price_impact_bps: u32,
}

const BPS: u128 = 10_000;

/// Quotes `amount_in` of the input token against reserves `(reserve_in, reserve_out)`
/// with a fee of `fee_bps`. `None` when the pool is empty or the output would be
/// zero.
pub fn swap_exact_in(reserve_in: u64, reserve_out: u64, amount_in: u64, fee_bps: u16) -> Option<CpmmSwap> {
    if reserve_in == 0 || reserve_out == 0 || amount_in == 0 {
        return None;
    }
    let (x, y, dx) = (u128::from(reserve_in), u128::from(reserve_out), u128::from(amount_in));
    let fee = (dx * u128::from(fee_bps)).div_ceil(BPS);
    let net = dx - fee;
    // out = floor(net * y / (x + net)) < y, so it always fits in u64.
    let out = net * y / (x + net);
    if out == 0 {
        return None;
    }
    // Spot output with no impact: net * y / x. Impact = 1 - out / spot.
    let spot = net * y / x;
    let impact = ((spot - out.min(spot)) * BPS).checked_div(spot).unwrap_or(0);
    Some(CpmmSwap {
        amount_out: u64::try_from(out).ok()?,
        fee: u64::try_from(fee).ok()?,
        price_impact_bps: u32::try_from(impact).unwrap_or(u32::MAX),
    })
}

/// The most output per input atom any swap gets now: the spot price after the
/// fee, `reserve_out · (10000 − fee_bps) / (reserve_in · 10000)`. A swap's
/// output, `net · y / (x + net)` with `net ≤ amount_in · (10000 − fee_bps) /
/// 10000` (the fee is rounded up), is below `net · y / x`, so no amount does
/// better. `None` when the pool is empty.
pub fn marginal_rate(reserve_in: u64, reserve_out: u64, fee_bps: u16) -> Option<Rate> {
    if reserve_in == 0 || reserve_out == 0 {
        return None;
    }
    let kept = BPS.saturating_sub(u128::from(fee_bps));
    Rate::new(u128::from(reserve_out) * kept, u128::from(reserve_in) * BPS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_the_formula_by_hand() {
        // 1 SOL into 1,000 SOL / 150,000 USDC at 25 bps.
        let s = swap_exact_in(1_000_000_000_000, 150_000_000_000, 1_000_000_000, 25).expect("quote");
        assert_eq!(s.fee, 2_500_000);
        let net: u128 = 997_500_000;
        assert_eq!(u128::from(s.amount_out), net * 150_000_000_000 / (1_000_000_000_000 + net));
        assert_eq!(s.price_impact_bps, 9);
    }

    #[test]
    fn fee_rounds_up() {
        assert_eq!(swap_exact_in(1_000_000, 1_000_000, 1, 25).map(|s| s.fee), None);
        assert_eq!(swap_exact_in(1_000_000_000, 1_000_000_000, 401, 25).map(|s| s.fee), Some(2));
    }

    proptest! {
        #[test]
        fn output_is_bounded_and_k_never_decreases(x in 1u64..1u64 << 62, y in 1u64..1u64 << 62, dx in 1u64..1u64 << 62, fee in 0u16..1000) {
            if let Some(s) = swap_exact_in(x, y, dx, fee) {
                prop_assert!(s.amount_out < y);
                prop_assert!(s.fee <= dx, "the fee is part of the input");
                prop_assert!(u128::from(s.fee) * 10_000 >= u128::from(dx) * u128::from(fee), "never undercharged");
                let k_before = u128::from(x) * u128::from(y);
                let k_after = (u128::from(x) + u128::from(dx)) * u128::from(y - s.amount_out);
                prop_assert!(k_after >= k_before);
            }
        }

        #[test]
        fn output_is_monotonic_in_input(x in 1_000u64..1u64 << 50, y in 1_000u64..1u64 << 50, a in 1u64..1u64 << 40, b in 1u64..1u64 << 40, fee in 0u16..1000) {
            let (lo, hi) = (a.min(b), a.max(b));
            let out = |dx| swap_exact_in(x, y, dx, fee).map_or(0, |s| s.amount_out);
            prop_assert!(out(lo) <= out(hi));
        }

        /// No amount returns more per input atom than the marginal rate.
        #[test]
        fn no_swap_beats_the_marginal_rate(x in 1u64.., y in 1u64.., dx in 1u64.., fee in 0u16..=10_000) {
            let rate = marginal_rate(x, y, fee).expect("a pool with reserves");
            if let Some(s) = swap_exact_in(x, y, dx, fee) {
                prop_assert!(Rate::of(s.amount_out, dx) <= Some(rate));
            }
        }
    }
}
