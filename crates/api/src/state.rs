//! What every handler shares.

use crate::auth::Authenticator;
use crate::pools::PoolView;
use crate::shedding::Shedder;
use crate::ws::hub::Hub;
use oee_domain::TokenRegistry;
use oee_router::Listing;
use oee_store::{Bus, KeyStore, Leases, Limit, OrderStore, OrderWriter, PgLedger, PublishingLedger};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

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

impl AppState {
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
