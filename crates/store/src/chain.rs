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
use oee_router::{Ledger, Pool, Receipt, Transaction, VenueError};
use tokio_postgres::types::Json;

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

    async fn commit(&self, tx: &Transaction, now: i64) -> Result<Receipt, VenueError> {
        let mut client = self.pg.get().await.map_err(unavailable)?;
        let db = client.transaction().await.map_err(unavailable)?;
        let landed = "SELECT receipt::text FROM chain.transactions WHERE id = $1";
        if let Some(row) = db.query_opt(landed, &[&tx.id]).await.map_err(unavailable)? {
            return decode(row.get::<_, &str>(0));
        }
        let mut ids: Vec<&str> = tx.legs.iter().map(|l| l.pool_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = db
            .query("SELECT state::text FROM chain.pools WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids])
            .await
            .map_err(unavailable)?;
        // The same transaction sent concurrently holds the same locks: look again.
        if let Some(row) = db.query_opt(landed, &[&tx.id]).await.map_err(unavailable)? {
            return decode(row.get::<_, &str>(0));
        }
        let mut pools: Vec<Pool> = rows.into_iter().map(|r| decode(r.get::<_, &str>(0))).collect::<Result<_, _>>()?;
        let slot: i64 = db.query_one("SELECT nextval('chain.slots')", &[]).await.map_err(unavailable)?.get(0);
        // A refused transaction rolls back when `db` drops, leaving the pools as they were.
        let receipt = apply(&mut pools, tx, now, slot.unsigned_abs())?;
        for pool in &pools {
            db.execute("UPDATE chain.pools SET state = $2, updated_at = now() WHERE id = $1", &[&pool.id, &Json(pool)])
                .await
                .map_err(unavailable)?;
        }
        db.execute(
            "INSERT INTO chain.transactions (id, slot, receipt) VALUES ($1, $2, $3)",
            &[&tx.id, &slot, &Json(&receipt)],
        )
        .await
        .map_err(unavailable)?;
        db.commit().await.map_err(unavailable)?;
        Ok(receipt)
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
