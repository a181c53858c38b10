//! The simulated venues: Raydium's and Meteora's programs over a [`Network`]
//! (the simulated chain, in the engine).

use crate::market::{launch_pool_id, seed_pools};
use crate::network::Network;
use crate::venue::{Market, Venue, VenueError};
use async_trait::async_trait;
use oee_domain::{Dex, TokenRegistry};
use std::sync::Arc;

/// A simulated DEX: its listed pools live on the shared chain.
#[derive(Debug)]
pub struct SimulatedVenue {
    dex: Dex,
    /// `(pool id, base mint, quote mint)` of every listed pool.
    listings: Vec<(String, String, String)>,
    network: Arc<dyn Network>,
}

impl SimulatedVenue {
    pub fn new(dex: Dex, registry: &TokenRegistry, network: Arc<dyn Network>) -> Self {
        let listings = seed_pools(dex, registry, 0).into_iter().map(|p| (p.id, p.mint_base, p.mint_quote)).collect();
        Self { dex, listings, network }
    }

    /// The pool a launch made for a pair that is not listed, the new token
    /// being either side ([`launch_pool_id`]).
    async fn launched(&self, a: &str, b: &str, slot: u64) -> Result<Market, VenueError> {
        for (base, quote) in [(a, b), (b, a)] {
            if let Some(pool) = self.network.pool_since(&launch_pool_id(self.dex, base, quote), slot).await? {
                return Ok(Market { pool, now: self.network.now() });
            }
        }
        Err(VenueError::NoPool { dex: self.dex })
    }

    fn pool_for(&self, a: &str, b: &str) -> Option<&str> {
        self.listings
            .iter()
            .find(|(_, base, quote)| (base == a && quote == b) || (base == b && quote == a))
            .map(|(id, _, _)| id.as_str())
    }
}

#[async_trait]
impl Venue for SimulatedVenue {
    fn dex(&self) -> Dex {
        self.dex
    }

    /// A listed pair, or any other: a token launched since may have a pool
    /// here, which only [`Venue::market`] can find out.
    fn lists(&self, _mint_a: &str, _mint_b: &str) -> bool {
        true
    }

    async fn market(&self, mint_in: &str, mint_out: &str) -> Result<Market, VenueError> {
        self.market_since(mint_in, mint_out, 0).await
    }

    async fn market_since(&self, mint_in: &str, mint_out: &str, slot: u64) -> Result<Market, VenueError> {
        let Some(id) = self.pool_for(mint_in, mint_out) else {
            return self.launched(mint_in, mint_out, slot).await;
        };
        let pool = self
            .network
            .pool_since(id, slot)
            .await?
            .ok_or_else(|| VenueError::InsufficientLiquidity { pool: id.to_owned() })?;
        Ok(Market { pool, now: self.network.now() })
    }
}
