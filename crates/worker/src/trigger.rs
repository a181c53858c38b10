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
//!
//! **Sniper orders** are one more partition (`trigger:snipers`), shared out
//! with the pairs. Its owner holds every open sniper order and evaluates them
//! whenever any pool changes (a launch is a new pool in its own slot) or a
//! launched pool reaches its open time: an order fires on the first state in
//! which a pool pairs its tokenIn with its token, is open, holds at least its
//! `minLiquidity` of tokenIn, and routes its amount at or under its
//! `maxPrice`. A token named by symbol or by an unlisted mint is found among
//! the launched tokens (re-read with the pools, and at once when a pool of an
//! unknown token appears); the order's token is filled in, guarded on `open`,
//! just before the trigger.
//!
//! **Launched pairs** are partitions like the listed ones, from the next
//! rebalance after their launch: a limit order on a launched token rests in
//! its pair's books.

use crate::executor::Executor;
use crate::metrics::METRICS;
use crate::snipers::SniperBook;
use chrono::Utc;
use oee_domain::{Dex, EventDetail, OrderStatus, RecordedEvent, StatusEvent, Token, TokenRegistry, Trigger};
use oee_router::{Book, Fired, Listing, Market, Pool, Resting, VenueError, triggered};
use oee_store::{Notice, OpenOrder, OrderRecord, PgPool, PoolChanges, RestingFeed, StoreError};
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

/// One partition's orders, and what they were last evaluated against.
struct Partition {
    orders: Orders,
    /// The highest pool slot of the partition at the last evaluation.
    slot: u64,
    evaluated: Instant,
    /// Orders changed since (an order armed): evaluate again.
    dirty: bool,
    /// The earliest open time (unix seconds) of a pool that was not open at
    /// the last evaluation: evaluate again once it passes.
    opens_at: Option<i64>,
}

/// A partition's resting orders.
enum Orders {
    /// A pair's books: `(base → quote, quote → base)`.
    Pair(Box<[Book; 2]>),
    /// Every open sniper order.
    Snipers(SniperBook),
}

impl Orders {
    fn len(&self) -> usize {
        match self {
            Self::Pair(books) => books.iter().map(Book::len).sum(),
            Self::Snipers(book) => book.len(),
        }
    }
}

/// A partition: a pair by its two mints, base first, or the sniper orders.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PairKey {
    Pair(String, String),
    Snipers,
}

/// The pools as the engine knows them: the latest state of each (by slot),
/// where it is in the pool-change stream, and when it last re-read them all;
/// and the tokens, with those launched so far.
struct Pools {
    states: HashMap<String, Pool>,
    position: String,
    refreshed: Instant,
    tokens: TokenRegistry,
    /// The pairs launches made, `(token, quote)`.
    launched: Vec<(String, String)>,
}

impl Pools {
    /// Keeps `pool` if it is at least as recent as the state held. Returns
    /// whether its tokens are unknown (a launch since the last read).
    fn update(&mut self, pool: Pool) -> bool {
        let unknown = [&pool.mint_base, &pool.mint_quote].iter().any(|m| self.tokens.resolve(m).is_none());
        self.keep(pool);
        unknown
    }

