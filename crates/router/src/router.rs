//! Route choice: fetch every listing venue's pool at once, quote the whole order on
//! each, then search the split between the two best venues that returns the most.
//! A split is taken only when it returns strictly more than the best single venue,
//! so the chosen route is never worse than any single venue.

use crate::chain::{Network, Receipt, SwapLeg, Transaction};
use crate::venue::{Market, Quote, Venue, VenueError};
use futures::future::join_all;
use oee_domain::{
    Dex, FailureCode, Instruction, LegRecord, OrderSpec, QuoteRecord, RouteRecord, format_ratio, format_units,
};
use sha2::{Digest, Sha512};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

const BPS: u128 = 10_000;
/// Coarse split grid: every 5%.
const GRID_STEPS: u64 = 20;

/// Routes orders across a set of venues and executes them on the network.
#[derive(Debug, Clone)]
pub struct Router {
    venues: Arc<[Arc<dyn Venue>]>,
    network: Network,
}

/// One leg of a planned route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLeg {
    pub dex: Dex,
    pub pool_id: String,
    pub amount_in: u64,
    pub expected_out: u64,
}

/// A chosen route with the integer amounts it executes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    pub legs: Vec<PlannedLeg>,
    pub amount_in: u64,
    pub expected_out: u64,
    /// The least total output: `expected_out` less the slippage tolerance.
    pub min_amount_out: u64,
    /// Each venue's quote for the whole order.
    pub quotes: Vec<Quote>,
    /// The record stored on the order and sent in the `building` event.
    pub record: RouteRecord,
}

impl RoutePlan {
    /// `raydium`, `meteora` or `split`.
    pub fn label(&self) -> &'static str {
        match self.legs.as_slice() {
            [one] => one.dex.as_str(),
            _ => "split",
        }
    }
}

/// Why no route could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no venue lists {0}")]
    NoRoute(String),
    /// Every venue that lists the pair refused; the most actionable error is kept.
    #[error(transparent)]
    Venue(#[from] VenueError),
}

impl RouteError {
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Venue(e) if e.is_transient())
    }

    pub const fn failure_code(&self) -> FailureCode {
        match self {
            Self::NoRoute(_) => FailureCode::NoRoute,
            Self::Venue(e) => e.failure_code(),
        }
    }
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

