//! Venues and routing.
//!
//! [`Venue`] is what a DEX must offer: quotes, execution, and "did this
//! transaction land?". [`SimulatedVenue`] implements it with constant-product
//! pools over integer reserves. [`Router`] quotes every venue at once and picks
//! the best output; [`RoutePlan`] carries the integer amounts to execute and the
//! record shown to clients.

pub mod cpmm;
pub mod dlmm;
pub mod market;
pub mod router;
pub mod sim;
pub mod venue;

pub use router::{RouteError, RoutePlan, Router, price, transaction_id};
pub use sim::{Latency, SimulatedVenue, VenueProfile};
pub use venue::{Execution, Quote, QuoteRequest, SwapRequest, TransientKind, Venue, VenueError};

use oee_domain::{Dex, TokenRegistry};
use std::sync::Arc;

/// The two simulated venues, Raydium and Meteora, behind one router.
pub fn simulated(registry: &TokenRegistry, profile: VenueProfile) -> Router {
    Router::new(
        Dex::ALL
            .into_iter()
            .map(|dex| Arc::new(SimulatedVenue::new(dex, registry, profile)) as Arc<dyn Venue>)
            .collect(),
    )
}
