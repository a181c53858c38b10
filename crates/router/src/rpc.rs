//! The simulated RPC endpoint: the shared chain ([`Ledger`]) as a client reaches
//! it through a public RPC — with its latency ([`Latency`]) and its transient
//! failures, including the nasty one where the transaction lands but the answer
//! is lost — behind the [`Network`] trait.

use crate::chain::{Landed, Ledger, Receipt, Transaction};
use crate::network::Network;
use crate::pool::Pool;
use crate::venue::{TransientKind, VenueError};
use async_trait::async_trait;
use rand::Rng;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a built transaction can land, unless set otherwise: Solana's
/// ~150 blocks.
pub const DEFAULT_VALIDITY_SECS: i64 = 60;

/// How long venue calls take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latency {
    /// As on mainnet through a public RPC: quotes [`Latency::QUOTE`], swaps
    /// [`Latency::SWAP`].
    #[default]
    Realistic,
    /// No delay: for tests and throughput benchmarks.
    Instant,
}

/// A delay drawn uniformly from `base..=base + jitter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayRange {
    pub base: Duration,
    pub jitter: Duration,
}

impl DelayRange {
    /// The longest delay drawn.
    pub const fn max(self) -> Duration {
        self.base.saturating_add(self.jitter)
    }

    fn draw(self) -> Duration {
        let jitter_ms = u64::try_from(self.jitter.as_millis()).unwrap_or(u64::MAX);
        self.base + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }
}

impl Latency {
    /// A pool read, as a quote needs it: ~200 ms.
    pub const QUOTE: DelayRange = DelayRange { base: Duration::from_millis(170), jitter: Duration::from_millis(60) };
    /// Sending a transaction until it lands: 2–3 s.
    pub const SWAP: DelayRange = DelayRange { base: Duration::from_secs(2), jitter: Duration::from_secs(1) };

    /// The longest attempt: a quote, then a swap.
    pub const fn longest_attempt(self) -> Duration {
        match self {
            Self::Realistic => Self::QUOTE.max().saturating_add(Self::SWAP.max()),
            Self::Instant => Duration::ZERO,
        }
    }

    /// The longest swap.
    pub const fn longest_swap(self) -> Duration {
        match self {
            Self::Realistic => Self::SWAP.max(),
            Self::Instant => Duration::ZERO,
        }
    }
}

/// Latency and failure behaviour of the simulated network.
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

/// Reads the time the chain uses, in unix seconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().timestamp())
}

/// The simulated chain as a client reaches it: a [`Ledger`] behind RPC latency
/// and failures.
///
/// Pool states read for quotes are cached for a short while (as a real router
/// keeps pool accounts from a subscription rather than fetching them per quote),
/// and refreshed with the states this process's own swaps leave. A quote may
/// therefore miss another process's last few swaps; that is what the slippage
/// bound is for, and it is enforced by the chain at commit, against the live state.
#[derive(Clone)]
pub struct SimulatedNetwork {
    ledger: Arc<dyn Ledger>,
    profile: VenueProfile,
    clock: Clock,
    validity_secs: i64,
    cache: Arc<PoolCache>,
}

/// Recently read or written pool states, each with when it was current.
#[derive(Debug, Default)]
struct PoolCache {
    max_age: Duration,
    pools: Mutex<HashMap<String, (Pool, std::time::Instant)>>,
}

impl PoolCache {
    /// The cached state of `id`, if it is recent enough and as of `slot` or later.
    fn get(&self, id: &str, slot: u64) -> Option<Pool> {
        let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools
            .get(id)
            .filter(|(pool, at)| at.elapsed() < self.max_age && pool.slot >= slot)
            .map(|(pool, _)| pool.clone())
    }

    fn put(&self, pools: impl IntoIterator<Item = Pool>) {
        if self.max_age.is_zero() {
            return;
        }
        let now = std::time::Instant::now();
        let mut cached = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        for pool in pools {
            cached.insert(pool.id.clone(), (pool, now));
        }
    }
}

impl fmt::Debug for SimulatedNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedNetwork").field("ledger", &self.ledger).field("profile", &self.profile).finish()
    }
}

impl SimulatedNetwork {
    pub fn new(ledger: Arc<dyn Ledger>, profile: VenueProfile, clock: Clock) -> Self {
        Self { ledger, profile, clock, validity_secs: DEFAULT_VALIDITY_SECS, cache: Arc::default() }
    }

