//! The simulated market: which pairs each venue lists and how its pools start.
//!
//! Pools start from reference prices, offset per venue so the two venues' quotes
//! differ by a few percent (which venue is cheaper depends on the pair), with depth
//! in line with the pair's real liquidity. Raydium pools are constant-product;
//! Meteora pools are DLMM bins around the offset price.

use crate::dlmm::{DlmmPool, FeeParams};
use crate::pool::{CpmmPool, Curve, Pool};
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

/// A listed pair and how each venue prices it.
struct PairSpec {
    base: &'static str,
    quote: &'static str,
    /// Liquidity per side, in USD.
    depth_usd: u64,
    /// Spread between the venues' starting prices, in bps.
    spread_bps: i64,
    raydium_fee_bps: u16,
    meteora_bin_step: u16,
    meteora_base_fee_ppb: u32,
}

const PAIRS: &[PairSpec] = &[
    PairSpec {
        base: "SOL",
        quote: "USDC",
        depth_usd: 20_000_000,
        spread_bps: 300,
        raydium_fee_bps: 25,
        meteora_bin_step: 10,
        meteora_base_fee_ppb: 1_000_000,
    },
    PairSpec {
        base: "SOL",
        quote: "USDT",
        depth_usd: 5_000_000,
        spread_bps: 220,
        raydium_fee_bps: 25,
        meteora_bin_step: 10,
        meteora_base_fee_ppb: 1_000_000,
    },
    PairSpec {
        base: "USDC",
        quote: "USDT",
        depth_usd: 10_000_000,
        spread_bps: 250,
        raydium_fee_bps: 5,
        meteora_bin_step: 1,
        meteora_base_fee_ppb: 100_000,
    },
    PairSpec {
        base: "BONK",
        quote: "SOL",
        depth_usd: 2_000_000,
        spread_bps: 480,
        raydium_fee_bps: 25,
        meteora_bin_step: 80,
        meteora_base_fee_ppb: 2_500_000,
    },
    PairSpec {
        base: "JUP",
        quote: "USDC",
        depth_usd: 3_000_000,
        spread_bps: 350,
        raydium_fee_bps: 25,
        meteora_bin_step: 20,
        meteora_base_fee_ppb: 2_000_000,
    },
    PairSpec {
        base: "RAY",
        quote: "SOL",
        depth_usd: 2_000_000,
        spread_bps: 260,
        raydium_fee_bps: 25,
        meteora_bin_step: 25,
        meteora_base_fee_ppb: 2_500_000,
    },
];

/// The pairs every venue lists, as `(base, quote)` symbols.
pub fn listed_pairs() -> impl Iterator<Item = (&'static str, &'static str)> {
    PAIRS.iter().map(|p| (p.base, p.quote))
}

/// Price offset of a venue on the `index`th pair, in bps of the base token's price:
/// half the spread each way, the cheaper venue alternating by pair.
fn offset_bps(dex: Dex, index: usize, spread_bps: i64) -> i64 {
    let half = spread_bps / 2;
    match (dex, index.is_multiple_of(2)) {
        (Dex::Raydium, true) | (Dex::Meteora, false) => -half,
        _ => half,
    }
}

/// The pool id of a venue's pair, e.g. `meteora:SOL-USDC`.
pub fn pool_id(dex: Dex, base: &str, quote: &str) -> String {
    format!("{dex}:{base}-{quote}")
}

/// Every pool of `dex`, as it starts at `now` (unix seconds).
pub fn seed_pools(dex: Dex, registry: &TokenRegistry, now: i64) -> Vec<Pool> {
    let price = |symbol: &str| REFERENCE_MICRO_USD.iter().find(|(s, _)| *s == symbol).map(|(_, p)| u128::from(*p));
    PAIRS
        .iter()
        .enumerate()
        .filter_map(|(i, pair)| {
            let (b, q) = (registry.by_symbol(pair.base)?, registry.by_symbol(pair.quote)?);
            let (pb, pq) = (price(pair.base)?, price(pair.quote)?);
            let (scale_b, scale_q) = (10u128.pow(u32::from(b.decimals)), 10u128.pow(u32::from(q.decimals)));
            let depth = u128::from(pair.depth_usd) * 1_000_000; // micro-USD per side
            let offset = u128::try_from(10_000 + offset_bps(dex, i, pair.spread_bps)).ok()?;
            let depth_base = u64::try_from(depth * scale_b / pb).ok()?;
            let depth_quote = u64::try_from(depth * scale_q / pq).ok()?;
            let curve = match dex {
                Dex::Raydium => Curve::Cpmm(CpmmPool {
                    // A dearer base means fewer base tokens for the same quote depth.
                    reserve_base: u64::try_from(u128::from(depth_base) * 10_000 / offset).ok()?,
                    reserve_quote: depth_quote,
                    fee_bps: pair.raydium_fee_bps,
                }),
                Dex::Meteora => {
                    let step = pair.meteora_bin_step;
                    // Quote atoms per base atom, offset.
                    let active = DlmmPool::bin_for_price(pb * scale_q * offset, pq * scale_b * 10_000, step)?;
                    let fees = FeeParams {
                        base_fee_ppb: pair.meteora_base_fee_ppb,
                        variable_fee_control: u32::try_from(10_000_000 / (u64::from(step) * u64::from(step))).ok()?,
                        max_volatility_accumulator: 350_000,
                        filter_period: 10,
                        decay_period: 120,
                        reduction_factor: 5_000,
                    };
                    let side = (1_500 / u32::from(step)).clamp(30, 150);
                    Curve::Dlmm(DlmmPool::seeded(step, fees, active, side, depth_base, depth_quote, now))
                }
            };
            Some(Pool {
                id: pool_id(dex, pair.base, pair.quote),
                dex,
                mint_base: b.mint.clone(),
                mint_quote: q.mint.clone(),
                curve,
                slot: 0,
                open_at: None,
            })
        })
        .collect()
}

