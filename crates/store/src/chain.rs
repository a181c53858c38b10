//! The simulated chain's ledger in PostgreSQL: pools and landed transactions
//! shared by every worker process, outliving any of them.
//!
//! Commits are batched: the swaps a process sends while its previous batch is
//! being written wait in a queue, and a *lane* lands up to [`MAX_BATCH`] of them
//! in one database transaction. It locks the union of their pools (`FOR UPDATE`,
//! in id order, so batches never deadlock), reads which of them already landed
//! (authoritative under those locks: landing a transaction needs its pools'
//! locks), applies the rest one after another in memory with the router's one
//! implementation of the swap logic — each against the state the previous one
//! left, each failing on its own (slippage, liquidity, expiry) without touching
//! the others — then writes each touched pool once and every receipt, with slots
//! in that order. A batch takes two round trips (its statements pipelined), so
//! per swap that is a fraction of a round trip and one pool write shared by the
//! batch, instead of five round trips and a pool write each; the
//! result is exactly as if the swaps had landed one by one in slot order. The
//! queue and lanes are the group-commit ones of [`crate::group_commit`]: a batch that
//! fails as a whole is retried swap by swap.
//!
//! Each pool row carries the slot of the last transaction that changed it
//! ([`Pool::slot`]), written with its state: the batch's receipts are inserted
//! first (drawing their slots) and the pool update, pipelined right behind them
//! on the same connection, reads each pool's last slot from those rows. So
//! replaying the receipts reproduces the pools, slots included.
//!
//! [`all_pools`] reads every pool at once, for a process that quotes without
//! landing anything (the API's snapshot).

use crate::error::{Backend, StoreError};
use crate::group_commit::{Batching, Committer, Lanes};
use async_trait::async_trait;
use deadpool_postgres::Pool as PgPool;
use oee_router::chain::apply;
use oee_router::{Landed, Ledger, Pool, Receipt, Transaction, VenueError};
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::types::{Json, ToSql};

/// Most swaps landed by one database transaction.
pub const MAX_BATCH: usize = 128;
/// Batches in flight at once per process.
const LANES: usize = 2;

/// A swap to land, with the chain time it is sent at.
struct Swap {
    tx: Transaction,
    now: i64,
}

/// Lands batches of swaps for [`Lanes`].
#[derive(Clone)]
struct Chain(PgPool);

impl Committer for Chain {
    type Item = Swap;
    type Answer = Result<Landed, VenueError>;

    async fn many<'a>(&'a self, swaps: &'a [&'a Swap]) -> Result<Vec<Self::Answer>, StoreError> {
        // A failed batch is retried swap by swap by the lanes.
        land(&self.0, swaps)
            .await
            .map_err(|e| StoreError::Unavailable { backend: Backend::Postgres, reason: e.to_string() })
    }

    async fn one<'a>(&'a self, swap: &'a Swap) -> Result<Self::Answer, StoreError> {
        Ok(match land(&self.0, &[swap]).await {
            Ok(mut results) => results.pop().unwrap_or_else(|| Err(VenueError::Unavailable("no result".to_owned()))),
            Err(e) => Err(e),
        })
    }
}

#[derive(Clone)]
pub struct PgLedger {
    pg: PgPool,
    lanes: Lanes<Chain>,
}

impl std::fmt::Debug for PgLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLedger").finish_non_exhaustive()
    }
}

impl PgLedger {
    /// A ledger over `pg`, with its commit lanes running on the current runtime.
    pub fn new(pg: PgPool) -> Self {
        Self::lingering(pg, std::time::Duration::ZERO)
    }

    /// Like [`PgLedger::new`], but a busy lane waits up to `linger` for more
    /// swaps before landing a batch (see [`crate::group_commit`]).
    pub fn lingering(pg: PgPool, linger: std::time::Duration) -> Self {
        Self { lanes: Lanes::start(Chain(pg.clone()), Batching { lanes: LANES, linger }, MAX_BATCH), pg }
    }

