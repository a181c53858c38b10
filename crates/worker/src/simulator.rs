//! The market simulator: the outside trading that moves prices without our
//! orders. Every `OEE_SIM_TICK_MS` it lands one outside trade on every pool —
//! a random direction, a random size up to `OEE_SIM_VOLATILITY_BPS` of the
//! pool's input-side depth ([`oee_router::outside::trade`]) — as real
//! transactions on the chain: ids `sim-<driver>-<uuid>`, their own slots and
//! receipts, published on the pool-change stream by the same publishing ledger
//! as orders' swaps. Nothing else moves a pool.
//!
//! **One driver.** Every worker runs a simulator, but only the holder of the
//! Redis lease [`LEASE`] trades. The lease lives [`lease_ttl`] (three ticks,
//! at least a second) and its holder renews it at every tick, a third of that;
//! a stopping holder releases it, so another worker takes over at its next
//! tick, and a dead one's lease expires, so another takes over within the
//! lease's time. A holder whose renewal comes too late (a stalled process)
//! finds the lease taken and stops trading; for at most one tick both may
//! have traded, which only means a little more outside volume.
//!
//! **Launches.** Every `OEE_SIM_LAUNCH_EVERY` ticks (0: never) the driver
//! also launches a token, for demos of sniper orders: `SIM` and six digits,
//! 6 decimals, a billion of it against 100–1,000 SOL on a venue drawn at
//! random, opening [`LAUNCH_OPENS_AFTER`] later. Launched pools (its own and
//! the admin API's) are traded like the listed ones.
//!
//! **Draws.** A driver draws from a generator seeded with `OEE_SIM_SEED`
//! (random when unset; the seed is logged), so a run's outside trades can be
//! repeated against the same states. A driver that takes over starts its own
//! sequence from the seed.

use crate::metrics::METRICS;
use oee_router::{Ledger, Pool, Transaction, VenueError, outside};
use oee_store::{Locks, StoreError};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// The lease whose holder drives the market.
pub const LEASE: &str = "market-simulator";

/// How long after its launch a simulated token's pool opens.
pub const LAUNCH_OPENS_AFTER: Duration = Duration::from_secs(10);

/// The shortest lease: renewals must outlast a slow round trip or two.
const MIN_LEASE_TTL: Duration = Duration::from_secs(1);

/// How long the lease lives: three ticks (renewed every tick), at least
/// [`MIN_LEASE_TTL`]. A dead holder's successor waits at most this long.
pub fn lease_ttl(tick: Duration) -> Duration {
    (tick * 3).max(MIN_LEASE_TTL)
}

/// What the simulator trades, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatorSettings {
    pub tick: Duration,
    /// The largest trade, in bps of the input-side depth.
    pub volatility_bps: u32,
    /// Seeds the draws (random when `None`).
    pub seed: Option<u64>,
    /// How long a trade may take to land (its transaction's validity).
    pub tx_validity: Duration,
    /// Launch a token every this many ticks (0: never).
    pub launch_every: u32,
}

/// Where launches are recorded and announced.
#[derive(Debug, Clone)]
pub struct LaunchChain {
    pub ledger: oee_store::PublishingLedger<oee_store::PgLedger>,
    pub registry: oee_domain::TokenRegistry,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Another process holds the lease: nothing traded.
    Idle,
    /// This process holds the lease and landed this many trades (one per pool
    /// whose trade was not empty and could fill).
    Drove { landed: usize },
}

/// One worker's market simulator; see the module docs.
#[derive(Debug, Clone)]
pub struct MarketSimulator {
    ledger: Arc<dyn Ledger>,
    locks: Locks,
    /// This process's name as the lease's holder and in its trades' ids.
    driver: String,
    pool_ids: Vec<String>,
    settings: SimulatorSettings,
    draws: Arc<Mutex<StdRng>>,
    /// Launched pools are read (and traded), and launches made, here.
    chain: Option<LaunchChain>,
    ticks: Arc<std::sync::atomic::AtomicU32>,
}

