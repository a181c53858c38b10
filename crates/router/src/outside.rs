//! Outside trading: the swaps other traders make, which move prices without
//! our orders. The worker's market simulator lands them on the chain as real
//! transactions (ids `sim-…`, their own slots and receipts), and so does the
//! admin API's `POST /api/admin/sim/trades`; nothing else changes a pool.
//!
//! A trade is a pure function of a pool's state and a random draw, so a seeded
//! simulator makes the same trades against the same states.

use crate::chain::{SwapLeg, Transaction};
use crate::pool::Pool;

/// Every outside trade's id starts with this (an order's transaction id is
/// base58, which has no `-`, so the two never meet).
pub const ID_PREFIX: &str = "sim-";

/// The outside trade `draw` makes on `pool`: selling base when its lowest bit
/// is set, quote otherwise; `(draw >> 1) % (volatility_bps + 1)` bps of the
/// input side's [depth](Pool::input_depth). `None` when that rounds to nothing.
pub fn trade(pool: &Pool, draw: u64, volatility_bps: u32) -> Option<SwapLeg> {
    let base_in = draw & 1 == 1;
    let bps = (draw >> 1) % (u64::from(volatility_bps) + 1);
    let amount = u128::from(pool.input_depth(base_in)) * u128::from(bps) / 10_000;
    let amount_in = u64::try_from(amount).ok().filter(|a| *a > 0)?;
    let mint_in = if base_in { &pool.mint_base } else { &pool.mint_quote };
    Some(SwapLeg { pool_id: pool.id.clone(), mint_in: mint_in.clone(), amount_in })
}

/// An outside trade as a transaction: one leg, any output accepted, no
/// instructions to record. `id` must start with [`ID_PREFIX`].
pub fn transaction(id: String, leg: SwapLeg, valid_until: i64) -> Transaction {
    debug_assert!(id.starts_with(ID_PREFIX), "outside trades are told apart by their id: {id}");
    Transaction { id, legs: vec![leg], min_amount_out: 0, valid_until, instructions: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oee_domain::TokenRegistry;

    fn pools() -> Vec<Pool> {
        crate::seed_pools(&TokenRegistry::default(), 1_800_000_000)
    }

    /// The draw picks the direction and a size within the volatility, on every
    /// kind of pool.
    #[test]
    fn a_trade_is_at_most_the_volatility_of_the_input_depth() {
        for pool in pools() {
            for draw in [0_u64, 1, 2, 3, 30, 31, u64::MAX - 1, u64::MAX] {
                let Some(leg) = trade(&pool, draw, 15) else { continue };
                let base_in = draw & 1 == 1;
                assert_eq!(&leg.mint_in, if base_in { &pool.mint_base } else { &pool.mint_quote }, "{}", pool.id);
                assert!(leg.amount_in * 10_000 <= pool.input_depth(base_in) * 15, "{}: {}", pool.id, leg.amount_in);
            }
            assert_eq!(trade(&pool, 0, 15), None, "zero bps trades nothing");
            assert!(trade(&pool, 30 | 1, 15).is_some(), "{}: the largest trade is not empty", pool.id);
        }
    }

    /// The same draw on the same state makes the same trade.
    #[test]
    fn trades_are_a_function_of_the_state_and_the_draw() {
        for pool in pools() {
            assert_eq!(trade(&pool, 0xdead_beef, 15), trade(&pool.clone(), 0xdead_beef, 15));
        }
    }
}