    /// The database the chain lives in.
    pub fn pg(&self) -> &PgPool {
        &self.pg
    }
}

fn unavailable(e: impl Into<StoreError>) -> VenueError {
    VenueError::Unavailable(e.into().to_string())
}

/// Decodes stored JSON from its text (integer map keys, such as DLMM bin ids, only
/// round-trip from text, not from a `serde_json::Value`).
fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, VenueError> {
    serde_json::from_str(text).map_err(|e| VenueError::Unavailable(format!("stored chain state is invalid: {e}")))
}

/// The first byte of a pool state as postcard with the `drift_epoch` field
/// pools had while their prices drifted implicitly with time (before pool
/// changes became transactions): still read, never written.
const POSTCARD_WITH_DRIFT: u8 = 1;
/// The first byte of a pool state as postcard without an open time, as
/// written before launches: still read, never written.
const POSTCARD_WITHOUT_OPEN_TIME: u8 = 2;
/// The first byte of a pool state as postcard, as written now (a JSON state,
/// from before migration V3, starts with `{`).
const POSTCARD: u8 = 3;

/// A pool's state as stored in `chain.pools` and published on the pool-change
/// stream: compact binary (postcard) behind a format byte. A DLMM pool is
/// ~2.8 KB this way against ~10 KB of JSON, so its row stays inline (see
/// migration V3) and PostgreSQL neither parses, compresses nor TOASTs it on
/// every batch that moves it. The slot is not part of it ([`Pool::slot`] is
/// kept beside the state).
pub fn encode_pool(pool: &Pool) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4096);
    bytes.push(POSTCARD);
    postcard::to_io(pool, &mut bytes).expect("a pool always encodes into memory");
    bytes
}

/// A pool as stored with [`POSTCARD_WITH_DRIFT`]: the fields of [`Pool`] in
/// order, then the drift period it had reached, which is read and dropped.
#[derive(serde::Deserialize)]
struct PoolWithDrift {
    id: String,
    dex: oee_domain::Dex,
    mint_base: String,
    mint_quote: String,
    curve: oee_router::pool::Curve,
    #[allow(dead_code, reason = "read to skip it: the encoding is positional")]
    drift_epoch: i64,
}

/// A pool as stored with [`POSTCARD_WITHOUT_OPEN_TIME`]: the fields of
/// [`Pool`] before it had an open time (every such pool is open).
#[derive(serde::Deserialize)]
struct PoolWithoutOpenTime {
    id: String,
    dex: oee_domain::Dex,
    mint_base: String,
    mint_quote: String,
    curve: oee_router::pool::Curve,
}

/// Reads a pool state written by [`encode_pool`], before pools had an open
/// time ([`POSTCARD_WITHOUT_OPEN_TIME`]), by an engine whose prices drifted
/// ([`POSTCARD_WITH_DRIFT`]), or as JSON before migration V3. The slot is
/// left 0 for the caller to set.
pub fn decode_pool(bytes: &[u8]) -> Result<Pool, VenueError> {
    let invalid = |e: &dyn std::fmt::Display| VenueError::Unavailable(format!("stored pool state is invalid: {e}"));
    match bytes.split_first() {
        Some((&POSTCARD, rest)) => postcard::from_bytes(rest).map_err(|e| invalid(&e)),
        Some((&POSTCARD_WITHOUT_OPEN_TIME, rest)) => {
            let old: PoolWithoutOpenTime = postcard::from_bytes(rest).map_err(|e| invalid(&e))?;
            let PoolWithoutOpenTime { id, dex, mint_base, mint_quote, curve } = old;
            Ok(Pool { id, dex, mint_base, mint_quote, curve, slot: 0, open_at: None })
        }
        Some((&POSTCARD_WITH_DRIFT, rest)) => {
            let old: PoolWithDrift = postcard::from_bytes(rest).map_err(|e| invalid(&e))?;
            let PoolWithDrift { id, dex, mint_base, mint_quote, curve, drift_epoch: _ } = old;
            Ok(Pool { id, dex, mint_base, mint_quote, curve, slot: 0, open_at: None })
        }
        Some((b'{', _)) => decode(std::str::from_utf8(bytes).map_err(|e| invalid(&e))?),
        _ => Err(invalid(&"unknown format")),
    }
}

