//! What every handler shares.

use crate::auth::Authenticator;
use crate::pools::PoolView;
use crate::shedding::Shedder;
use crate::ws::hub::Hub;
use anyhow::Context;
use oee_domain::TokenRegistry;
use oee_router::Listing;
use oee_runtime::Settings;
use oee_store::{Bus, KeyStore, Leases, Limit, OrderStore, OrderWriter, PgLedger, PublishingLedger};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// PostgreSQL connections of the pool the HTTP threads share ([`Shared`]: key
/// lookups on a cache miss, the pools' refreshes, the simulator's trades).
pub const SHARED_POOL_SIZE: usize = 2;

/// The fewest PostgreSQL connections an HTTP thread's own pool holds: its
/// commit lanes' and a few for reads.
const MIN_POOL_PER_THREAD: usize = 4;

/// Each HTTP thread's own PostgreSQL connections: what `OEE_PG_POOL_SIZE`
/// leaves beside the shared pool, split evenly, and at least
/// [`MIN_POOL_PER_THREAD`].
pub fn pool_per_thread(pool_size: usize, threads: usize) -> usize {
    (pool_size.saturating_sub(SHARED_POOL_SIZE) / threads.max(1)).max(MIN_POOL_PER_THREAD)
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub orders: OrderStore,
    /// Stores new orders through shared commits.
    pub inserts: OrderWriter,
    pub bus: Bus,
    pub hub: Hub,
    /// Who is calling, from the API key (`OEE_AUTH`).
    pub auth: Authenticator,
    /// API keys, for the admin routes.
    pub keys: KeyStore,
    /// Which pairs a venue lists (`NO_ROUTE`); launched pairs are in `pools`.
    pub listing: Listing,
    /// The simulated chain's pools, kept fresh in the background, for quotes.
    pub pools: PoolView,
    /// The simulated chain itself, for the simulator's outside trades, which
    /// it publishes on the pool-change stream like any landed transaction.
    pub ledger: PublishingLedger<PgLedger>,
    /// Sheds new orders while the queue is too far behind (`OEE_MAX_QUEUE_LAG`).
    pub shedder: Shedder,
    /// A key's rate limit unless it has its own (`OEE_RATE_PER_SEC`, `OEE_RATE_BURST`).
    pub rate_limit: Limit,
    /// Order submissions counted against those limits, leased from Redis a
    /// few at a time for a busy key.
    pub submit_limits: Leases,
    /// Bound on store calls made for a request.
    pub store_timeout: Duration,
    /// Cancelled when the process starts stopping: readiness fails.
    pub draining: CancellationToken,
    /// Cancelled once the drain delay is over: sockets close with 1001.
    pub stopping: CancellationToken,
    /// One permit per open WebSocket (`OEE_MAX_SOCKETS`).
    pub sockets: Arc<Semaphore>,
    /// A socket send that cannot complete in this long closes it with 1013.
    pub send_timeout: Duration,
}

/// What the HTTP threads of one process share, built once on the main
/// runtime; each thread builds its own [`AppState`] around it
/// ([`AppState::start`]). Nothing here is on an order's path: the pools are
/// re-read in the background, keys are looked up on a cache miss, the
/// simulator's trades and the queue-lag sampler are rare.
#[derive(Debug, Clone)]
pub struct Shared {
    pub settings: Arc<Settings>,
    pub registry: TokenRegistry,
    pub keys: KeyStore,
    pub pools: PoolView,
    pub ledger: PublishingLedger<PgLedger>,
    pub shedder: Shedder,
    /// See [`AppState::draining`].
    pub draining: CancellationToken,
    /// See [`AppState::stopping`].
    pub stopping: CancellationToken,
    /// `OEE_MAX_SOCKETS` is per process, whichever thread holds a socket.
    pub sockets: Arc<Semaphore>,
}

impl AppState {
    /// One HTTP thread's state, started on that thread's runtime (actix builds
    /// each thread's application there): the Redis clients an order is queued,
    /// counted and followed through, the PostgreSQL pool it is stored through
    /// and the commit lanes all run on the thread that serves the request, so
    /// serving it never wakes another thread. The process's PostgreSQL
    /// connections (`OEE_PG_POOL_SIZE`) are split between its HTTP threads
    /// ([`pool_per_thread`]).
    /// Nothing is awaited: connections are made in the background, and a store
    /// that is down fails its calls with 503 until it returns.
    pub fn start(shared: &Shared) -> anyhow::Result<Self> {
        let settings = &*shared.settings;
        let mut pg = settings.pg();
        pg.pool_size = pool_per_thread(pg.pool_size, settings.http_workers);
        let pool = oee_store::pg::pool(&pg).context("postgres settings")?;
        let redis = settings.redis();
        let bus = Bus::new(oee_store::redis::client_connecting(&redis)?, &redis);
        let hub = Hub::start(oee_store::redis::subscriber_connecting(&redis)?, redis.keys(), settings.store_timeout);
        let orders = settings.order_store(pool);
        Ok(Self {
            inserts: OrderWriter::start(orders.clone(), settings.order_batching()),
            orders,
            hub,
            auth: Authenticator::new(settings, shared.keys.clone(), &bus),
            keys: shared.keys.clone(),
            listing: Listing::new(&shared.registry),
            pools: shared.pools.clone(),
            ledger: shared.ledger.clone(),
            rate_limit: Limit { per_sec: settings.rate_per_sec, burst: settings.rate_burst },
            submit_limits: Leases::new(bus.rates.clone()),
            shedder: shared.shedder.clone(),
            bus,
            store_timeout: settings.store_timeout,
            draining: shared.draining.clone(),
            stopping: shared.stopping.clone(),
            sockets: shared.sockets.clone(),
            send_timeout: settings.ws_send_timeout,
        })
    }

    /// The tokens an order may name: the configured ones and those launched
    /// (as of the pools' latest refresh).
    pub fn tokens(&self) -> TokenRegistry {
        self.pools.tokens()
    }

    /// Whether a venue trades the pair now: a listed pair, or one a launch made.
    pub fn tradable(&self, mint_a: &str, mint_b: &str) -> bool {
        self.listing.has(mint_a, mint_b) || self.pools.has_pool(mint_a, mint_b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threads_pools_and_the_shared_one_stay_within_the_setting() {
        // (OEE_PG_POOL_SIZE, HTTP threads) → each thread's pool.
        for (size, threads, each) in [(16, 1, 14), (10, 2, 4), (16, 2, 7), (32, 3, 10), (4, 1, 4), (1, 4, 4)] {
            assert_eq!(pool_per_thread(size, threads), each, "{size} over {threads} threads");
            if size >= SHARED_POOL_SIZE + threads * MIN_POOL_PER_THREAD {
                assert!(SHARED_POOL_SIZE + threads * each <= size, "{size} over {threads} threads");
            }
        }
    }
}
