//! The simulated chain's pools as the API quotes from them: every pool read with
//! one query at start, re-read every `OEE_QUOTE_REFRESH_MS` in the background,
//! and shared by every HTTP worker. A quote reads no store and waits for no RPC:
//! it costs the route search alone.
//!
//! A [`Snapshot`] keeps each pool's stored state and, beside it, that state
//! brought up to the refresh's drift period. Outside trading is simulated once
//! per period ([`DRIFT_PERIOD_SECS`]), and replaying up to two minutes of it is
//! what a quote on a quiet pool would otherwise pay. A quote within the same
//! period uses the drifted state as it is; one after a period boundary (until
//! the next refresh) drifts the stored state itself. Both are exactly what the
//! worker's venues compute from the same stored state (they drift it to the
//! time of the quote, and drift depends on the period reached alone), so a quote
//! is the route an order submitted at that moment would take, unless a swap
//! lands in between.
//!
//! When refreshes fail (PostgreSQL down or too slow) the snapshot ages; past
//! `Settings::quote_max_age` (four refreshes, 1 s by default) quotes are
//! refused with 503 `UNAVAILABLE` rather than priced on states that old.

use oee_domain::Dex;
use oee_router::pool::DRIFT_PERIOD_SECS;
use oee_router::{Market, Pool, VenueError};
use oee_store::{Backend, PgPool, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Every pool at one moment.
#[derive(Debug)]
pub struct Snapshot {
    /// Every pool as stored, in id order.
    stored: Vec<Pool>,
    /// The same pools brought up to `period`.
    current: Vec<Pool>,
    /// The drift period `current` is at (unix seconds / [`DRIFT_PERIOD_SECS`]).
    period: i64,
    /// When the query that read them was sent: they are at least this fresh.
    read_at: Instant,
}

impl Snapshot {
    /// Builds a snapshot of `stored` at `now` (unix seconds), reusing the
    /// drifted states of `previous` for pools unchanged since, in the same period.
    fn new(stored: Vec<Pool>, previous: Option<&Self>, now: i64, read_at: Instant) -> Self {
        let period = now.div_euclid(DRIFT_PERIOD_SECS);
        let reusable = previous.filter(|p| p.period == period);
        let current = stored
            .iter()
            .map(|pool| {
                reusable
                    .and_then(|p| p.stored.iter().position(|old| old == pool).map(|i| p.current[i].clone()))
                    .unwrap_or_else(|| {
                        let mut drifted = pool.clone();
                        drifted.drift_to(now);
                        drifted
                    })
            })
            .collect();
        Self { stored, current, period, read_at }
    }

    /// The market of each venue's pool for the pair at `now` (unix seconds), in
    /// [`Dex::ALL`] order: what the worker's venues fetch for the same order.
    pub fn markets(&self, mint_in: &str, mint_out: &str, now: i64) -> Vec<Result<Market, VenueError>> {
        Dex::ALL
            .into_iter()
            .filter_map(|dex| {
                let i = self.stored.iter().position(|p| p.dex == dex && p.pairs(mint_in, mint_out))?;
                let pool = if self.period == now.div_euclid(DRIFT_PERIOD_SECS) {
                    self.current[i].clone()
                } else {
                    let mut drifted = self.stored[i].clone();
                    drifted.drift_to(now);
                    drifted
                };
                Some(Ok(Market { pool, now }))
            })
            .collect()
    }

    /// How many pools it holds.
    pub fn len(&self) -> usize {
        self.stored.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }
}

/// The latest snapshot, kept fresh by a background task; cheap to clone.
#[derive(Debug, Clone)]
pub struct PoolView {
    latest: watch::Receiver<Option<Arc<Snapshot>>>,
    max_age: Duration,
}

impl PoolView {
    /// Reads every pool once — so the first quotes need not wait for the
    /// background — then re-reads them every `every` until `stop`. A failed read
    /// is logged; quotes are refused once the last good one is `max_age` old.
    pub async fn start(pg: PgPool, every: Duration, max_age: Duration, stop: CancellationToken) -> Self {
        let (tx, latest) = watch::channel(None);
        let mut refresher = Refresher { pg, tx, failing: false, max_age };
        refresher.refresh().await;
        tokio::spawn(refresher.run(every, stop));
        Self { latest, max_age }
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
        match oee_store::chain::all_pools(&self.pg).await {
            Ok(stored) => {
                let now = chrono::Utc::now().timestamp();
                let previous = self.tx.borrow().clone();
                let snapshot = Snapshot::new(stored, previous.as_deref(), now, read_at);
                self.tx.send_replace(Some(Arc::new(snapshot)));
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

    /// A snapshot's markets are the stored states drifted to the quote's time,
    /// whether the drift was done at the refresh or at the quote, and in the
    /// venues' order.
    #[test]
    fn markets_are_the_stored_states_drifted_to_the_quote() {
        let registry = TokenRegistry::default();
        let stored = oee_router::seed_pools(&registry, T0 - 3_600);
        let (sol, usdc) =
            (&registry.by_symbol("SOL").expect("sol").mint, &registry.by_symbol("USDC").expect("usdc").mint);
        let expected = |now: i64| -> Vec<Market> {
            Dex::ALL
                .into_iter()
                .map(|dex| {
                    let mut pool = stored.iter().find(|p| p.dex == dex && p.pairs(sol, usdc)).expect("pool").clone();
                    pool.drift_to(now);
                    Market { pool, now }
                })
                .collect()
        };
        let snapshot = Snapshot::new(stored.clone(), None, T0, Instant::now());
        let markets = |now| snapshot.markets(usdc, sol, now).into_iter().map(Result::unwrap).collect::<Vec<_>>();
        assert_eq!(markets(T0 + 1), expected(T0 + 1), "within the refresh's period");
        assert_eq!(markets(T0 + 60), expected(T0 + 60), "periods after it");
        let again = Snapshot::new(stored, Some(&snapshot), T0 + 2, Instant::now());
        assert_eq!(again.current, snapshot.current, "unchanged pools keep their drifted states");
        assert!(snapshot.markets(sol, "nothing", T0).is_empty());
    }
}