/// Lands a batch in one database transaction; per commit, its result.
async fn land(pg: &PgPool, batch: &[&Swap]) -> Result<Vec<Result<Landed, VenueError>>, VenueError> {
    const LOCK: &str = "SELECT id, state FROM chain.pools WHERE id = ANY($1) ORDER BY id FOR UPDATE";
    const LANDED: &str = "SELECT id, receipt::text FROM chain.transactions WHERE id = ANY($1)";
    // Sent after INSERT on the same connection: each pool's slot is the one the
    // insert just drew for the last transaction of the batch that changed it.
    const UPDATE: &str = "UPDATE chain.pools p SET state = v.state, slot = t.slot, updated_at = now()
        FROM unnest($1::text[], $2::bytea[], $3::text[]) AS v(id, state, tx)
        JOIN chain.transactions t ON t.id = v.tx
        WHERE p.id = v.id";
    // Slots are drawn in the batch's order, so replaying by slot reproduces it.
    const INSERT: &str = "INSERT INTO chain.transactions (id, slot, receipt)
        SELECT id, slot, jsonb_set(receipt, '{slot}', to_jsonb(slot))
        FROM (SELECT id, receipt, nextval('chain.slots') AS slot
              FROM (SELECT * FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS v(id, receipt, n) ORDER BY n) o) s
        RETURNING id, slot";
    let client = pg.get().await.map_err(unavailable)?;
    // Prepared once per connection; after that these are cache hits, no round trip.
    let (lock, landed, update, insert) = tokio::join!(
        client.prepare_cached(LOCK),
        client.prepare_cached(LANDED),
        client.prepare_cached(UPDATE),
        client.prepare_cached(INSERT)
    );
    let (lock, landed) = (lock.map_err(unavailable)?, landed.map_err(unavailable)?);
    let (update, insert) = (update.map_err(unavailable)?, insert.map_err(unavailable)?);
    let mut pool_ids: Vec<&str> = batch.iter().flat_map(|c| c.tx.legs.iter().map(|l| l.pool_id.as_str())).collect();
    pool_ids.sort_unstable();
    pool_ids.dedup();
    let tx_ids: Vec<&str> = batch.iter().map(|c| c.tx.id.as_str()).collect();
    // The whole transaction takes two round trips, its statements pipelined on
    // the one connection (each is sent when its future is first polled, in
    // order): BEGIN, the locks and the landed check under them; then, after
    // the swaps are applied here, the receipts, the pools and COMMIT.
    //
    // Pool rows are locked until commit, so waiting for the WAL flush there would
    // cap every pool at one batch per fsync. Skipping the wait is safe: WAL is
    // flushed in order, and the worker records the order's outcome afterwards
    // with a synchronous commit, which makes this one durable first. A crash can
    // only lose chain commits no order has recorded; those orders are retried and
    // the chain, having forgotten the swap, still executes it exactly once.
    let (lock_params, landed_params): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 1]) = ([&pool_ids], [&tx_ids]);
    // From BEGIN on, the guard owns the connection: should this future be
    // dropped or return early, the connection is closed, not pooled mid-transaction.
    let open = Open(Some(client));
    let (begun, locked, already) = tokio::join!(
        open.client().batch_execute("BEGIN; SET LOCAL synchronous_commit = off"),
        open.client().query(&lock, &lock_params),
        open.client().query(&landed, &landed_params)
    );
    begun.map_err(unavailable)?;
    let mut pools: BTreeMap<String, Pool> = BTreeMap::new();
    for row in locked.map_err(unavailable)? {
        pools.insert(row.get(0), decode_pool(row.get::<_, &[u8]>(1))?);
    }
    let mut receipts: HashMap<String, Receipt> = HashMap::new();
    for row in already.map_err(unavailable)? {
        receipts.insert(row.get(0), decode(row.get::<_, &str>(1))?);
    }

    // Apply in order, each against what the previous ones left.
    let mut results: Vec<Result<Landed, VenueError>> = Vec::with_capacity(batch.len());
    let mut new: Vec<usize> = Vec::new();
    let mut landed_here: HashMap<&str, usize> = HashMap::new();
    // (a repeat, the commit in this batch that landed it): answered once slots are known.
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for (i, commit) in batch.iter().enumerate() {
        if let Some(&first) = landed_here.get(commit.tx.id.as_str()) {
            results.push(Err(VenueError::Unavailable("answered below".to_owned())));
            repeats.push((i, first));
            continue;
        }
        if let Some(done) = receipts.get(&commit.tx.id) {
            results.push(Ok(Landed { receipt: done.clone(), pools: Vec::new() }));
            continue;
        }
        let mut touched: Vec<Pool> = Vec::new();
        for leg in &commit.tx.legs {
            if !touched.iter().any(|p| p.id == leg.pool_id) {
                match pools.get(&leg.pool_id) {
                    Some(pool) => touched.push(pool.clone()),
                    None => {
                        touched.clear();
                        break;
                    }
                }
            }
        }
        if touched.is_empty() {
            let pool = commit.tx.legs.first().map(|l| l.pool_id.clone()).unwrap_or_default();
            results.push(Err(VenueError::InsufficientLiquidity { pool }));
            continue;
        }
        match apply(&mut touched, &commit.tx, commit.now, 0) {
            Ok(receipt) => {
                receipts.insert(commit.tx.id.clone(), receipt.clone());
                for pool in &touched {
                    pools.insert(pool.id.clone(), pool.clone());
                }
                results.push(Ok(Landed { receipt, pools: touched }));
                landed_here.insert(commit.tx.id.as_str(), i);
                new.push(i);
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if new.is_empty() {
        open.roll_back().await; // nothing changed
        return Ok(results);
    }

    let mut changed: Vec<&str> =
        new.iter().flat_map(|&i| batch[i].tx.legs.iter().map(|l| l.pool_id.as_str())).collect();
    changed.sort_unstable();
    changed.dedup();
    let states: Vec<Vec<u8>> = changed.iter().map(|id| encode_pool(&pools[*id])).collect();
    // The last transaction of the batch to change each pool.
    let mut last_tx: HashMap<&str, &str> = HashMap::new();
    for &i in &new {
        for leg in &batch[i].tx.legs {
            last_tx.insert(leg.pool_id.as_str(), batch[i].tx.id.as_str());
        }
    }
    let changed_by: Vec<&str> = changed.iter().map(|id| last_tx[id]).collect();
    let new_ids: Vec<&str> = new.iter().map(|&i| batch[i].tx.id.as_str()).collect();
    let new_receipts: Vec<Json<&Receipt>> = new
        .iter()
        .map(|&i| match &results[i] {
            Ok(landed) => Json(&landed.receipt),
            Err(_) => unreachable!("only landed commits are new"),
        })
        .collect();
    let update_params: [&(dyn ToSql + Sync); 3] = [&changed, &states, &changed_by];
    let insert_params: [&(dyn ToSql + Sync); 2] = [&new_ids, &new_receipts];
    // INSERT first, then UPDATE (it reads the slots the INSERT drew), then
    // COMMIT: should either statement fail, the transaction is aborted and
    // PostgreSQL answers the COMMIT by rolling back.
    let db = open.client();
    let (slots, written, committed) = tokio::join!(
        db.query(&insert, &insert_params),
        db.execute(&update, &update_params),
        db.batch_execute("COMMIT")
    );
    let settled = committed.is_ok();
    let slots = slots.and_then(|slots| written.map(|_| slots));
    let slots = match (slots, committed) {
        (Ok(slots), Ok(())) => slots,
        (Err(e), _) | (Ok(_), Err(e)) => {
            if settled {
                open.settled();
            } else {
                open.roll_back().await;
            }
            return Err(unavailable(e));
        }
    };
    open.settled();
    let slots: HashMap<String, i64> = slots.into_iter().map(|row| (row.get(0), row.get(1))).collect();
    for &i in &new {
        if let Ok(landed) = &mut results[i] {
            landed.receipt.slot = slots.get(&landed.receipt.tx_id).copied().unwrap_or(0).unsigned_abs();
            for pool in &mut landed.pools {
                pool.slot = landed.receipt.slot;
            }
        }
    }
    for (repeat, first) in repeats {
        if let Ok(landed) = &results[first] {
            results[repeat] = Ok(Landed { receipt: landed.receipt.clone(), pools: Vec::new() });
        }
    }
    Ok(results)
}

/// A pooled connection inside a transaction that [`land`] began with a plain
/// `BEGIN` (to pipeline it): it must not go back to the pool still inside it.
/// Dropped unsettled (an early return), the connection is taken out of the
/// pool and closed, which ends the transaction; [`Open::roll_back`] keeps it.
struct Open(Option<deadpool_postgres::Object>);

impl Open {
    fn client(&self) -> &deadpool_postgres::Object {
        self.0.as_ref().expect("open until settled")
    }

    /// The transaction is over (committed, or rolled back by its COMMIT): the
    /// connection goes back to the pool.
    fn settled(mut self) {
        self.0.take();
    }

    /// Rolls back and returns the connection to the pool; one that cannot
    /// roll back is closed instead.
    async fn roll_back(self) {
        if self.client().batch_execute("ROLLBACK").await.is_ok() {
            self.settled();
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// A pool from a row of `(state, slot)`.
fn pool_of_row(row: &tokio_postgres::Row) -> Result<Pool, VenueError> {
    let mut pool = decode_pool(row.get::<_, &[u8]>(0))?;
    pool.slot = row.get::<_, i64>(1).unsigned_abs();
    Ok(pool)
}

/// Adds the pools that do not exist yet; existing ones are left as they are.
/// Every process that uses the simulated chain may seed it: the first one does.
pub async fn seed(pg: &PgPool, pools: &[Pool]) -> Result<(), StoreError> {
    let client = pg.get().await?;
    let stmt = client
        .prepare_cached("INSERT INTO chain.pools (id, state) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
        .await?;
    for pool in pools {
        client.execute(&stmt, &[&pool.id, &encode_pool(pool)]).await?;
    }
    Ok(())
}

/// A token launched on the simulated chain, with the pool its launch made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub token: oee_domain::Token,
    /// The mint the new token is paired with.
    pub quote_mint: String,
    pub pool_id: String,
    /// The slot the pool was created in.
    pub slot: u64,
    /// When the pool starts trading, if not at once.
    pub open_at: Option<chrono::DateTime<chrono::Utc>>,
    pub launched_at: chrono::DateTime<chrono::Utc>,
}

impl Launch {
    /// The venue of its pool.
    pub fn venue(&self) -> Option<oee_domain::Dex> {
        let prefix = self.pool_id.split(':').next()?;
        oee_domain::Dex::ALL.into_iter().find(|d| d.as_str() == prefix)
    }
}

/// Lists `token` with its first `pool`, in one database transaction: the pool
/// is created in a slot of its own (drawn from the chain's slots, so it orders
/// with every transaction), the token recorded beside it. `Ok(None)` when the
/// symbol, the mint or the pool is taken (nothing is written).
pub async fn launch(
    pg: &PgPool,
    token: &oee_domain::Token,
    pool: &Pool,
    open_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<Launch>, StoreError> {
    let mut client = pg.get().await?;
    let db = client.transaction().await?;
    let created = db
        .query_opt(
            "INSERT INTO chain.pools (id, state, slot) VALUES ($1, $2, nextval('chain.slots'))
             ON CONFLICT (id) DO NOTHING RETURNING slot",
            &[&pool.id, &encode_pool(pool)],
        )
        .await?;
    let Some(created) = created else { return Ok(None) };
    let slot: i64 = created.get(0);
    let listed = db
        .query_opt(
            "INSERT INTO chain.tokens (symbol, mint, decimals, quote_mint, pool_id, slot, open_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING launched_at",
            &[&token.symbol, &token.mint, &i16::from(token.decimals), &pool.mint_quote, &pool.id, &slot, &open_at],
        )
        .await?;
    let Some(listed) = listed else { return Ok(None) }; // rolled back with the pool
    db.commit().await?;
    Ok(Some(Launch {
        token: token.clone(),
        quote_mint: pool.mint_quote.clone(),
        pool_id: pool.id.clone(),
        slot: slot.unsigned_abs(),
        open_at,
        launched_at: listed.get(0),
    }))
}

/// Every launched token, in launch order.
pub async fn launches(pg: &PgPool) -> Result<Vec<Launch>, StoreError> {
    let client = pg.get().await?;
    let stmt = client
        .prepare_cached(
            "SELECT symbol, mint, decimals, quote_mint, pool_id, slot, open_at, launched_at
             FROM chain.tokens ORDER BY slot",
        )
        .await?;
    let rows = client.query(&stmt, &[]).await?;
    rows.iter()
        .map(|row| {
            let decimals = u8::try_from(row.get::<_, i16>(2)).map_err(StoreError::corrupt)?;
            Ok(Launch {
                token: oee_domain::Token::stored(row.get(0), row.get(1), decimals),
                quote_mint: row.get(3),
                pool_id: row.get(4),
                slot: row.get::<_, i64>(5).unsigned_abs(),
                open_at: row.get(6),
                launched_at: row.get(7),
            })
        })
        .collect()
}

/// Every pool of the chain as it stands, with its slot, in id order: one query
/// (there are a few dozen pools).
pub async fn all_pools(pg: &PgPool) -> Result<Vec<Pool>, StoreError> {
    let client = pg.get().await?;
    let stmt = client.prepare_cached("SELECT state, slot FROM chain.pools ORDER BY id").await?;
    let rows = client.query(&stmt, &[]).await?;
    rows.iter().map(|row| pool_of_row(row).map_err(StoreError::corrupt)).collect()
}

#[async_trait]
impl Ledger for PgLedger {
    async fn seed(&self, pools: Vec<Pool>) -> Result<(), VenueError> {
        seed(&self.pg, &pools).await.map_err(unavailable)
    }

    async fn pools(&self, ids: &[String]) -> Result<Vec<Pool>, VenueError> {
        let client = self.pg.get().await.map_err(unavailable)?;
        let stmt = client
            .prepare_cached("SELECT state, slot FROM chain.pools WHERE id = ANY($1)")
            .await
            .map_err(unavailable)?;
        let rows = client.query(&stmt, &[&ids]).await.map_err(unavailable)?;
        rows.iter().map(pool_of_row).collect()
    }

    async fn commit(&self, tx: &Transaction, now: i64) -> Result<Landed, VenueError> {
        match self.lanes.write(Swap { tx: tx.clone(), now }).await.0 {
            Ok(landed) => landed,
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn receipt(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError> {
        let client = self.pg.get().await.map_err(unavailable)?;
        let stmt = client
            .prepare_cached("SELECT receipt::text FROM chain.transactions WHERE id = $1")
            .await
            .map_err(unavailable)?;
        client.query_opt(&stmt, &[&tx_id]).await.map_err(unavailable)?.map(|r| decode(r.get::<_, &str>(0))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> Vec<Pool> {
        oee_router::seed_pools(&oee_domain::TokenRegistry::default(), 1_700_000_000)
    }

    #[test]
    fn pool_states_round_trip_compactly() {
        for pool in seeded() {
            let bytes = encode_pool(&pool);
            assert_eq!(bytes[0], POSTCARD);
            assert_eq!(decode_pool(&bytes).expect("decodes"), pool);
            let json = serde_json::to_vec(&pool).expect("json");
            // Under 60% of the JSON for any pool (about a quarter for a DLMM
            // pool's bins), and well inside one page for the largest.
            assert!(bytes.len() * 5 < json.len() * 3, "{}: {} bytes vs {} of JSON", pool.id, bytes.len(), json.len());
            assert!(bytes.len() < 4_096, "{}: {} bytes", pool.id, bytes.len());
        }
    }

    #[test]
    fn states_stored_as_json_before_v3_still_read() {
        for pool in seeded() {
            let text = serde_json::to_string(&pool).expect("json");
            assert_eq!(decode_pool(text.as_bytes()).expect("decodes"), pool);
        }
        assert!(decode_pool(&[]).is_err());
        assert!(decode_pool(&[7, 1, 2]).is_err());
        assert!(decode_pool(&[POSTCARD, 0xff]).is_err(), "truncated");
    }

    /// States written before pools had an open time (format 2) still read,
    /// as open pools; a launched pool's open time round-trips.
    #[test]
    fn states_stored_without_an_open_time_still_read() {
        #[derive(serde::Serialize)]
        struct Stored<'a> {
            id: &'a str,
            dex: oee_domain::Dex,
            mint_base: &'a str,
            mint_quote: &'a str,
            curve: &'a oee_router::pool::Curve,
        }
        for mut pool in seeded() {
            let old = Stored {
                id: &pool.id,
                dex: pool.dex,
                mint_base: &pool.mint_base,
                mint_quote: &pool.mint_quote,
                curve: &pool.curve,
            };
            let mut bytes = vec![POSTCARD_WITHOUT_OPEN_TIME];
            bytes.extend(postcard::to_allocvec(&old).expect("encodes"));
            assert_eq!(decode_pool(&bytes).expect("decodes"), pool, "{}", pool.id);
            pool.open_at = Some(1_800_000_123);
            assert_eq!(decode_pool(&encode_pool(&pool)).expect("decodes"), pool, "{}", pool.id);
        }
    }

    /// A pool as an engine whose prices drifted with time stored it.
    #[derive(serde::Serialize)]
    struct StoredWithDrift<'a> {
        id: &'a str,
        dex: oee_domain::Dex,
        mint_base: &'a str,
        mint_quote: &'a str,
        curve: &'a oee_router::pool::Curve,
        drift_epoch: i64,
    }

    /// States written with the drift period (format 1) still read, as the
    /// same pool without it; JSON states of that time carried `driftEpoch`,
    /// and read too.
    #[test]
    fn states_stored_with_a_drift_period_still_read() {
        for pool in seeded() {
            let old = StoredWithDrift {
                id: &pool.id,
                dex: pool.dex,
                mint_base: &pool.mint_base,
                mint_quote: &pool.mint_quote,
                curve: &pool.curve,
                drift_epoch: 360_000_000,
            };
            let mut bytes = vec![POSTCARD_WITH_DRIFT];
            bytes.extend(postcard::to_allocvec(&old).expect("encodes"));
            assert_eq!(decode_pool(&bytes).expect("decodes"), pool, "{}", pool.id);
            let mut json = serde_json::to_value(&pool).expect("json");
            json["driftEpoch"] = 360_000_000.into();
            assert_eq!(decode_pool(json.to_string().as_bytes()).expect("decodes"), pool, "{}", pool.id);
        }
    }
}
