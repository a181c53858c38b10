//! The simulated market: which pairs are listed and how deep each pool starts.
//!
//! Pools start from reference prices, offset per venue so the two venues' quotes
//! differ by a few percent (which venue is cheaper depends on the pair), with depth
//! in line with the pair's real liquidity.

use oee_domain::{Dex, TokenRegistry};

/// Reference prices in micro-USD per whole token.
const REFERENCE_MICRO_USD: &[(&str, u64)] = &[
    ("SOL", 150_000_000),
    ("USDC", 1_000_000),
    ("USDT", 1_000_000),
    ("BONK", 20),
    ("JUP", 800_000),
    ("RAY", 2_000_000),
];

/// One listed pair: `(base, quote, depth per side in USD)`.
pub const PAIRS: &[(&str, &str, u64)] = &[
    ("SOL", "USDC", 20_000_000),
    ("SOL", "USDT", 5_000_000),
    ("USDC", "USDT", 10_000_000),
    ("BONK", "SOL", 2_000_000),
    ("JUP", "USDC", 3_000_000),
    ("RAY", "SOL", 2_000_000),
];

/// The starting state of one pool on one venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSeed {
    pub mint_base: String,
    pub mint_quote: String,
    pub reserve_base: u64,
    pub reserve_quote: u64,
}

/// Price offset of a venue on a pair, in basis points of the base token's price.
/// Alternating signs make the cheaper venue depend on the pair, and the spread
/// between the two venues is 2–5%.
fn offset_bps(dex: Dex, pair_index: usize) -> i64 {
    const SPREADS: [i64; 6] = [300, 220, 250, 480, 350, 260];
    let half = SPREADS[pair_index % SPREADS.len()] / 2;
    let raydium_cheaper = pair_index % 2 == 0;
    match (dex, raydium_cheaper) {
        (Dex::Raydium, true) | (Dex::Meteora, false) => -half,
        _ => half,
    }
}

/// The pools `dex` starts with, over the registry's tokens.
pub fn seed_pools(dex: Dex, registry: &TokenRegistry) -> Vec<PoolSeed> {
    let price = |symbol: &str| REFERENCE_MICRO_USD.iter().find(|(s, _)| *s == symbol).map(|(_, p)| u128::from(*p));
    PAIRS
        .iter()
        .enumerate()
        .filter_map(|(i, (base, quote, depth_usd))| {
            let (b, q) = (registry.by_symbol(base)?, registry.by_symbol(quote)?);
            let (pb, pq) = (price(base)?, price(quote)?);
            let depth = u128::from(*depth_usd) * 1_000_000; // micro-USD per side
            let offset = 10_000 + offset_bps(dex, i);
            // A higher base price means fewer base tokens for the same USD depth.
            let reserve_base =
                depth * 10u128.pow(u32::from(b.decimals)) * 10_000 / (pb * u128::try_from(offset).ok()?);
            let reserve_quote = depth * 10u128.pow(u32::from(q.decimals)) / pq;
            Some(PoolSeed {
                mint_base: b.mint.clone(),
                mint_quote: q.mint.clone(),
                reserve_base: u64::try_from(reserve_base).ok()?,
                reserve_quote: u64::try_from(reserve_quote).ok()?,
            })
        })
        .collect()
}
