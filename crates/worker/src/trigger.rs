//! The trigger engine: resting limit orders held in memory, fired when the
//! market reaches them.
//!
//! **Partitions.** The work is split by pair (both directions of one pair
//! together: one pool move concerns both). Each pair is owned by one worker at
//! a time under a Redis lease, renewed at a third of its time to live. Workers
//! announce themselves; each takes its fair share of the pairs (`⌈pairs ÷
//! workers⌉`), preferring those the sorted member list assigns it, and gives
//! up the excess when another joins. A worker that dies stops renewing and its
//! pairs are taken over once its leases expire.
//!
//! **Books.** Taking a pair over, an owner first notes its position in the
//! resting-order feed, then loads the pair's open orders from PostgreSQL (the
//! system of record) into a [`Book`] per direction, then applies every notice
//! after the noted position: nothing armed or cancelled meanwhile is missed.
//!
//! **Pool moves** come from the pool-change stream (`{ns}:pools`: every landed
//! transaction's new pool states, with its slot), read with a blocking read so
//! a move is seen as soon as it is published; per pool the state with the
//! highest slot wins (appends from different processes may arrive out of slot
//! order). Every second the pools are also re-read from PostgreSQL, which
//! covers an append lost to a crash between a commit and its publish.
//!
//! **Firing.** An owner evaluates the books whose pools changed (or that
//! changed themselves, or that were not evaluated for a while): [`triggered`]
//! gives the orders whose own route now returns their minimum. The trigger is one guarded transition in
//! PostgreSQL, `open → routing` with the `trigger` recorded, after which the
//! order is queued as a job like any market order; two owners during a
//! handover, or a cancel racing the trigger, cannot both win. Orders past
//! their `expiresAt` end `expired` the same way.

