//! Venues, the simulated chain, and routing.
//!
//! - [`cpmm`] and [`dlmm`]: the swap math of Raydium's constant-product pools and
//!   Meteora's liquidity bins, on integers.
//! - [`pool::Pool`]: one venue's pool for a pair, with simulated outside trading.
//! - [`chain`]: transactions, receipts, the [`chain::Ledger`] that makes them atomic
//!   and durable, and the [`chain::Network`] that adds latency and failures.
//! - [`venue::Venue`]: what a DEX offers a router — pool snapshots to quote against.
//! - [`router::Router`]: best single venue or a better split, and execution.

pub mod chain;
pub mod cpmm;
pub mod dlmm;
pub mod market;
pub mod pool;
pub mod router;
pub mod sim;
pub mod venue;

pub use chain::{Clock, Landed, Ledger, LegFill, MemoryLedger, Network, Receipt, SwapLeg, Transaction, system_clock};
pub use market::Listing;
pub use pool::Pool;
pub use router::{PlannedLeg, RouteError, RoutePlan, Router, Split, best_split, price, transaction_id};
pub use sim::{Latency, SimulatedVenue, VenueProfile};
pub use venue::{Market, Quote, TransientKind, Venue, VenueError};

use oee_domain::{Dex, TokenRegistry};
use std::sync::Arc;

/// Raydium and Meteora, simulated over `network`, behind one router.
pub fn simulated(registry: &TokenRegistry, network: Network) -> Router {
    let venues = Dex::ALL
        .into_iter()
        .map(|dex| Arc::new(SimulatedVenue::new(dex, registry, network.clone())) as Arc<dyn Venue>)
        .collect();
    Router::new(venues, network)
}

/// The pools both simulated venues start with, to seed a ledger.
pub fn seed_pools(registry: &TokenRegistry, now: i64) -> Vec<Pool> {
    Dex::ALL.into_iter().flat_map(|dex| market::seed_pools(dex, registry, now)).collect()
}