    fn keep(&mut self, pool: Pool) {
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
        let mut pools = Pools {
            states: HashMap::new(),
            position: "0-0".to_owned(),
            refreshed: Instant::now(),
            tokens: self.registry.clone(),
            launched: Vec::new(),
        };
        let mut pools_known = false;
        let mut balanced = Instant::now() - self.lease;
        while !stop.is_cancelled() {
            if balanced.elapsed() >= self.lease / 3 {
                balanced = Instant::now();
                if let Err(e) = self.rebalance(&mut owned, &mut position, &pools).await {
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
        for key in owned.keys() {
            let _ = self.executor.bus.locks.release(&lease_name(key), &self.member).await;
        }
        let _ = self.executor.bus.locks.leave(GROUP, &self.member).await;
        info!(pairs = owned.len(), "trigger engine stopped; its pairs are free");
    }

    /// Every partition: the listed pairs, the launched ones, the snipers.
    fn pairs(&self, pools: &Pools) -> Vec<PairKey> {
        let listed = self.listing.pairs().iter().map(|p| (p.mint_base.clone(), p.mint_quote.clone()));
        let mut keys: Vec<PairKey> =
            listed.chain(pools.launched.iter().cloned()).map(|(b, q)| PairKey::Pair(b, q)).collect();
        keys.push(PairKey::Snipers);
        keys
    }

    /// Renews the pairs held, gives up the excess over the fair share, takes
    /// free pairs up to it (loading their books).
    async fn rebalance(
        &self,
        owned: &mut HashMap<PairKey, Partition>,
        position: &mut String,
        pools: &Pools,
    ) -> Result<(), StoreError> {
        let leases = &self.executor.bus.locks;
        let members = leases.members(GROUP, &self.member, Utc::now().timestamp_millis(), self.lease).await?;
        let pairs = self.pairs(pools);
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
            // A load can outlast the leases (a million orders take seconds):
            // they, this pair's and the membership are renewed meanwhile.
            let load = self.load(pair, &pools.tokens);
            tokio::pin!(load);
            let mut renewals = tokio::time::interval(self.lease / 3);
            renewals.tick().await; // the first tick is now: the lease was just taken
            let loaded = loop {
                tokio::select! {
                    loaded = &mut load => break loaded,
                    _ = renewals.tick() => self.keep_alive(owned.keys().chain(std::iter::once(pair))).await,
                }
            };
            let partition = match loaded {
                Ok(p) => p,
                Err(e) => {
                    let _ = leases.release(&lease_name(pair), &self.member).await;
                    return Err(e);
                }
            };
            let resting = partition.orders.len();
            info!(pair = %pair_label(pair), resting, ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX), "took a pair over");
            METRICS.book_rebuild.observe(started.elapsed().as_secs_f64());
            owned.insert(pair.clone(), partition);
        }
        METRICS.resting.set(owned.values().map(|p| p.orders.len()).sum::<usize>() as i64);
        Ok(())
    }

    /// Renews the leases on `keys` and this process's membership, while a
    /// takeover's load runs; a lease lost meanwhile is found (and its books
    /// dropped) by the next rebalance.
    async fn keep_alive(&self, keys: impl Iterator<Item = &PairKey>) {
        let leases = &self.executor.bus.locks;
        let renewals = keys.map(|key| async move {
            match leases.hold(&lease_name(key), &self.member, self.lease).await {
                Ok(true) => {}
                Ok(false) => warn!(pair = %pair_label(key), "lost the lease on a pair while loading another"),
                Err(e) => warn!(error = %e, "could not renew a pair's lease while loading another"),
            }
        });
        futures::future::join_all(renewals).await;
        if let Err(e) = leases.members(GROUP, &self.member, Utc::now().timestamp_millis(), self.lease).await {
            warn!(error = %e, "could not renew the trigger engine's membership while loading");
        }
    }

    /// The partition's open orders from PostgreSQL: a pair's in a book per
    /// direction, or every sniper order.
    async fn load(&self, key: &PairKey, tokens: &TokenRegistry) -> Result<Partition, StoreError> {
        let fresh = |orders| Partition {
            orders,
            slot: 0,
            evaluated: Instant::now() - EVALUATE_EVERY,
            dirty: true,
            opens_at: None,
        };
        let (base, quote) = match key {
            PairKey::Pair(base, quote) => (base, quote),
            PairKey::Snipers => {
                let snipers = self.executor.orders.open_snipers().await?;
                return Ok(fresh(Orders::Snipers(SniperBook::from_orders(snipers))));
            }
        };
        let directions = [(base.clone(), quote.clone()), (quote.clone(), base.clone())];
        let open = self.executor.orders.open_orders(&directions).await?;
        let mut orders: [Vec<Resting>; 2] = [Vec::new(), Vec::new()];
        for o in &open {
            orders[usize::from(o.mint_in != *base)].push(resting(o));
        }
        let [forward, back] = orders;
        let book = |mint_in: &str, mint_out: &str, orders| -> Result<Book, StoreError> {
            let token = |mint: &str| {
                tokens.resolve(mint).cloned().ok_or_else(|| StoreError::corrupt(format!("unknown mint {mint}")))
            };
            Ok(Book::from_orders(token(mint_in)?, token(mint_out)?, orders))
        };
        Ok(fresh(Orders::Pair(Box::new([book(base, quote, forward)?, book(quote, base, back)?]))))
    }

    /// Re-reads the launched tokens (and so the launched pairs).
    async fn refresh_tokens(&self, pools: &mut Pools) -> Result<(), StoreError> {
        let launches = oee_store::chain::launches(&self.pg).await?;
        pools.launched = launches.iter().map(|l| (l.token.mint.clone(), l.quote_mint.clone())).collect();
        pools.tokens = self.registry.with_launched(launches.into_iter().map(|l| l.token));
        Ok(())
    }

    /// Re-reads every pool from PostgreSQL (first noting the stream's
    /// position, when `from_here`).
    async fn refresh_pools(&self, pools: &mut Pools, from_here: bool) -> Result<(), StoreError> {
        if from_here {
            pools.position = self.pool_changes.last_id().await?;
        }
        self.refresh_tokens(pools).await?;
        for pool in oee_store::chain::all_pools(&self.pg).await? {
            pools.keep(pool);
        }
        pools.refreshed = Instant::now();
        Ok(())
    }

    /// Applies the pool changes published since the last read, waiting up to a
    /// poll for the first.
    async fn read_pool_changes(&self, pools: &mut Pools) -> Result<(), StoreError> {
        let changes = self.pool_changes.read_after(&pools.position, FEED_BATCH, Some(self.poll)).await?;
        let mut launched = false;
        for change in changes {
            pools.position = change.id;
            for pool in change.pools {
                launched |= pools.update(pool);
            }
        }
        if launched {
            self.refresh_tokens(pools).await?;
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
            if let Some(partition) = owned.get_mut(&PairKey::Snipers)
                && let Orders::Snipers(snipers) = &mut partition.orders
            {
                match &notice {
                    Notice::Open(o) if o.sniper => {
                        // Its terms are in PostgreSQL.
                        if let Some(order) = self.executor.orders.get(o.id).await?
                            && order.status == OrderStatus::Open
                        {
                            snipers.insert(order);
                            partition.dirty = true;
                        }
                        continue;
                    }
                    Notice::Closed { id, .. } => {
                        snipers.remove(id);
                    }
                    Notice::Open(_) => {}
                }
            }
            if matches!(&notice, Notice::Open(o) if o.sniper) {
                continue;
            }
            let (mint_in, mint_out) = notice.pair();
            let Some((key, direction)) = key_of(owned, mint_in, mint_out) else { continue };
            let Some(partition) = owned.get_mut(&key) else { continue };
            let Orders::Pair(books) = &mut partition.orders else { continue };
            let book = &mut books[direction];
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

    /// Fires what the pools now reach, and what has expired, in the partitions owned.
    async fn evaluate(&self, owned: &mut HashMap<PairKey, Partition>, pools: &Pools) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut fired: Vec<(Fired, PairKey, usize)> = Vec::new();
        let mut expired: Vec<(Resting, PairKey, usize)> = Vec::new();
        let mut snipes: Vec<(OrderRecord, Token, Trigger)> = Vec::new();
        let mut snipers_expired: Vec<OrderRecord> = Vec::new();
        for (key, partition) in owned.iter_mut() {
            let PairKey::Pair(base, quote) = key else {
                let Orders::Snipers(book) = &mut partition.orders else { continue };
                snipers_expired.extend(book.take_expired(now));
                // A move of a pool of a token waited for (a launch is one), or
                // an open time passing.
                let targets = book.known_targets(&pools.tokens);
                let of_targets =
                    pools.states.values().filter(|p| targets.contains(&p.mint_base) || targets.contains(&p.mint_quote));
                let slot = of_targets.map(|p| p.slot).max().unwrap_or(0);
                let opened = partition.opens_at.is_some_and(|at| now.timestamp() >= at);
                if slot == partition.slot
                    && !partition.dirty
                    && !opened
                    && partition.evaluated.elapsed() < EVALUATE_EVERY
                {
                    continue;
                }
                (partition.slot, partition.dirty, partition.evaluated) = (slot, false, Instant::now());
                partition.opens_at =
                    pools.states.values().filter_map(|p| p.open_at).filter(|at| *at > now.timestamp()).min();
                snipes.extend(book.take_sniped(pools.states.values(), &pools.tokens, now.timestamp()));
                continue;
            };
            let Orders::Pair(books) = &mut partition.orders else { continue };
            for (direction, book) in books.iter_mut().enumerate() {
                for order in book.take_expired(now.timestamp_millis()) {
                    expired.push((order, key.clone(), direction));
                }
            }
            // In the venues' order, as `plan` takes them.
            let mut of_pair: Vec<&Pool> = pools.states.values().filter(|p| p.pairs(base, quote)).collect();
            of_pair.sort_by_key(|p| Dex::ALL.iter().position(|d| *d == p.dex));
            let slot = of_pair.iter().map(|p| p.slot).max().unwrap_or(0);
            if slot == partition.slot && !partition.dirty && partition.evaluated.elapsed() < EVALUATE_EVERY {
                continue;
            }
            let started = Instant::now();
            (partition.slot, partition.dirty, partition.evaluated) = (slot, false, started);
            let markets: Vec<Result<Market, VenueError>> =
                of_pair.iter().map(|p| Ok(Market { pool: (*p).clone(), now: now.timestamp() })).collect();
            for (direction, book) in books.iter_mut().enumerate() {
                for f in triggered(book, &markets) {
                    book.remove(f.order.id);
                    fired.push((f, key.clone(), direction));
                }
            }
            METRICS.book_evaluation.observe(started.elapsed().as_secs_f64());
        }
        let fires = fired
            .iter()
            .map(|(f, _, _)| self.fire(Uuid::from_u128(f.order.id), Trigger { slot: f.slot, price: f.price.clone() }));
        let expiries = expired.iter().map(|(order, key, direction)| {
            let PairKey::Pair(base, quote) = key else { unreachable!("only pairs have books") };
            let pair = if *direction == 0 { (base.as_str(), quote.as_str()) } else { (quote.as_str(), base.as_str()) };
            self.expire(Uuid::from_u128(order.id), pair)
        });
        let snipes_done = snipes.iter().map(|(order, token, trigger)| self.snipe(order, token, trigger.clone()));
        let sniper_expiries = snipers_expired
            .iter()
            .map(|o| self.expire(o.id, (o.spec.token_in.mint.as_str(), o.spec.token_out.mint.as_str())));
        let (fires, expiries, snipes_done, sniper_expiries) = tokio::join!(
            futures::future::join_all(fires),
            futures::future::join_all(expiries),
            futures::future::join_all(snipes_done),
            futures::future::join_all(sniper_expiries),
        );
        let orders = fired.iter().map(|(f, pair, direction)| (&f.order, pair, *direction));
        let outcomes = orders.zip(fires).chain(expired.iter().map(|(o, pair, d)| (o, pair, *d)).zip(expiries));
        for ((order, pair, direction), result) in outcomes {
            if let Err(e) = result {
                // Nothing was recorded (or it is unknown whether it was: the
                // guard makes a second try harmless): back in its book, it is
                // evaluated again (at the latest by the once-a-second pass).
                warn!(error = %e, "a trigger or an expiry could not be recorded; the order is evaluated again");
                if let Some(partition) = owned.get_mut(pair)
                    && let Orders::Pair(books) = &mut partition.orders
                {
                    books[direction].insert(*order);
                }
            }
        }
        let sniper_outcomes = snipes.into_iter().map(|(o, _, _)| o).zip(snipes_done);
        for (order, result) in sniper_outcomes.chain(snipers_expired.into_iter().zip(sniper_expiries)) {
            if let Err(e) = result {
                warn!(error = %e, "a sniper's trigger or expiry could not be recorded; the order is evaluated again");
                if let Some(partition) = owned.get_mut(&PairKey::Snipers)
                    && let Orders::Snipers(snipers) = &mut partition.orders
                {
                    snipers.insert(order);
                    partition.dirty = true;
                }
            }
        }
        Ok(())
    }

    /// A sniper's trigger: its token filled in (if it was not known), then
    /// the guarded `open → routing`.
    async fn snipe(&self, order: &OrderRecord, token: &Token, trigger: Trigger) -> Result<(), StoreError> {
        if !order.spec.target_known() && !self.executor.orders.resolve_target(order.id, token).await? {
            return Ok(()); // no longer open
        }
        self.fire(order.id, trigger).await
    }

    /// The guarded `open → routing` transition, then the job. An order that
    /// is no longer open (cancelled, or fired by another owner) is left alone.
    async fn fire(&self, id: Uuid, trigger: Trigger) -> Result<(), StoreError> {
        let Some(order) = self.executor.orders.get(id).await? else { return Ok(()) };
        if order.status != OrderStatus::Open {
            return Ok(());
        }
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

    /// The guarded `open → expired` transition of an order of `pair` (`(mint_in, mint_out)`).
    async fn expire(&self, id: Uuid, pair: (&str, &str)) -> Result<(), StoreError> {
        let Some(record) = self.executor.orders.get(id).await? else { return Ok(()) };
        let Some(expires_at) = record.spec.expires_at() else { return Ok(()) };
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
        let json = event.map(|e| e.json).unwrap_or_default();
        self.executor.bus.publish_and_close(id, std::iter::once(json.as_str()), pair).await
    }
}

/// The book an order of `mint_in → mint_out` belongs in, if this process owns its pair.
fn key_of(owned: &HashMap<PairKey, Partition>, mint_in: &str, mint_out: &str) -> Option<(PairKey, usize)> {
    let forward = PairKey::Pair(mint_in.to_owned(), mint_out.to_owned());
    if owned.contains_key(&forward) {
        return Some((forward, 0));
    }
    let back = PairKey::Pair(mint_out.to_owned(), mint_in.to_owned());
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

fn lease_name(key: &PairKey) -> String {
    match key {
        PairKey::Pair(base, quote) => format!("trigger:{base}:{quote}"),
        PairKey::Snipers => "trigger:snipers".to_owned(),
    }
}

fn pair_label(key: &PairKey) -> String {
    match key {
        PairKey::Pair(base, quote) => format!("{base}/{quote}"),
        PairKey::Snipers => "snipers".to_owned(),
    }
}
