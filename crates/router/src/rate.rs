//! [`Rate`]: an exact ratio of two amounts, tokenOut atoms per tokenIn atom.
//!
//! Rates are compared by cross-multiplying, never by dividing: `a/b ≤ c/d` iff
//! `a·d ≤ c·b`. The products are taken in 128 bits when they fit — always when
//! both parts of both rates fit in 64 bits, as an order's `minAmountOut /
//! amountIn` does — and in 256 bits otherwise, so the order is exact for every
//! pair of 128-bit parts.

use ethnum::U256;
use std::cmp::Ordering;

/// An exact ratio `num / den` of output atoms per input atom; `den` is never
/// zero. Equal ratios compare equal whatever their parts (`1/2 == 2/4`).
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    num: u128,
    den: u128,
}

impl Rate {
    /// `num / den`, or `None` when `den` is zero.
    pub const fn new(num: u128, den: u128) -> Option<Self> {
        if den == 0 { None } else { Some(Self { num, den }) }
    }

    /// What an order requires: `amount_out / amount_in`; `None` for no input.
    pub fn of(amount_out: u64, amount_in: u64) -> Option<Self> {
        Self::new(u128::from(amount_out), u128::from(amount_in))
    }

    /// A rate of 128-bit parts at least `num / den` (`den` non-zero): both are
    /// halved until they fit, the numerator rounded up and the denominator down,
    /// so an upper bound stays one. Saturates at `u128::MAX / 1`, above any
    /// output a swap can give per input atom.
    pub(crate) fn at_least(mut num: U256, mut den: U256) -> Self {
        let limit = U256::from(u128::MAX);
        while num > limit || den > limit {
            num = (num >> 1u32) + (num & U256::ONE);
            den >>= 1u32;
        }
        match (u128::try_from(num), u128::try_from(den)) {
            (Ok(num), Ok(den)) if den > 0 => Self { num, den },
            _ => Self { num: u128::MAX, den: 1 },
        }
    }

    pub const fn num(&self) -> u128 {
        self.num
    }

    pub const fn den(&self) -> u128 {
        self.den
    }
}

impl Ord for Rate {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.num.checked_mul(other.den), other.num.checked_mul(self.den)) {
            (Some(left), Some(right)) => left.cmp(&right),
            _ => (U256::from(self.num) * U256::from(other.den)).cmp(&(U256::from(other.num) * U256::from(self.den))),
        }
    }
}

impl PartialOrd for Rate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rate {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(num: u128, den: u128) -> Rate {
        Rate::new(num, den).expect("non-zero denominator")
    }

    /// Rates that differ by one atom in either part are told apart, and equal
    /// ratios with different parts compare equal.
    #[test]
    fn comparison_is_exact_to_the_last_atom() {
        let m = u128::from(u64::MAX);
        assert!(rate(m - 1, m) < rate(m, m));
        assert!(rate(m, m - 1) > rate(m, m));
        assert!(rate(m, m) < rate(m, m - 1));
        assert_eq!(rate(1, 2), rate(u128::MAX / 2, u128::MAX - 1));
        // (M-1)/(M-2) > M/(M-1) for any M > 2; here the products need 256 bits.
        assert!(rate(u128::MAX, u128::MAX - 1) < rate(u128::MAX - 1, u128::MAX - 2));
        assert!(rate(u128::MAX - 1, u128::MAX) < rate(u128::MAX, u128::MAX));
        assert!(Rate::new(1, 0).is_none());
    }

    /// A rate cut down to 128-bit parts is never below the ratio it stands for.
    #[test]
    fn at_least_rounds_towards_a_higher_rate() {
        let big = U256::from(u128::MAX) * U256::from(3u8) + U256::ONE;
        let r = Rate::at_least(big, U256::from(u128::MAX));
        assert!(U256::from(r.num()) * U256::from(u128::MAX) >= big * U256::from(r.den()));
        assert_eq!(Rate::at_least(U256::from(7u8), U256::from(2u8)), rate(7, 2), "small parts are kept");
        assert_eq!(Rate::at_least(U256::MAX, U256::ONE), rate(u128::MAX, 1), "saturates");
    }

    proptest! {
        /// Cross-multiplication agrees with 256-bit arithmetic for any parts.
        #[test]
        fn ordering_matches_wide_products(a: u128, b in 1u128.., c: u128, d in 1u128..) {
            let wide = (U256::from(a) * U256::from(d)).cmp(&(U256::from(c) * U256::from(b)));
            prop_assert_eq!(rate(a, b).cmp(&rate(c, d)), wide);
        }

        /// Cutting a wide ratio down keeps it an upper bound. (Parts below 2^151
        /// and 2^100, so the check's own products fit in 256 bits.)
        #[test]
        fn at_least_is_an_upper_bound(a: u128, b: u128, shift in 0u32..23, den in 1u128..1 << 100) {
            let num = (U256::from(a) << shift) + U256::from(b);
            let den = U256::from(den);
            let r = Rate::at_least(num, den);
            prop_assert!(U256::from(r.num()) * den >= num * U256::from(r.den()));
        }
    }
}
