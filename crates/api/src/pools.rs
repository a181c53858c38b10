//! The simulated chain's pools as the API quotes from them: every pool read with
//! one query at start, re-read every `OEE_QUOTE_REFRESH_MS` in the background,
//! and shared by every HTTP worker. A quote reads no store and waits for no RPC:
//! it costs the route search alone.
//!
//! A pool changes only through a transaction on the chain (an order's swap,
//! an outside trade of the market simulator), never with time alone, so a
//! [`Snapshot`] holds the stored states as they are: a quote is the route an
//! order submitted at that moment would take, unless a transaction lands in
//! between (and the next refresh sees it).
//!
//! When refreshes fail (PostgreSQL down or too slow) the snapshot ages; past
//! `Settings::quote_max_age` (four refreshes, 1 s by default) quotes are
//! refused with 503 `UNAVAILABLE` rather than priced on states that old.

use oee_domain::{Dex, TokenRegistry};
use oee_router::{Market, Pool, VenueError};
use oee_store::chain::Launch;
use oee_store::{Backend, PgPool, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Every pool at one moment, and the tokens launched by then.
#[derive(Debug)]
pub struct Snapshot {
    /// Every pool as stored, in id order.
    pools: Vec<Pool>,
    /// When the query that read them was sent: they are at least this fresh.
    read_at: Instant,
    /// The launched tokens, in launch order.
    launches: Vec<Launch>,
    /// The configured tokens and the launched ones.
    tokens: TokenRegistry,
}

impl Snapshot {
    #[cfg(test)]
    fn new(pools: Vec<Pool>, read_at: Instant) -> Self {
        Self { pools, read_at, launches: Vec::new(), tokens: TokenRegistry::default() }
    }

    /// The launched tokens, in launch order.
    pub fn launches(&self) -> &[Launch] {
        &self.launches
    }

    /// Whether some venue has a pool for the pair (a listed or a launched one).
    pub fn has_pool(&self, mint_a: &str, mint_b: &str) -> bool {
        self.pools.iter().any(|p| p.pairs(mint_a, mint_b))
    }

    /// The market of each venue's pool for the pair at `now` (unix seconds), in
    /// [`Dex::ALL`] order: what the worker's venues fetch for the same order.
    pub fn markets(&self, mint_in: &str, mint_out: &str, now: i64) -> Vec<Result<Market, VenueError>> {
        Dex::ALL
            .into_iter()
            .filter_map(|dex| {
                let pool = self.pools.iter().find(|p| p.dex == dex && p.pairs(mint_in, mint_out))?;
                Some(Ok(Market { pool: pool.clone(), now }))
            })
            .collect()
    }

    /// How many pools it holds.
    pub fn len(&self) -> usize {
        self.pools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }
}

/// The latest snapshot, kept fresh by a background task; cheap to clone.
#[derive(Debug, Clone)]
pub struct PoolView {
    latest: watch::Receiver<Option<Arc<Snapshot>>>,
    max_age: Duration,
    /// The configured tokens, before any snapshot is read.
    registry: TokenRegistry,
}

impl PoolView {
    /// Reads every pool once — so the first quotes need not wait for the
    /// background — then re-reads them every `every` until `stop`. A failed read
    /// is logged; quotes are refused once the last good one is `max_age` old.
    pub async fn start(
        pg: PgPool,
        registry: TokenRegistry,
        every: Duration,
        max_age: Duration,
        stop: CancellationToken,
    ) -> Self {
        let (tx, latest) = watch::channel(None);
        let mut refresher = Refresher { pg, tx, failing: false, max_age, registry: registry.clone() };
        refresher.refresh().await;
        tokio::spawn(refresher.run(every, stop));
        Self { latest, max_age, registry }
    }

    /// The tokens an order may name: the configured ones and those launched
    /// by the latest snapshot, however old (a launch is never undone).
    pub fn tokens(&self) -> TokenRegistry {
        self.latest.borrow().as_ref().map_or_else(|| self.registry.clone(), |s| s.tokens.clone())
    }

    /// The launched tokens of the latest snapshot, however old.
    pub fn launches(&self) -> Vec<Launch> {
        self.latest.borrow().as_ref().map(|s| s.launches.clone()).unwrap_or_default()
    }

    /// Whether the latest snapshot, however old, has a pool for the pair.
    pub fn has_pool(&self, mint_a: &str, mint_b: &str) -> bool {
        self.latest.borrow().as_ref().is_some_and(|s| s.has_pool(mint_a, mint_b))
    }

    /// The latest snapshot, or `UNAVAILABLE` when it is older than the bound
    /// (or none was ever read).
    pub fn fresh(&self) -> Result<Arc<Snapshot>, StoreError> {
        let latest = self.latest.borrow().clone();
        match latest {
            Some(snapshot) if snapshot.read_at.elapsed() <= self.max_age => Ok(snapshot),
            Some(snapshot) => Err(stale(format!(
                "the pool states are {} ms old (the bound is {} ms)",
                snapshot.read_at.elapsed().as_millis(),
                self.max_age.as_millis()
            ))),
            None => Err(stale("the pool states have not been read yet".to_owned())),
        }
    }
}

fn stale(reason: String) -> StoreError {
    StoreError::Unavailable { backend: Backend::Postgres, reason }
}

/// The background task behind a [`PoolView`].
struct Refresher {
    pg: PgPool,
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    /// Whether the last read failed (so a streak of failures is logged once).
    failing: bool,
    max_age: Duration,
    registry: TokenRegistry,
}

impl Refresher {
    async fn run(mut self, every: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is now: the pools were just read
        loop {
            tokio::select! {
                _ = ticks.tick() => self.refresh().await,
                () = stop.cancelled() => return,
            }
        }
    }

    /// Reads every pool and publishes the snapshot; on failure keeps the last.
    async fn refresh(&mut self) {
        let read_at = Instant::now();
        let (pools, launches) =
            tokio::join!(oee_store::chain::all_pools(&self.pg), oee_store::chain::launches(&self.pg));
        match pools.and_then(|pools| Ok((pools, launches?))) {
            Ok((pools, launches)) => {
                let tokens = self.registry.with_launched(launches.iter().map(|l| l.token.clone()));
                self.tx.send_replace(Some(Arc::new(Snapshot { pools, read_at, launches, tokens })));
                if std::mem::take(&mut self.failing) {
                    tracing::info!("the pool states are read again: quotes resume");
                }
            }
            Err(e) if !self.failing => {
                self.failing = true;
                let bound_ms = u64::try_from(self.max_age.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(error = %e, bound_ms, "could not read the pool states: quotes fail once they are older than the bound");
            }
            Err(e) => tracing::debug!(error = %e, "could not read the pool states"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oee_domain::TokenRegistry;

    const T0: i64 = 1_800_000_000;

    /// A snapshot's markets are the stored states as they are, at any time
    /// (a pool changes only through a transaction), in the venues' order.
    #[test]
    fn markets_are_the_stored_states_at_any_time() {
        let registry = TokenRegistry::default();
        let stored = oee_router::seed_pools(&registry, T0 - 3_600);
        let (sol, usdc) =
            (&registry.by_symbol("SOL").expect("sol").mint, &registry.by_symbol("USDC").expect("usdc").mint);
        let expected = |now: i64| -> Vec<Market> {
            Dex::ALL
                .into_iter()
                .map(|dex| {
                    let pool = stored.iter().find(|p| p.dex == dex && p.pairs(sol, usdc)).expect("pool").clone();
                    Market { pool, now }
                })
                .collect()
        };
        let snapshot = Snapshot::new(stored.clone(), Instant::now());
        let markets = |now| snapshot.markets(usdc, sol, now).into_iter().map(Result::unwrap).collect::<Vec<_>>();
        for now in [T0, T0 + 4, T0 + 5, T0 + 3_600] {
            assert_eq!(markets(now), expected(now), "at {now}");
        }
        assert!(snapshot.markets(sol, "nothing", T0).is_empty());
    }
}