    /// Serves quotes from pool states up to `max_age` old (zero: always read).
    #[must_use]
    pub fn with_pool_cache(mut self, max_age: Duration) -> Self {
        self.cache = Arc::new(PoolCache { max_age, pools: Mutex::default() });
        self
    }

    /// Sets how long a transaction can land after it is built.
    #[must_use]
    pub fn with_validity(mut self, secs: u64) -> Self {
        self.validity_secs = i64::try_from(secs).unwrap_or(i64::MAX);
        self
    }

    /// The ledger behind this network.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    async fn delay(&self, range: DelayRange) {
        if self.profile.latency == Latency::Realistic {
            tokio::time::sleep(range.draw()).await;
        }
    }

    /// Which injected failure, if any, a send suffers, and whether it strikes
    /// after the transaction landed (a quarter of them: the answer is lost).
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
impl Network for SimulatedNetwork {
    /// A pool's state: a quote's round trip ([`Latency::QUOTE`]), then the
    /// cache or the ledger.
    async fn pool(&self, id: &str) -> Result<Option<Pool>, VenueError> {
        self.pool_since(id, 0).await
    }

    /// As [`Network::pool`], but a cached state older than `slot` is read again.
    async fn pool_since(&self, id: &str, slot: u64) -> Result<Option<Pool>, VenueError> {
        self.delay(Latency::QUOTE).await;
        if let Some(pool) = self.cache.get(id, slot) {
            return Ok(Some(pool));
        }
        let pool = self.ledger.pools(&[id.to_owned()]).await?.into_iter().next();
        self.cache.put(pool.clone());
        Ok(pool)
    }

    /// Waits [`Latency::SWAP`], then commits to the ledger, unless an injected
    /// failure strikes (before or after the commit).
    async fn send(&self, tx: &Transaction) -> Result<Receipt, VenueError> {
        self.delay(Latency::SWAP).await;
        let failure = self.draw_failure();
        if let Some((kind, false)) = failure {
            return Err(VenueError::Transient(kind));
        }
        let Landed { receipt, pools } = self.ledger.commit(tx, self.now()).await?;
        self.cache.put(pools);
        match failure {
            Some((kind, true)) => Err(VenueError::Transient(kind)),
            _ => Ok(receipt),
        }
    }

    async fn landed(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError> {
        self.ledger.receipt(tx_id).await
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn validity_secs(&self) -> i64 {
        self.validity_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryLedger, SwapLeg};
    use oee_domain::TokenRegistry;

    /// A cached state serves quotes until it ages out, unless the caller asks
    /// for a slot it predates (a triggered order's): then it is read again,
    /// and the newer state is what the cache holds from then on.
    #[tokio::test]
    async fn a_cached_state_older_than_the_slot_asked_for_is_read_again() {
        let now = 1_800_000_000;
        let pools = crate::seed_pools(&TokenRegistry::default(), now);
        let (id, mint_in) = (pools[0].id.clone(), pools[0].mint_quote.clone());
        let ledger = Arc::new(MemoryLedger::default());
        ledger.seed(pools).await.expect("seeded");
        let profile = VenueProfile { latency: Latency::Instant, failure_rate: 0.0 };
        let network = SimulatedNetwork::new(ledger.clone(), profile, system_clock())
            .with_pool_cache(std::time::Duration::from_secs(60));
        let cached = network.pool(&id).await.expect("read").expect("pool");
        // Another process's swap, straight on the ledger: this network's cache has not seen it.
        let leg = SwapLeg { pool_id: id.clone(), mint_in, amount_in: 1_000_000 };
        let tx = Transaction {
            id: "sim-other".into(),
            legs: vec![leg],
            min_amount_out: 0,
            valid_until: i64::MAX,
            instructions: Vec::new(),
        };
        let landed = ledger.commit(&tx, now).await.expect("landed");
        assert_eq!(network.pool(&id).await.expect("read"), Some(cached.clone()), "the cache serves its state");
        let fresh = network.pool_since(&id, landed.receipt.slot).await.expect("read").expect("pool");
        assert_eq!(fresh.slot, landed.receipt.slot);
        assert_ne!(fresh, cached);
        assert_eq!(network.pool(&id).await.expect("read"), Some(fresh.clone()), "and now caches the newer one");
        assert_eq!(network.pool_since(&id, 0).await.expect("read"), Some(fresh));
    }
}