impl MarketSimulator {
    /// A simulator trading on `pool_ids` through `ledger`, as `driver`.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        locks: Locks,
        driver: String,
        pool_ids: Vec<String>,
        settings: SimulatorSettings,
    ) -> Self {
        let seed = settings.seed.unwrap_or_else(rand::random);
        debug!(seed, driver, "market simulator seeded");
        let draws = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        Self { ledger, locks, driver, pool_ids, settings, draws, chain: None, ticks: Arc::default() }
    }

    /// Trades on launched pools too, and launches tokens (`launch_every`), on `chain`.
    #[must_use]
    pub fn with_launches(mut self, chain: LaunchChain) -> Self {
        self.chain = Some(chain);
        self
    }

    /// The name it holds the lease under.
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// Ticks every `tick` until `stop`, then releases the lease if it holds it.
    /// A failed tick (a store down) is logged and the next one tries again.
    pub async fn run(self, stop: CancellationToken) {
        info!(
            driver = self.driver,
            tick_ms = u64::try_from(self.settings.tick.as_millis()).unwrap_or(u64::MAX),
            volatility_bps = self.settings.volatility_bps,
            "market simulator running (trades while it holds the lease)"
        );
        let mut ticks = tokio::time::interval(self.settings.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = stop.cancelled() => break,
            }
            match self.step().await {
                Ok(_) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    warn!(error = %e, "the market simulator's tick failed; retrying every tick");
                }
                Err(e) => debug!(error = %e, "the market simulator's tick failed"),
            }
        }
        if let Err(e) = self.locks.release(LEASE, &self.driver).await {
            warn!(error = %e, "could not release the market simulator's lease; it expires by itself");
        }
    }

    /// One tick: holds (renews or takes) the lease, and if it holds it, lands
    /// one outside trade on every pool.
    pub async fn step(&self) -> Result<Tick, StoreError> {
        if !self.hold_lease().await? {
            return Ok(Tick::Idle);
        }
        let tick = self.ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(chain) = &self.chain
            && self.settings.launch_every > 0
            && tick.is_multiple_of(self.settings.launch_every)
        {
            self.launch(chain).await?;
        }
        let landed = self
            .trade_every_pool()
            .await
            .map_err(|e| StoreError::Unavailable { backend: oee_store::Backend::Postgres, reason: e.to_string() })?;
        METRICS.sim_trades.inc_by(landed as u64);
        Ok(Tick::Drove { landed })
    }

    /// Launches one token (see the module docs); a name already taken skips it.
    async fn launch(&self, chain: &LaunchChain) -> Result<(), StoreError> {
        let (symbol_draw, mint, quote_sol, venue) = {
            let mut draws = self.draws.lock().unwrap_or_else(PoisonError::into_inner);
            let mut mint = [0u8; 32];
            draws.fill_bytes(&mut mint);
            (draws.next_u64(), bs58::encode(mint).into_string(), 100 + draws.next_u64() % 901, draws.next_u64())
        };
        let token = oee_domain::Token::stored(format!("SIM{:06}", symbol_draw % 1_000_000), mint, 6);
        let Some(sol) = chain.registry.by_symbol("SOL") else { return Ok(()) };
        let venue = oee_domain::Dex::ALL[usize::try_from(venue % 2).unwrap_or(0)];
        let now = chrono::Utc::now();
        let open_at = now + LAUNCH_OPENS_AFTER;
        let pool = oee_router::market::launch_pool(
            venue,
            &token,
            sol,
            1_000_000_000 * 1_000_000,
            quote_sol * 1_000_000_000,
            Some(open_at.timestamp()),
            now.timestamp(),
        );
        let Some(pool) = pool else { return Ok(()) };
        let Some((launched, pool)) = chain.ledger.launch(&token, pool, Some(open_at)).await? else {
            return Ok(());
        };
        info!(symbol = %token.symbol, pool = %pool.id, slot = launched.slot, "the market simulator launched a token");
        Ok(())
    }

    /// Renews the lease if this process holds it, or takes it if nobody does.
    async fn hold_lease(&self) -> Result<bool, StoreError> {
        let ttl = lease_ttl(self.settings.tick);
        if self.locks.renew(LEASE, &self.driver, ttl).await? {
            return Ok(true);
        }
        let taken = self.locks.try_acquire(LEASE, &self.driver, ttl).await?;
        if taken {
            info!(driver = self.driver, "this worker drives the market simulator now");
        }
        Ok(taken)
    }

    /// Lands one outside trade on every pool, concurrently (so they share
    /// commits); returns how many landed. A trade a pool cannot fill is
    /// skipped; one that fails otherwise is logged (the next tick trades again).
    async fn trade_every_pool(&self) -> Result<usize, VenueError> {
        let mut ids = self.pool_ids.clone();
        if let Some(chain) = &self.chain {
            let launches = oee_store::chain::launches(chain.ledger.inner_pg())
                .await
                .map_err(|e| VenueError::Unavailable(e.to_string()))?;
            ids.extend(launches.into_iter().map(|l| l.pool_id));
        }
        let mut pools = self.ledger.pools(&ids).await?;
        // A pool not open yet takes no trade.
        let now = chrono::Utc::now().timestamp();
        pools.retain(|p| p.is_open(now));
        // In id order: a seeded run draws for the same pools in the same order.
        pools.sort_by(|a, b| a.id.cmp(&b.id));
        let valid_until = now.saturating_add_unsigned(self.settings.tx_validity.as_secs());
        let trades: Vec<Transaction> = self
            .draw(&pools)
            .into_iter()
            .map(|leg| {
                let id = format!("{}{}-{}", outside::ID_PREFIX, self.driver, uuid::Uuid::now_v7().simple());
                outside::transaction(id, leg, valid_until)
            })
            .collect();
        let results = futures::future::join_all(trades.iter().map(|tx| self.ledger.commit(tx, now))).await;
        let mut landed = 0;
        for (tx, result) in trades.iter().zip(results) {
            match result {
                Ok(_) => landed += 1,
                Err(VenueError::InsufficientLiquidity { pool }) => {
                    debug!(pool, tx_id = tx.id, "an outside trade the pool cannot fill is skipped");
                }
                Err(e) => warn!(tx_id = tx.id, error = %e, "an outside trade failed"),
            }
        }
        Ok(landed)
    }

    /// This tick's trades: one draw per pool, in order.
    fn draw(&self, pools: &[Pool]) -> Vec<oee_router::SwapLeg> {
        let mut draws = self.draws.lock().unwrap_or_else(PoisonError::into_inner);
        pools.iter().filter_map(|pool| outside::trade(pool, draws.next_u64(), self.settings.volatility_bps)).collect()
    }
}
