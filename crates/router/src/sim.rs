//! A simulated venue: constant-product pools, a transaction ledger, latency and
//! injected transient failures.
//!
//! Every swap is applied atomically against the pool's *current* reserves, so a
//! quote can go stale and slippage protection really triggers. The ledger records
//! each landed transaction id; executing an id again returns the recorded result,
//! as a chain rejects a duplicate signature. This first simulator keeps its state
//! in the process.

use crate::cpmm::{CpmmSwap, swap_exact_in};
use crate::market::{PoolSeed, seed_pools};
use crate::venue::{Execution, Quote, QuoteRequest, SwapRequest, TransientKind, Venue, VenueError};
use async_trait::async_trait;
use oee_domain::{Dex, TokenRegistry};
use rand::Rng;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long venue calls take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latency {
    /// Quotes ~200 ms, swaps 2–3 s, as on mainnet through a public RPC.
    #[default]
    Realistic,
    /// No delay: for tests and throughput benchmarks.
    Instant,
}

/// Latency and failure behaviour of a simulated venue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VenueProfile {
    pub latency: Latency,
    /// Share of swaps that fail transiently, `0.0..=1.0`.
    pub failure_rate: f64,
}

impl Default for VenueProfile {
    fn default() -> Self {
        Self { latency: Latency::Realistic, failure_rate: 0.05 }
    }
}

#[derive(Debug, Clone)]
struct Pool {
    mint_base: String,
    mint_quote: String,
    reserve_base: u64,
    reserve_quote: u64,
}

impl Pool {
    fn from_seed(seed: PoolSeed) -> Self {
        Self {
            mint_base: seed.mint_base,
            mint_quote: seed.mint_quote,
            reserve_base: seed.reserve_base,
            reserve_quote: seed.reserve_quote,
        }
    }

    /// `(reserve_in, reserve_out)` for a swap from `mint_in`.
    fn reserves(&self, mint_in: &str) -> (u64, u64) {
        if mint_in == self.mint_base {
            (self.reserve_base, self.reserve_quote)
        } else {
            (self.reserve_quote, self.reserve_base)
        }
    }

    fn apply(&mut self, mint_in: &str, amount_in: u64, amount_out: u64) {
        let (r_in, r_out) = if mint_in == self.mint_base {
            (&mut self.reserve_base, &mut self.reserve_quote)
        } else {
            (&mut self.reserve_quote, &mut self.reserve_base)
        };
        *r_in = r_in.saturating_add(amount_in);
        *r_out -= amount_out;
    }
}

#[derive(Debug, Default)]
struct State {
    pools: Vec<Pool>,
    ledger: HashMap<String, Execution>,
}

/// A simulated constant-product venue.
#[derive(Debug)]
pub struct SimulatedVenue {
    dex: Dex,
    fee_bps: u16,
    profile: VenueProfile,
    state: Mutex<State>,
}

impl SimulatedVenue {
    pub fn new(dex: Dex, registry: &TokenRegistry, profile: VenueProfile) -> Self {
        let fee_bps = match dex {
            Dex::Raydium => 25,
            Dex::Meteora => 20,
        };
        let pools = seed_pools(dex, registry).into_iter().map(Pool::from_seed).collect();
        Self { dex, fee_bps, profile, state: Mutex::new(State { pools, ledger: HashMap::new() }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a pool half-updated (every
        // mutation is a pair of plain stores after all checks), so poison is benign.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn find<'s>(pools: &'s mut [Pool], a: &str, b: &str) -> Option<&'s mut Pool> {
        pools.iter_mut().find(|p| (p.mint_base == a && p.mint_quote == b) || (p.mint_base == b && p.mint_quote == a))
    }

    fn simulate(&self, pool: &Pool, mint_in: &str, amount_in: u64) -> Result<CpmmSwap, VenueError> {
        let (r_in, r_out) = pool.reserves(mint_in);
        swap_exact_in(r_in, r_out, amount_in, self.fee_bps)
            .ok_or(VenueError::InsufficientLiquidity { dex: self.dex, amount_in })
    }

    async fn delay(&self, realistic: Duration, jitter: Duration) {
        if self.profile.latency == Latency::Realistic {
            let jitter_ms = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
            let extra = rand::rng().random_range(0..=jitter_ms);
            tokio::time::sleep(realistic + Duration::from_millis(extra)).await;
        }
    }

    /// Draws whether this swap fails transiently, and how. A quarter of injected
    /// failures are timeouts that happen *after* the swap landed — the case that
    /// makes asking [`Venue::landed`] before a retry necessary.
    fn draw_failure(&self) -> Option<(TransientKind, bool)> {
        let mut rng = rand::rng();
        if self.profile.failure_rate <= 0.0 || !rng.random_bool(self.profile.failure_rate.min(1.0)) {
            return None;
        }
        Some(match rng.random_range(0..4) {
            0 => (TransientKind::BlockhashNotFound, false),
            1 => (TransientKind::BlockHeightExceeded, false),
            2 => (TransientKind::RpcTimeout, false),
            _ => (TransientKind::RpcTimeout, true),
        })
    }
}

#[async_trait]
impl Venue for SimulatedVenue {
    fn dex(&self) -> Dex {
        self.dex
    }

    fn lists(&self, mint_a: &str, mint_b: &str) -> bool {
        Self::find(&mut self.state().pools, mint_a, mint_b).is_some()
    }

    async fn quote(&self, req: &QuoteRequest<'_>) -> Result<Quote, VenueError> {
        self.delay(Duration::from_millis(170), Duration::from_millis(60)).await;
        let mut state = self.state();
        let pool =
            Self::find(&mut state.pools, req.mint_in, req.mint_out).ok_or(VenueError::NoPool { dex: self.dex })?;
        let swap = self.simulate(pool, req.mint_in, req.amount_in)?;
        Ok(Quote {
            dex: self.dex,
            amount_in: req.amount_in,
            amount_out: swap.amount_out,
            fee: swap.fee,
            price_impact_bps: swap.price_impact_bps,
        })
    }

    async fn execute(&self, req: &SwapRequest<'_>) -> Result<Execution, VenueError> {
        self.delay(Duration::from_millis(2_000), Duration::from_millis(1_000)).await;
        let failure = self.draw_failure();
        if let Some((kind, false)) = failure {
            return Err(VenueError::Transient { dex: self.dex, kind });
        }
        let mut state = self.state();
        if let Some(done) = state.ledger.get(req.tx_id) {
            return Ok(done.clone());
        }
        let pool =
            Self::find(&mut state.pools, req.mint_in, req.mint_out).ok_or(VenueError::NoPool { dex: self.dex })?;
        let swap = self.simulate(pool, req.mint_in, req.amount_in)?;
        if swap.amount_out < req.min_amount_out {
            return Err(VenueError::SlippageExceeded {
                dex: self.dex,
                amount_out: swap.amount_out,
                min_amount_out: req.min_amount_out,
            });
        }
        // The whole input, fee included, stays in the pool: fees accrue to liquidity.
        pool.apply(req.mint_in, req.amount_in, swap.amount_out);
        let execution = Execution {
            tx_id: req.tx_id.to_owned(),
            dex: self.dex,
            amount_in: req.amount_in,
            amount_out: swap.amount_out,
        };
        state.ledger.insert(req.tx_id.to_owned(), execution.clone());
        match failure {
            Some((kind, true)) => Err(VenueError::Transient { dex: self.dex, kind }),
            _ => Ok(execution),
        }
    }

    async fn landed(&self, tx_id: &str) -> Result<Option<Execution>, VenueError> {
        Ok(self.state().ledger.get(tx_id).cloned())
    }
}
