//! Waiting for standbys before anything is told: with `OEE_PG_STANDBY_ACKS = n`
//! (n > 0), an order's acceptance, its events and what is read of it leave the
//! [`OrderStore`](crate::OrderStore) only once `n` streaming standbys have
//! flushed the write-ahead log that far. A client is then never told of an
//! order, a status or a fill that a promoted standby could lack, even when
//! PostgreSQL replicates asynchronously.
//!
//! The gate is shared: each waiter registers, and one task polls the primary
//! (its WAL flush position and the standbys' in `pg_stat_replication`) about
//! every millisecond while anyone waits. A waiter's target is the primary's
//! flush position read in a round that began after it called, which is at or
//! past every commit it made or read (the engine's order writes are
//! synchronous commits, visible only once flushed). It is released by the first
//! round in which the n-th most advanced standby has flushed that far.
//!
//! With native synchronous replication (`synchronous_standby_names`), commits
//! already wait; the gate adds only what reads need. Reading the standbys'
//! positions needs the `pg_monitor` role (or superuser); without it no standby
//! ever appears to confirm, and every gated call fails as unavailable.

use crate::error::{Backend, StoreError};
use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// One poll of the primary.
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    /// Rounds completed so far, this one included.
    n: u64,
    /// The primary's WAL flush position when the round began.
    flushed: i64,
    /// How far the n-th most advanced standby has flushed (0: not that many).
    acked: i64,
}

/// Pause between rounds while someone waits.
const ROUND_PAUSE: Duration = Duration::from_millis(1);
/// Pause after a failed round.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

struct Inner {
    rounds: watch::Receiver<Round>,
    wake: Notify,
    waiting: AtomicUsize,
    timeout: Duration,
    acks: usize,
}

/// A shared wait for standbys; see the module docs. Cloning shares it.
#[derive(Clone)]
pub struct StandbyGate {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StandbyGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandbyGate").field("acks", &self.inner.acks).finish_non_exhaustive()
    }
}

/// Decrements the waiter count however a wait ends.
struct Registered<'a>(&'a AtomicUsize);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl StandbyGate {
    /// A gate waiting for `acks` standbys, each wait bounded by `timeout`;
    /// `None` when `acks` is 0 (nothing to wait for). Starts the polling task
    /// on the current runtime; it ends once every clone is dropped.
    pub fn start(pool: Pool, acks: usize, timeout: Duration) -> Option<Self> {
        if acks == 0 {
            return None;
        }
        let (tx, rx) = watch::channel(Round::default());
        let inner = Arc::new(Inner { rounds: rx, wake: Notify::new(), waiting: AtomicUsize::new(0), timeout, acks });
        tokio::spawn(poll(pool, Arc::downgrade(&inner), tx));
        Some(Self { inner })
    }

    /// Returns once `acks` standbys have flushed everything committed before
    /// this call; fails as unavailable after the timeout.
    pub async fn wait(&self) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let mut rounds = inner.rounds.clone();
        let asked = rounds.borrow_and_update().n;
        let _registered = {
            inner.waiting.fetch_add(1, Ordering::AcqRel);
            Registered(&inner.waiting)
        };
        inner.wake.notify_one();
        let released = tokio::time::timeout(inner.timeout, async {
            // Round `asked + 1` may have begun before this call; the next did not.
            let target = loop {
                let round = *rounds.borrow_and_update();
                if round.n > asked + 1 {
                    break round.flushed;
                }
                rounds.changed().await.ok()?;
            };
            loop {
                if rounds.borrow_and_update().acked >= target {
                    return Some(());
                }
                rounds.changed().await.ok()?;
            }
        })
        .await;
        match released {
            Ok(Some(())) => Ok(()),
            _ => Err(StoreError::Unavailable {
                backend: Backend::Postgres,
                reason: format!(
                    "fewer than {} standbys confirmed the write within {} ms (OEE_PG_STANDBY_ACKS; the engine's role \
                     needs pg_monitor to see them)",
                    inner.acks,
                    inner.timeout.as_millis()
                ),
            }),
        }
    }
}

const ROUND_SQL: &str = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::int8,
        COALESCE((SELECT (flush_lsn - '0/0'::pg_lsn)::int8 FROM pg_stat_replication
                  WHERE flush_lsn IS NOT NULL ORDER BY flush_lsn DESC OFFSET $1 LIMIT 1), 0)";

async fn poll(pool: Pool, inner: Weak<Inner>, rounds: watch::Sender<Round>) {
    let mut n = 0u64;
    loop {
        let Some(gate) = inner.upgrade() else { return };
        if gate.waiting.load(Ordering::Acquire) == 0 {
            // Idle: sleep until a waiter comes, looking again now and then
            // so the task notices the gate is gone.
            let _ = tokio::time::timeout(Duration::from_secs(1), gate.wake.notified()).await;
            continue;
        }
        let offset = i64::try_from(gate.acks - 1).unwrap_or(i64::MAX);
        drop(gate);
        match round(&pool, offset).await {
            Ok((flushed, acked)) => {
                n += 1;
                rounds.send_replace(Round { n, flushed, acked });
                tokio::time::sleep(ROUND_PAUSE).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the standbys' positions");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

async fn round(pool: &Pool, offset: i64) -> Result<(i64, i64), StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(ROUND_SQL).await?;
    let row = client.query_one(&stmt, &[&offset]).await?;
    Ok((row.get(0), row.get(1)))
}