/// The id of a launched token's pool: by mints, since a venue finds a pool
/// from the mints an order names (the listed pairs' ids name symbols).
pub fn launch_pool_id(dex: Dex, mint_base: &str, mint_quote: &str) -> String {
    format!("{dex}:{mint_base}-{mint_quote}")
}

/// Bin step of a launched token's DLMM pool (1%: new tokens are volatile).
const LAUNCH_BIN_STEP: u16 = 100;
/// Bins on each side of the active one in a launched DLMM pool.
const LAUNCH_BINS_PER_SIDE: u32 = 30;

/// The pool a token launch creates on `dex`: `base` (the new token) against
/// `quote`, holding `base_amount` and `quote_amount` atoms, priced at their
/// ratio — a constant-product pool with those reserves on Raydium (0.25% fee),
/// bins around that price on Meteora — trading from `open_at` (unix seconds)
/// when given. `None` when an amount is 0 or the price is out of range.
pub fn launch_pool(
    dex: Dex,
    base: &oee_domain::Token,
    quote: &oee_domain::Token,
    base_amount: u64,
    quote_amount: u64,
    open_at: Option<i64>,
    now: i64,
) -> Option<Pool> {
    if base_amount == 0 || quote_amount == 0 {
        return None;
    }
    let curve = match dex {
        Dex::Raydium => Curve::Cpmm(CpmmPool { reserve_base: base_amount, reserve_quote: quote_amount, fee_bps: 25 }),
        Dex::Meteora => {
            let active = DlmmPool::bin_for_price(u128::from(quote_amount), u128::from(base_amount), LAUNCH_BIN_STEP)?;
            let fees = FeeParams {
                base_fee_ppb: 2_500_000,
                variable_fee_control: 1_000,
                max_volatility_accumulator: 350_000,
                filter_period: 10,
                decay_period: 120,
                reduction_factor: 5_000,
            };
            Curve::Dlmm(DlmmPool::seeded(
                LAUNCH_BIN_STEP,
                fees,
                active,
                LAUNCH_BINS_PER_SIDE,
                base_amount,
                quote_amount,
                now,
            ))
        }
    };
    Some(Pool {
        id: launch_pool_id(dex, &base.mint, &quote.mint),
        dex,
        mint_base: base.mint.clone(),
        mint_quote: quote.mint.clone(),
        curve,
        slot: 0,
        open_at,
    })
}

/// Which pairs the simulated venues list, computed once (no I/O).
#[derive(Debug, Clone)]
pub struct Listing {
    pairs: Vec<ListedPair>,
}

/// A pair at least one venue lists, tradable in both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPair {
    pub mint_base: String,
    pub mint_quote: String,
    /// The venues with a pool for it, in [`Dex::ALL`] order.
    pub venues: Vec<Dex>,
}

impl Listing {
    /// Every pair of the simulated market whose tokens the registry knows. Each
    /// simulated venue seeds a pool for every pair ([`seed_pools`]), so every
    /// venue lists each of them.
    pub fn new(registry: &TokenRegistry) -> Self {
        let pairs = PAIRS
            .iter()
            .filter_map(|p| {
                Some(ListedPair {
                    mint_base: registry.by_symbol(p.base)?.mint.clone(),
                    mint_quote: registry.by_symbol(p.quote)?.mint.clone(),
                    venues: Dex::ALL.to_vec(),
                })
            })
            .collect();
        Self { pairs }
    }

    /// The listed pair of two mints, in either direction.
    pub fn pair(&self, mint_a: &str, mint_b: &str) -> Option<&ListedPair> {
        self.pairs.iter().find(|p| {
            (p.mint_base == mint_a && p.mint_quote == mint_b) || (p.mint_base == mint_b && p.mint_quote == mint_a)
        })
    }

    /// Every listed pair.
    pub fn pairs(&self) -> &[ListedPair] {
        &self.pairs
    }

    /// Whether a venue lists the pair, in either direction.
    pub fn has(&self, mint_a: &str, mint_b: &str) -> bool {
        self.pair(mint_a, mint_b).is_some()
    }
}
