//! Venues, the simulated chain, and routing.
//!
//! Dependencies run one way, down this list:
//!
//! - [`rate`]: [`Rate`], an exact ratio of amounts, ordered by cross-multiplying.
//! - [`cpmm`], [`dlmm`]: the swap math of Raydium's constant-product pools and
//!   Meteora's liquidity bins, on integers.
//! - [`pool`]: one venue's pool for a pair ([`Pool`]); it changes only through swaps.
//! - [`market`]: the pools each venue starts with; which pairs are listed ([`Listing`]).
//! - [`venue`]: what a DEX offers a router ([`Venue`]): pool snapshots to quote against.
//! - [`outside`]: outside trading, the swaps other traders make (the market
//!   simulator's and the admin API's), as transactions.
//! - [`chain`]: the ledger alone: transactions, receipts, [`chain::apply`], the
//!   [`Ledger`] that makes them atomic and durable ([`MemoryLedger`] here).
//! - [`network`]: the [`Network`] trait, the chain as a client reaches it —
//!   **where a real Solana adapter plugs in**.
//! - [`rpc`]: [`SimulatedNetwork`], a ledger behind RPC latency ([`Latency`]) and
//!   injected failures, with a short-lived pool cache.
//! - [`simulated_venue`]: Raydium and Meteora as [`SimulatedVenue`]s over a network.
//! - [`search`]: the best venue or split for an amount; [`transaction`]: building
//!   an attempt's transaction and its id; [`record`]: the route record and its reason.
//! - [`router`]: [`Router`], which ties them together, and [`plan`], the route
//!   choice over pools already in hand (the worker's and the API's quotes').
//! - [`book`]: the trigger engine's limit-order [`Book`] for one pair and
//!   direction, and [`triggered`], which of its orders fire on the pools now.

pub mod book;
pub mod chain;
pub mod cpmm;
pub mod dlmm;
pub mod market;
pub mod network;
pub mod outside;
pub mod pool;
pub mod rate;
pub mod record;
pub mod router;
pub mod rpc;
pub mod search;
pub mod simulated_venue;
pub mod transaction;
pub mod venue;

pub use book::{Book, Fired, Resting, marginal_rate, triggered};
pub use chain::{Landed, Ledger, LegFill, MemoryLedger, Receipt, SwapLeg, Transaction};
pub use market::{ListedPair, Listing};
pub use network::Network;
pub use pool::Pool;
pub use rate::Rate;
pub use record::price;
pub use router::{PlannedLeg, RouteError, RoutePlan, Router, plan, plan_at_least};
pub use rpc::{Clock, DelayRange, Latency, SimulatedNetwork, VenueProfile, system_clock};
pub use search::{Split, best_split};
pub use simulated_venue::SimulatedVenue;
pub use transaction::transaction_id;
pub use venue::{Market, Quote, TransientKind, Venue, VenueError};

use oee_domain::{Dex, TokenRegistry};
use std::sync::Arc;

/// Raydium and Meteora, simulated over `network`, behind one router.
pub fn simulated(registry: &TokenRegistry, network: Arc<dyn Network>) -> Router {
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
