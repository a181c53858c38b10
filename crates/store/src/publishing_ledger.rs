//! [`PublishingLedger`]: a [`Ledger`] that publishes every pool change it lands
//! on the pool-change stream ([`PoolChanges`]), so a pool changes only through
//! a transaction and every change is an event someone can react to.
//!
//! The append follows the commit: the swap has landed whatever happens to the
//! append, so a failed one is logged and counted (the callback given to
//! [`PublishingLedger::on_append_failure`]), never returned as the commit's
//! failure. A commit that changed nothing — a transaction that had landed
//! before, whose [`Landed::pools`] is empty — appends nothing.

use crate::redis::PoolChanges;
use async_trait::async_trait;
use oee_router::{Landed, Ledger, Pool, Receipt, Transaction, VenueError};
use std::fmt;
use std::sync::Arc;

/// Wraps a ledger (the engine's: [`crate::PgLedger`]) and appends each landed
/// transaction's pool states to the stream after its commit.
#[derive(Clone)]
pub struct PublishingLedger<L> {
    inner: L,
    changes: PoolChanges,
    append_failed: Arc<dyn Fn() + Send + Sync>,
}

impl<L: fmt::Debug> fmt::Debug for PublishingLedger<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishingLedger").field("inner", &self.inner).field("changes", &self.changes).finish()
    }
}

impl<L: Ledger> PublishingLedger<L> {
    pub fn new(inner: L, changes: PoolChanges) -> Self {
        Self { inner, changes, append_failed: Arc::new(|| {}) }
    }

    /// Calls `count` for every append that failed after its commit (a metric).
    #[must_use]
    pub fn on_append_failure(mut self, count: impl Fn() + Send + Sync + 'static) -> Self {
        self.append_failed = Arc::new(count);
        self
    }

    /// The stream it publishes on.
    pub fn changes(&self) -> &PoolChanges {
        &self.changes
    }
}

impl PublishingLedger<crate::PgLedger> {
    /// Lists `token` with its first `pool` ([`crate::chain::launch`]) and
    /// publishes the new pool with its slot, as a landed transaction's pools
    /// are (a failed append is logged and counted, not returned). The pool is
    /// returned with its slot; `Ok(None)` when the name is taken.
    pub async fn launch(
        &self,
        token: &oee_domain::Token,
        mut pool: Pool,
        open_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<(crate::chain::Launch, Pool)>, crate::StoreError> {
        let Some(launched) = crate::chain::launch(self.inner.pg(), token, &pool, open_at).await? else {
            return Ok(None);
        };
        pool.slot = launched.slot;
        if let Err(e) = self.changes.append(launched.slot, std::slice::from_ref(&pool)).await {
            tracing::warn!(pool = %pool.id, slot = launched.slot, error = %e,
                "a launch could not be published on the pool-change stream");
            (self.append_failed)();
        }
        Ok(Some((launched, pool)))
    }

    /// The database the chain lives in.
    pub fn inner_pg(&self) -> &crate::PgPool {
        self.inner.pg()
    }
}

#[async_trait]
impl<L: Ledger> Ledger for PublishingLedger<L> {
    async fn seed(&self, pools: Vec<Pool>) -> Result<(), VenueError> {
        self.inner.seed(pools).await
    }

    async fn pools(&self, ids: &[String]) -> Result<Vec<Pool>, VenueError> {
        self.inner.pools(ids).await
    }

    async fn commit(&self, tx: &Transaction, now: i64) -> Result<Landed, VenueError> {
        let landed = self.inner.commit(tx, now).await?;
        if !landed.pools.is_empty()
            && let Err(e) = self.changes.append(landed.receipt.slot, &landed.pools).await
        {
            tracing::warn!(tx_id = %tx.id, slot = landed.receipt.slot, error = %e,
                "a landed transaction's pool changes could not be published");
            (self.append_failed)();
        }
        Ok(landed)
    }

    async fn receipt(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError> {
        self.inner.receipt(tx_id).await
    }
}