use crate::executor::Executor;
use crate::metrics::METRICS;
use chrono::Utc;
use oee_domain::{Dex, EventDetail, OrderStatus, RecordedEvent, StatusEvent, TokenRegistry, Trigger};
use oee_router::{Book, Fired, Listing, Market, Pool, Resting, VenueError, triggered};
use oee_store::{Notice, OpenOrder, PgPool, PoolChanges, RestingFeed, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

/// The group whose members share the pairs.
const GROUP: &str = "trigger";
/// Notices read per round trip.
const FEED_BATCH: u64 = 1_000;
/// Books are evaluated at least this often even when nothing changed (a pool
/// change between two reads of the same slot is impossible, but the clock
/// moves DLMM fees and expiries).
const EVALUATE_EVERY: Duration = Duration::from_secs(1);

/// One pair's books: both directions, and what they were last evaluated against.
struct Partition {
    /// `(base → quote, quote → base)`.
    books: [Book; 2],
    /// The highest pool slot of the pair at the last evaluation.
    slot: u64,
    evaluated: Instant,
    /// Books changed since (an order armed): evaluate again.
    dirty: bool,
}

/// A pair by its two mints, base first.
type PairKey = (String, String);

/// The pools as the engine knows them: the latest state of each (by slot),
/// where it is in the pool-change stream, and when it last re-read them all.
struct Pools {
    states: HashMap<String, Pool>,
    position: String,
    refreshed: Instant,
}

impl Pools {
    /// Keeps `pool` if it is at least as recent as the state held.
    fn update(&mut self, pool: Pool) {
        match self.states.get(&pool.id) {
            Some(held) if held.slot > pool.slot => {}
            _ => {
                self.states.insert(pool.id.clone(), pool);
            }
        }
    }
}

/// The trigger engine of one worker process.
#[derive(Debug)]
pub struct TriggerEngine {
    pub(crate) executor: Executor,
    pub(crate) pg: PgPool,
    /// On a client of its own: reads block.
    pub(crate) feed: RestingFeed,
    /// The pool-change stream, on a client of its own (reads block).
    pub(crate) pool_changes: PoolChanges,
    pub(crate) registry: TokenRegistry,
    pub(crate) listing: Listing,
    /// This process's name in the group.
    pub(crate) member: String,
    pub(crate) lease: Duration,
    pub(crate) poll: Duration,
}

impl TriggerEngine {
    /// Runs until `stop`: keeps its share of the pairs, their books, and fires.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut owned: HashMap<PairKey, Partition> = HashMap::new();
        let mut position = "0-0".to_owned();
        let mut pools = Pools { states: HashMap::new(), position: "0-0".to_owned(), refreshed: Instant::now() };
        let mut pools_known = false;
        let mut balanced = Instant::now() - self.lease;
        while !stop.is_cancelled() {
            if balanced.elapsed() >= self.lease / 3 {
                balanced = Instant::now();
                if let Err(e) = self.rebalance(&mut owned, &mut position).await {
                    warn!(error = %e, "could not renew or take the trigger engine's pairs");
                }
            }
            if owned.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(self.lease / 3) => continue,
                }
            }
            if !pools_known || pools.refreshed.elapsed() >= EVALUATE_EVERY {
                // The stream's position first, then the states: nothing between is missed.
                match self.refresh_pools(&mut pools, !pools_known).await {
                    Ok(()) => pools_known = true,
                    Err(e) => {
                        warn!(error = %e, "could not read the pools");
                        tokio::time::sleep(self.poll).await;
                        continue;
                    }
                }
            }
            if let Err(e) = self.read_feed(&mut owned, &mut position).await {
                warn!(error = %e, "could not read the resting-order feed");
                tokio::time::sleep(self.poll).await;
            }
            if let Err(e) = self.read_pool_changes(&mut pools).await {
                warn!(error = %e, "could not read the pool-change stream");
                tokio::time::sleep(self.poll).await;
            }
            if let Err(e) = self.evaluate(&mut owned, &pools).await {
                warn!(error = %e, "could not evaluate the limit-order books");
                tokio::time::sleep(self.poll).await;
            }
        }
        for pair in owned.keys() {
            let _ = self.executor.bus.locks.release(&lease_name(pair), &self.member).await;
        }
        let _ = self.executor.bus.locks.leave(GROUP, &self.member).await;
        info!(pairs = owned.len(), "trigger engine stopped; its pairs are free");
    }

    fn pairs(&self) -> Vec<PairKey> {
        self.listing.pairs().iter().map(|p| (p.mint_base.clone(), p.mint_quote.clone())).collect()
    }

    /// Renews the pairs held, gives up the excess over the fair share, takes
    /// free pairs up to it (loading their books).
    async fn rebalance(
        &self,
        owned: &mut HashMap<PairKey, Partition>,
        position: &mut String,
    ) -> Result<(), StoreError> {
        let leases = &self.executor.bus.locks;
        let members = leases.members(GROUP, &self.member, Utc::now().timestamp_millis(), self.lease).await?;
        let pairs = self.pairs();
        let share = pairs.len().div_ceil(members.len().max(1));
        let me = members.iter().position(|m| *m == self.member).unwrap_or(0);
        // Mine first: the pairs the sorted member list assigns this process.
        let mut preferred: Vec<&PairKey> = pairs.iter().skip(me).step_by(members.len().max(1)).collect();
        preferred.extend(pairs.iter().filter(|p| !preferred.contains(p)).collect::<Vec<_>>());

        let held: Vec<PairKey> = owned.keys().cloned().collect();
        for pair in held {
            if !leases.hold(&lease_name(&pair), &self.member, self.lease).await? {
                warn!(pair = %pair_label(&pair), "lost the lease on a pair; dropping its books");
                owned.remove(&pair);
            }
        }
        // Give up the pairs over the share, the least preferred first.
        while owned.len() > share {
            let Some(pair) = preferred.iter().rev().find(|p| owned.contains_key(**p)).map(|p| (*p).clone()) else {
                break;
            };
            owned.remove(&pair);
            leases.release(&lease_name(&pair), &self.member).await?;
            info!(pair = %pair_label(&pair), "gave a pair up to rebalance");
        }
        for pair in preferred {
            if owned.len() >= share {
                break;
            }
            if owned.contains_key(pair) || !leases.hold(&lease_name(pair), &self.member, self.lease).await? {
                continue;
            }
            let started = Instant::now();
            if owned.is_empty() {
                // Nothing read yet: start from here.
                *position = self.feed.last_id().await?;
            }
            // Notices after `position` are applied on top of what is loaded
            // now: the feed's position was noted first, so nothing is missed.
            let partition = match self.load(pair).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = leases.release(&lease_name(pair), &self.member).await;
                    return Err(e);
                }
            };
            let resting = partition.books.iter().map(Book::len).sum::<usize>();
            info!(pair = %pair_label(pair), resting, ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX), "took a pair over");
            METRICS.book_rebuild.observe(started.elapsed().as_secs_f64());
            owned.insert(pair.clone(), partition);
        }
        METRICS.resting.set(owned.values().flat_map(|p| p.books.iter()).map(Book::len).sum::<usize>() as i64);
        Ok(())
    }

    /// The pair's open orders from PostgreSQL, in a book per direction.
    async fn load(&self, pair: &PairKey) -> Result<Partition, StoreError> {
        let (base, quote) = pair;
        let directions = [(base.clone(), quote.clone()), (quote.clone(), base.clone())];
        let open = self.executor.orders.open_orders(&directions).await?;
        let mut orders: [Vec<Resting>; 2] = [Vec::new(), Vec::new()];
        for o in &open {
            orders[usize::from(o.mint_in != *base)].push(resting(o));
        }
        let [forward, back] = orders;
        let book = |mint_in: &str, mint_out: &str, orders| -> Result<Book, StoreError> {
            let token = |mint: &str| {
                self.registry.resolve(mint).cloned().ok_or_else(|| StoreError::corrupt(format!("unknown mint {mint}")))
            };
            Ok(Book::from_orders(token(mint_in)?, token(mint_out)?, orders))
        };
        Ok(Partition {
            books: [book(base, quote, forward)?, book(quote, base, back)?],
            slot: 0,
            evaluated: Instant::now() - EVALUATE_EVERY,
            dirty: true,
        })
    }

    /// Re-reads every pool from PostgreSQL (first noting the stream's
    /// position, when `from_here`).
    async fn refresh_pools(&self, pools: &mut Pools, from_here: bool) -> Result<(), StoreError> {
        if from_here {
            pools.position = self.pool_changes.last_id().await?;
        }
        for pool in oee_store::chain::all_pools(&self.pg).await? {
            pools.update(pool);
        }
        pools.refreshed = Instant::now();
        Ok(())
    }

    /// Applies the pool changes published since the last read, waiting up to a
    /// poll for the first.
    async fn read_pool_changes(&self, pools: &mut Pools) -> Result<(), StoreError> {
        let changes = self.pool_changes.read_after(&pools.position, FEED_BATCH, Some(self.poll)).await?;
        for change in changes {
            pools.position = change.id;
            for pool in change.pools {
                pools.update(pool);
            }
        }
        Ok(())
    }

    /// Applies the notices after `position` to the books owned.
    async fn read_feed(
        &self,
        owned: &mut HashMap<PairKey, Partition>,
        position: &mut String,
    ) -> Result<(), StoreError> {
        let notices = self.feed.read_after(position, FEED_BATCH, Duration::ZERO).await?;
        for (entry, notice) in notices {
            *position = entry;
            let Some(notice) = notice else { continue };
            let (mint_in, mint_out) = notice.pair();
            let Some((key, direction)) = key_of(owned, mint_in, mint_out) else { continue };
            let Some(partition) = owned.get_mut(&key) else { continue };
            let book = &mut partition.books[direction];
            match &notice {
                Notice::Open(o) => {
                    if book.insert(resting(o)) {
                        partition.dirty = true;
                    }
                }
                Notice::Closed { id, .. } => {
                    book.remove(id.as_u128());
                }
            }
        }
        Ok(())
    }

    /// Fires what the pools now reach, and what has expired, in the books owned.
    async fn evaluate(&self, owned: &mut HashMap<PairKey, Partition>, pools: &Pools) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut fired: Vec<(Fired, PairKey, usize)> = Vec::new();
        let mut expired: Vec<(Resting, PairKey, usize)> = Vec::new();
        for (key, partition) in owned.iter_mut() {
            for (direction, book) in partition.books.iter_mut().enumerate() {
                for order in book.take_expired(now.timestamp_millis()) {
                    expired.push((order, key.clone(), direction));
                }
            }
            // In the venues' order, as `plan` takes them.
            let mut of_pair: Vec<&Pool> = pools.states.values().filter(|p| p.pairs(&key.0, &key.1)).collect();
            of_pair.sort_by_key(|p| Dex::ALL.iter().position(|d| *d == p.dex));
            let slot = of_pair.iter().map(|p| p.slot).max().unwrap_or(0);
            if slot == partition.slot && !partition.dirty && partition.evaluated.elapsed() < EVALUATE_EVERY {
                continue;
            }
            let started = Instant::now();
            (partition.slot, partition.dirty, partition.evaluated) = (slot, false, started);
            let markets: Vec<Result<Market, VenueError>> =
                of_pair.iter().map(|p| Ok(Market { pool: (*p).clone(), now: now.timestamp() })).collect();
            for (direction, book) in partition.books.iter_mut().enumerate() {
                for f in triggered(book, &markets) {
                    book.remove(f.order.id);
                    fired.push((f, key.clone(), direction));
                }
            }
            METRICS.book_evaluation.observe(started.elapsed().as_secs_f64());
        }
        let fires = fired.iter().map(|(f, _, _)| self.fire(f));
        let expiries = expired.iter().map(|(order, pair, direction)| self.expire(order, pair, *direction));
        let (fires, expiries) = tokio::join!(futures::future::join_all(fires), futures::future::join_all(expiries));
        let orders = fired.iter().map(|(f, pair, direction)| (&f.order, pair, *direction));
        let outcomes = orders.zip(fires).chain(expired.iter().map(|(o, pair, d)| (o, pair, *d)).zip(expiries));
        for ((order, pair, direction), result) in outcomes {
            if let Err(e) = result {
                // Nothing was recorded (or it is unknown whether it was: the
                // guard makes a second try harmless): back in its book, it is
                // evaluated again (at the latest by the once-a-second pass).
                warn!(error = %e, "a trigger or an expiry could not be recorded; the order is evaluated again");
                if let Some(partition) = owned.get_mut(pair) {
                    partition.books[direction].insert(*order);
                }
            }
        }
        Ok(())
    }

    /// The guarded `open → routing` transition, then the job. An order that
    /// is no longer open (cancelled, or fired by another owner) is left alone.
    async fn fire(&self, fired: &Fired) -> Result<(), StoreError> {
        let id = Uuid::from_u128(fired.order.id);
        let Some(order) = self.executor.orders.get(id).await? else { return Ok(()) };
        if order.status != OrderStatus::Open {
            return Ok(());
        }
        let trigger = Trigger { slot: fired.slot, price: fired.price.clone() };
        let detail = EventDetail::Routing { attempt: order.attempts + 1, last_error: None, trigger: Some(trigger) };
        let event = RecordedEvent::new(StatusEvent::new(id, order.last_seq + 1, Utc::now(), detail));
        let (recorded, event) = self.executor.events.record(event).await;
        if !recorded? {
            return Ok(());
        }
        METRICS.triggered.inc();
        // The order is `routing` and durable; should queueing fail, the sweeper
        // finds it (an unfinished order without a job).
        let json = event.map(|e| e.json).unwrap_or_default();
        let bus = &self.executor.bus;
        let (queued, published) = tokio::join!(bus.enqueue(id), bus.fanout.publish(id, &json));
        if let Err(e) = published {
            warn!(order_id = %id, error = %e, "could not publish a trigger");
        }
        queued
    }

    /// The guarded `open → expired` transition.
    async fn expire(&self, order: &Resting, pair: &PairKey, direction: usize) -> Result<(), StoreError> {
        let id = Uuid::from_u128(order.id);
        let Some(record) = self.executor.orders.get(id).await? else { return Ok(()) };
        let Some(expires_at) = record.spec.limit.as_ref().and_then(|l| l.expires_at) else { return Ok(()) };
        if record.status != OrderStatus::Open {
            return Ok(());
        }
        let event = RecordedEvent::new(StatusEvent::new(
            id,
            record.last_seq + 1,
            Utc::now(),
            EventDetail::Expired { expires_at },
        ));
        let (recorded, event) = self.executor.events.record(event).await;
        if !recorded? {
            return Ok(());
        }
        METRICS.expired.inc();
        let (mint_in, mint_out) = if direction == 0 { (&pair.0, &pair.1) } else { (&pair.1, &pair.0) };
        let json = event.map(|e| e.json).unwrap_or_default();
        self.executor.bus.publish_and_close(id, std::iter::once(json.as_str()), (mint_in, mint_out)).await
    }
}

/// The book an order of `mint_in → mint_out` belongs in, if this process owns its pair.
fn key_of(owned: &HashMap<PairKey, Partition>, mint_in: &str, mint_out: &str) -> Option<(PairKey, usize)> {
    let forward = (mint_in.to_owned(), mint_out.to_owned());
    if owned.contains_key(&forward) {
        return Some((forward, 0));
    }
    let back = (mint_out.to_owned(), mint_in.to_owned());
    owned.contains_key(&back).then_some((back, 1))
}

fn resting(o: &OpenOrder) -> Resting {
    Resting {
        id: o.id.as_u128(),
        amount_in: o.amount_in,
        min_amount_out: o.min_amount_out,
        expires_at_ms: o.expires_at.timestamp_millis(),
    }
}

fn lease_name(pair: &PairKey) -> String {
    format!("trigger:{}:{}", pair.0, pair.1)
}

fn pair_label(pair: &PairKey) -> String {
    format!("{}/{}", pair.0, pair.1)
}
