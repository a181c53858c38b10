//! What every handler shares.

use crate::ws::hub::Hub;
use oee_domain::TokenRegistry;
use oee_router::Router;
use oee_store::{Bus, OrderStore};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AppState {
    pub orders: OrderStore,
    pub bus: Bus,
    pub hub: Hub,
    pub registry: TokenRegistry,
    /// Used only to tell which pairs a venue lists (`NO_ROUTE`).
    pub router: Router,
    /// Bound on store calls made for a request.
    pub store_timeout: Duration,
}