impl Router {
    pub fn new(venues: Vec<Arc<dyn Venue>>, network: Network) -> Self {
        Self { venues: venues.into(), network }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Whether any venue lists the pair (in either direction).
    pub fn has_route(&self, mint_in: &str, mint_out: &str) -> bool {
        self.venues.iter().any(|v| v.lists(mint_in, mint_out))
    }

    /// Fetches every listing venue's pool concurrently and plans the best route.
    pub async fn route(&self, spec: &OrderSpec) -> Result<RoutePlan, RouteError> {
        let (mint_in, mint_out) = (spec.token_in.mint.as_str(), spec.token_out.mint.as_str());
        let listing: Vec<_> = self.venues.iter().filter(|v| v.lists(mint_in, mint_out)).collect();
        if listing.is_empty() {
            return Err(RouteError::NoRoute(format!("{}/{}", spec.token_in.symbol, spec.token_out.symbol)));
        }
        let fetched = join_all(listing.iter().map(|v| v.market(mint_in, mint_out))).await;
        let mut markets = Vec::new();
        let mut quotes = Vec::new();
        let mut refusals = Vec::new();
        for answer in fetched {
            match answer {
                Ok(market) => {
                    match market.quote(mint_in, spec.amount_in) {
                        Ok(q) => quotes.push(q),
                        Err(e) => refusals.push(e),
                    }
                    // A venue that cannot fill the whole order may still take part of it.
                    markets.push(market);
                }
                Err(e) => refusals.push(e),
            }
        }
        // Best output first; ties go to the lower fee, then to a fixed venue order.
        quotes.sort_by(|a, b| b.amount_out.cmp(&a.amount_out).then(a.fee.cmp(&b.fee)).then(a.dex.cmp(&b.dex)));
        let Some(best) = quotes.first().cloned() else {
            // A permanent reason (liquidity) beats a transient one: retrying cannot fix it.
            refusals.sort_by_key(VenueError::is_transient);
            return Err(refusals
                .into_iter()
                .next()
                .map_or_else(|| RouteError::NoRoute(String::new()), RouteError::Venue));
        };
        let mut legs = vec![PlannedLeg {
            dex: best.dex,
            pool_id: best.pool_id.clone(),
            amount_in: spec.amount_in,
            expected_out: best.amount_out,
        }];
        let mut split_gain = None;
        let best_market = markets.iter().find(|m| m.pool.id == best.pool_id);
        let partner = markets.iter().find(|m| m.pool.id != best.pool_id);
        if let (Some(best_market), Some(partner)) = (best_market, partner) {
            let split = best_split(best_market, partner, mint_in, spec.amount_in);
            if split.total_out > best.amount_out && split.first_in > 0 && split.first_in < spec.amount_in {
                let q1 = best_market.quote(mint_in, split.first_in)?;
                let q2 = partner.quote(mint_in, spec.amount_in - split.first_in)?;
                legs = [q1, q2]
                    .into_iter()
                    .map(|q| PlannedLeg {
                        dex: q.dex,
                        pool_id: q.pool_id,
                        amount_in: q.amount_in,
                        expected_out: q.amount_out,
                    })
                    .collect();
                split_gain = Some(split.total_out - best.amount_out);
            }
        }
        let expected_out: u64 = legs.iter().map(|l| l.expected_out).sum();
        let min_amount_out =
            u64::try_from(u128::from(expected_out) * (BPS - u128::from(spec.slippage_bps)) / BPS).unwrap_or(0);
        let record = render(spec, &legs, &quotes, &refusals, split_gain, min_amount_out);
        Ok(RoutePlan { legs, amount_in: spec.amount_in, expected_out, min_amount_out, quotes, record })
    }

    /// The transaction for `plan` as attempt `tx_id`: compute budget, token
    /// accounts, wrap, the swaps, unwrap.
    pub fn build(&self, spec: &OrderSpec, plan: &RoutePlan, tx_id: &str) -> Transaction {
        let units = 60_000 + 140_000 * u32::try_from(plan.legs.len()).unwrap_or(1);
        let inp = |atoms: u64| format_units(u128::from(atoms), spec.token_in.decimals);
        let mut instructions = vec![
            Instruction::SetComputeUnitLimit { units },
            Instruction::SetComputeUnitPrice { micro_lamports: 10_000 },
        ];
        if spec.token_in.native {
            instructions
                .push(Instruction::CreateTokenAccount { token: "WSOL".into(), mint: spec.token_in.mint.clone() });
            instructions.push(Instruction::WrapSol { amount: inp(plan.amount_in) });
        }
        let out_account = if spec.token_out.native { "WSOL".to_owned() } else { spec.token_out.symbol.clone() };
        instructions.push(Instruction::CreateTokenAccount { token: out_account, mint: spec.token_out.mint.clone() });
        for leg in &plan.legs {
            instructions.push(Instruction::Swap {
                dex: leg.dex,
                pool: leg.pool_id.clone(),
                amount_in: inp(leg.amount_in),
            });
        }
        if spec.token_out.native {
            instructions.push(Instruction::UnwrapSol);
        }
        Transaction {
            id: tx_id.to_owned(),
            legs: plan
                .legs
                .iter()
                .map(|l| SwapLeg {
                    pool_id: l.pool_id.clone(),
                    mint_in: spec.token_in.mint.clone(),
                    amount_in: l.amount_in,
                })
                .collect(),
            min_amount_out: plan.min_amount_out,
            valid_until: self.network.now() + self.network.validity_secs(),
            instructions,
        }
    }

    /// Sends a built transaction.
    pub async fn send(&self, tx: &Transaction) -> Result<Receipt, VenueError> {
        self.network.send(tx).await
    }

    /// Whether transaction `tx_id` landed.
    pub async fn landed(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError> {
        self.network.landed(tx_id).await
    }
}

/// The transaction id of an order's attempt: deterministic, so the same attempt
/// sent twice is the same transaction, and shaped like a Solana signature
/// (64 bytes, base58).
pub fn transaction_id(order_id: Uuid, attempt: u32) -> String {
    let mut hasher = Sha512::new();
    hasher.update(b"oee/tx/v1");
    hasher.update(order_id.as_bytes());
    hasher.update(attempt.to_be_bytes());
    bs58::encode(hasher.finalize()).into_string()
}

/// The price `amount_out / amount_in` in whole units of each token.
pub fn price(spec: &OrderSpec, amount_in: u64, amount_out: u64) -> String {
    let num = u128::from(amount_out) * 10u128.pow(u32::from(spec.token_in.decimals));
    let den = u128::from(amount_in) * 10u128.pow(u32::from(spec.token_out.decimals));
    format_ratio(num, den, 9)
}

/// Basis points as a percentage with two decimals: 100 → `1.00%`.
struct Percent(u128);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

fn gain_bps(better: u64, worse: u64) -> u128 {
    u128::from(better.saturating_sub(worse)) * BPS / u128::from(worse.max(1))
}

fn render(
    spec: &OrderSpec,
    legs: &[PlannedLeg],
    quotes: &[Quote],
    refusals: &[VenueError],
    split_gain: Option<u64>,
    min_out: u64,
) -> RouteRecord {
    let out = |atoms: u64| format_units(u128::from(atoms), spec.token_out.decimals);
    let inp = |atoms: u64| format_units(u128::from(atoms), spec.token_in.decimals);
    let symbol_out = &spec.token_out.symbol;
    let best = &quotes[0];
    let share = |amount: u64| u32::try_from(u128::from(amount) * BPS / u128::from(spec.amount_in.max(1))).unwrap_or(0);
    let reason = match (split_gain, quotes.get(1)) {
        (Some(gain), _) => {
            let parts: Vec<String> =
                legs.iter().map(|l| format!("{} {}", Percent(u128::from(share(l.amount_in))), l.dex)).collect();
            format!(
                "split {} returns {} more {symbol_out} than {} alone",
                parts.join(" / "),
                Percent(gain_bps(best.amount_out + gain, best.amount_out)),
                best.dex
            )
        }
        (None, Some(second)) if second.amount_out == best.amount_out => {
            format!("{} and {} quote the same {symbol_out}; {} has the lower fee", best.dex, second.dex, best.dex)
        }
        (None, Some(second)) => format!(
            "{} returns {} more {symbol_out} than {}",
            best.dex,
            Percent(gain_bps(best.amount_out, second.amount_out)),
            second.dex
        ),
        (None, None) => match refusals.first() {
            Some(e) => format!("only {} could quote: {e}", best.dex),
            None => format!("only {} lists {}/{symbol_out}", best.dex, spec.token_in.symbol),
        },
    };
    RouteRecord {
        dex: match legs {
            [one] => one.dex.as_str().to_owned(),
            _ => "split".to_owned(),
        },
        legs: legs
            .iter()
            .map(|l| LegRecord {
                dex: l.dex,
                amount_in: inp(l.amount_in),
                amount_out: out(l.expected_out),
                share_bps: share(l.amount_in),
            })
            .collect(),
        quotes: quotes
            .iter()
            .map(|q| QuoteRecord {
                dex: q.dex,
                amount_out: out(q.amount_out),
                fee: inp(q.fee),
                price_impact_bps: q.price_impact_bps,
                price: price(spec, q.amount_in, q.amount_out),
            })
            .collect(),
        min_amount_out: out(min_out),
        wrap_sol: spec.token_in.native,
        unwrap_sol: spec.token_out.native,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::seed_pools;
    use oee_domain::TokenRegistry;
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
