//! Route *search*: which venue, or which split between two, returns the most.
//! Pure integer arithmetic over market snapshots; no I/O.

use crate::router::PlannedLeg;
use crate::venue::{Market, Quote, VenueError};

/// Basis points in one whole.
pub(crate) const BPS: u128 = 10_000;
/// Coarse split grid: every 5%.
const GRID_STEPS: u64 = 20;

/// Orders quotes best first: most output, then the lower fee, then a fixed
/// venue order, so equal quotes always rank the same way.
pub fn rank(quotes: &mut [Quote]) {
    quotes.sort_by(|a, b| b.amount_out.cmp(&a.amount_out).then(a.fee.cmp(&b.fee)).then(a.dex.cmp(&b.dex)));
}

/// The legs of the best route for `amount`: all of it on `best`'s venue, or a
/// split with another market when that returns strictly more; and the split's
/// gain over `best`, if split.
pub fn choose_legs(
    markets: &[&Market],
    best: &Quote,
    mint_in: &str,
    amount: u64,
) -> Result<(Vec<PlannedLeg>, Option<u64>), VenueError> {
    let single = vec![PlannedLeg {
        dex: best.dex,
        pool_id: best.pool_id.clone(),
        amount_in: amount,
        expected_out: best.amount_out,
        price_impact_bps: best.price_impact_bps,
    }];
    let best_market = markets.iter().find(|m| m.pool.id == best.pool_id);
    let partner = markets.iter().find(|m| m.pool.id != best.pool_id);
    let (Some(best_market), Some(partner)) = (best_market, partner) else {
        return Ok((single, None));
    };
    let split = best_split(best_market, partner, mint_in, amount);
    if split.total_out <= best.amount_out || split.first_in == 0 || split.first_in >= amount {
        return Ok((single, None));
    }
    let q1 = best_market.quote(mint_in, split.first_in)?;
    let q2 = partner.quote(mint_in, amount - split.first_in)?;
    let legs = [q1, q2]
        .into_iter()
        .map(|q| PlannedLeg {
            dex: q.dex,
            pool_id: q.pool_id,
            amount_in: q.amount_in,
            expected_out: q.amount_out,
            price_impact_bps: q.price_impact_bps,
        })
        .collect();
    Ok((legs, Some(split.total_out - best.amount_out)))
}

/// The least total output a route may return: `expected_out` less the
/// slippage tolerance, rounded down.
pub fn min_amount_out(expected_out: u64, slippage_bps: u16) -> u64 {
    u64::try_from(u128::from(expected_out) * (BPS - u128::from(slippage_bps)) / BPS).unwrap_or(0)
}

/// The best way to divide `amount` between two markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Input sent to the first market; the rest goes to the second.
    pub first_in: u64,
    pub total_out: u64,
}

/// Searches the split of `amount` between `a` and `b` with the most total output:
/// a 5% grid, then a ternary search around the best grid point (outputs are
/// concave in the input, so the total is unimodal). Both ends (all on `a`, all on
/// `b`) are candidates, so the result is never worse than either venue alone.
pub fn best_split(a: &Market, b: &Market, mint_in: &str, amount: u64) -> Split {
    let out = |first_in: u64| -> u64 {
        let on = |m: &Market, x: u64| if x == 0 { 0 } else { m.quote(mint_in, x).map_or(0, |q| q.amount_out) };
        on(a, first_in).saturating_add(on(b, amount - first_in))
    };
    let at =
        |step: u64| u64::try_from(u128::from(amount) * u128::from(step) / u128::from(GRID_STEPS)).unwrap_or(amount);
    let mut best = Split { first_in: amount, total_out: out(amount) };
    // Totals are concave in the split: if moving 1% to `b` does not help, no larger
    // move can help more than that 1% could, so skip the search (most orders).
    let ninety_nine = amount - amount / 100;
    if ninety_nine == amount || out(ninety_nine) <= best.total_out {
        return best;
    }
    let mut best_step = GRID_STEPS;
    for step in 0..GRID_STEPS {
        let first_in = at(step);
        let total_out = out(first_in);
        if total_out > best.total_out {
            best = Split { first_in, total_out };
            best_step = step;
        }
    }
    let (mut lo, mut hi) = (at(best_step.saturating_sub(1)), at((best_step + 1).min(GRID_STEPS)));
    while hi - lo > 2 {
        let m1 = lo + (hi - lo) / 3;
        let m2 = hi - (hi - lo) / 3;
        if out(m1) < out(m2) { lo = m1 } else { hi = m2 }
    }
    for first_in in lo..=hi {
        let total_out = out(first_in);
        if total_out > best.total_out {
            best = Split { first_in, total_out };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::seed_pools;
    use oee_domain::{Dex, TokenRegistry};
    use proptest::prelude::*;

    fn markets(base: &str) -> (Market, Market, String) {
        let registry = TokenRegistry::default();
        let now = 1_800_000_000;
        let pick = |dex| {
            let pool = seed_pools(dex, &registry, now).into_iter().find(|p| p.id.ends_with(base)).expect("pool");
            Market { pool, now }
        };
        let (a, b) = (pick(Dex::Raydium), pick(Dex::Meteora));
        let mint = a.pool.mint_base.clone();
        (a, b, mint)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_split_is_never_worse_than_the_best_single_venue(amount in 1_000u64..200_000_000_000_000u64, pair in 0usize..3) {
            let pool = ["SOL-USDC", "JUP-USDC", "BONK-SOL"][pair];
            let (a, b, mint) = markets(pool);
            let split = best_split(&a, &b, &mint, amount);
            let single = |m: &Market| m.quote(&mint, amount).map_or(0, |q| q.amount_out);
            prop_assert!(split.total_out >= single(&a).max(single(&b)));
            prop_assert!(split.first_in <= amount);
        }
    }
}
