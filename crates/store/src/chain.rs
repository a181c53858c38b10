//! The simulated chain's ledger in PostgreSQL: pools and landed transactions
//! shared by every worker process, outliving any of them.
//!
//! A commit locks the transaction's pools (`FOR UPDATE`, in id order, so two
//! commits never deadlock), re-checks under the lock that the transaction has not
//! landed meanwhile, applies it with the router's one implementation of the swap
//! logic, and writes the pools and the receipt in the same database transaction.
//! Swaps on one pool therefore land one at a time, each against the state the
//! previous one left — exactly as if applied one by one in slot order.

use crate::error::StoreError;
use async_trait::async_trait;
use deadpool_postgres::Pool as PgPool;
use oee_router::chain::apply;
use oee_router::{Landed, Ledger, Pool, Receipt, Transaction, VenueError};
use tokio_postgres::types::{Json, ToSql};

#[derive(Debug, Clone)]
pub struct PgLedger {
    pg: PgPool,
}

impl PgLedger {
    pub fn new(pg: PgPool) -> Self {
        Self { pg }
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

#[async_trait]
impl Ledger for PgLedger {
    async fn seed(&self, pools: Vec<Pool>) -> Result<(), VenueError> {
        let client = self.pg.get().await.map_err(unavailable)?;
        let stmt = client
            .prepare_cached("INSERT INTO chain.pools (id, state) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .await
            .map_err(unavailable)?;
        for pool in &pools {
            client.execute(&stmt, &[&pool.id, &Json(pool)]).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn pools(&self, ids: &[String]) -> Result<Vec<Pool>, VenueError> {
        let client = self.pg.get().await.map_err(unavailable)?;
        let stmt = client
            .prepare_cached("SELECT state::text FROM chain.pools WHERE id = ANY($1)")
            .await
            .map_err(unavailable)?;
        let rows = client.query(&stmt, &[&ids]).await.map_err(unavailable)?;
        rows.iter().map(|r| decode(r.get::<_, &str>(0))).collect()
    }

    async fn commit(&self, tx: &Transaction, now: i64) -> Result<Landed, VenueError> {
        if let Some(done) = self.receipt(&tx.id).await? {
            return Ok(Landed { receipt: done, pools: Vec::new() });
        }
        let mut client = self.pg.get().await.map_err(unavailable)?;
        let db = client.transaction().await.map_err(unavailable)?;
        // Pool rows are locked until commit, so waiting for the WAL flush there would
        // cap every pool at one swap per fsync. Skipping the wait is safe: WAL is
        // flushed in order, and the worker records the order's outcome afterwards
        // with a synchronous commit, which makes this one durable first. A crash can
        // only lose chain commits no order has recorded; those orders are retried and
        // the chain, having forgotten the swap, still executes it exactly once.
        db.batch_execute("SET LOCAL synchronous_commit = off").await.map_err(unavailable)?;
        let mut ids: Vec<&str> = tx.legs.iter().map(|l| l.pool_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        // From here until commit the pools are locked: three round trips in all.
        let rows = db
            .query("SELECT state::text FROM chain.pools WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids])
            .await
            .map_err(unavailable)?;
        let mut pools: Vec<Pool> = rows.into_iter().map(|r| decode(r.get::<_, &str>(0))).collect::<Result<_, _>>()?;
        // The slot is taken from the sequence in the insert below; a refused
        // transaction rolls back when `db` drops, leaving the pools as they were.
        let mut receipt = apply(&mut pools, tx, now, 0)?;
        let update = db
            .prepare_cached("UPDATE chain.pools SET state = $2, updated_at = now() WHERE id = $1")
            .await
            .map_err(unavailable)?;
        let insert = db
            .prepare_cached(
                "INSERT INTO chain.transactions (id, slot, receipt)
                 SELECT $1, s.slot, jsonb_set($2::jsonb, '{slot}', to_jsonb(s.slot))
                 FROM (SELECT nextval('chain.slots') AS slot) s RETURNING slot",
            )
            .await
            .map_err(unavailable)?;
        let receipt_json = Json(&receipt);
        let insert_params: [&(dyn ToSql + Sync); 2] = [&tx.id, &receipt_json];
        let states: Vec<Json<&Pool>> = pools.iter().map(Json).collect();
        let updates = pools.iter().zip(&states).map(|(pool, state)| {
            db.execute_raw(&update, [&pool.id as &(dyn ToSql + Sync), state as &(dyn ToSql + Sync)])
        });
        // Statements issued together on one connection are pipelined.
        let (written, inserted) =
            tokio::join!(futures::future::try_join_all(updates), db.query_one(&insert, &insert_params));
        written.map_err(unavailable)?;
        match inserted {
            Ok(row) => receipt.slot = row.get::<_, i64>(0).unsigned_abs(),
            // The same transaction landed concurrently (same id, same locks): report that one.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                drop(db);
                let done = self.receipt(&tx.id).await?.ok_or_else(|| VenueError::Unavailable(e.to_string()))?;
                return Ok(Landed { receipt: done, pools: Vec::new() });
            }
            Err(e) => return Err(unavailable(e)),
        }
        db.commit().await.map_err(unavailable)?;
        Ok(Landed { receipt, pools })
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
