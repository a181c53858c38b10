//! Group commit: many writers share one statement and one commit.
//!
//! Every event must be durable before it is published, and every order before
//! its `202`, and a commit costs a WAL flush and a round trip: one commit per
//! write caps a PostgreSQL at a few thousand writes a second however idle its
//! CPUs are. A writer here lets many requests share commits instead: each hands
//! its write over and waits; a few *lanes* take whatever is waiting (up to
//! [`MAX_BATCH`]) and store it with one statement. Each write keeps its own
//! guard and its own answer, each caller still hears only after the commit, and
//! an idle writer adds no delay: a lone write goes out at once.
//!
//! Under load a lane may also *linger*: when it sent its previous batch moments
//! ago ([`BUSY`]), it waits up to [`Batching::linger`] for more writes before
//! sending the next. Each statement and commit costs its server a wake-up, the
//! statement's setup and a WAL flush whatever the batch holds, so at a moderate
//! rate (where batches would hold one or two writes) a millisecond's wait cuts
//! PostgreSQL's CPU per write by a quarter (docs/BENCHMARKS.md). A write that
//! finds the lane idle still goes out at once.
//!
//! If a batch fails (a deadlock between two batches, say, or an outage), its
//! writes are retried one by one, so each caller gets its own answer.

use crate::error::StoreError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

/// Most writes stored by one statement.
pub const MAX_BATCH: usize = 256;

/// Full batches each lane's queue holds before writers wait for room.
const QUEUED_BATCHES_PER_LANE: usize = 4;

/// A lane that sent a batch less than this long ago is busy: it lingers.
pub const BUSY: Duration = Duration::from_millis(10);

/// How a group-committed writer batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Batches in flight at once (each lane holds at most one connection).
    pub lanes: usize,
    /// How long a busy lane waits for more writes before sending a batch;
    /// zero sends at once. Timers tick in whole milliseconds.
    pub linger: Duration,
}

impl Batching {
    /// `lanes` lanes that never linger.
    pub fn lanes(lanes: usize) -> Self {
        Self { lanes, linger: Duration::ZERO }
    }
}

/// How a kind of write is stored: many at once, or one alone.
pub(crate) trait Committer: Clone + Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Answer: Send + 'static;
    fn many<'a>(
        &'a self,
        items: &'a [&'a Self::Item],
    ) -> impl Future<Output = Result<Vec<Self::Answer>, StoreError>> + Send + 'a;
    fn one<'a>(&'a self, item: &'a Self::Item) -> impl Future<Output = Result<Self::Answer, StoreError>> + Send + 'a;
}

/// Where a write's answer goes, with the item handed back.
type Reply<C> = oneshot::Sender<(Result<<C as Committer>::Answer, StoreError>, <C as Committer>::Item)>;

/// A write waiting for a commit.
struct Pending<C: Committer> {
    item: C::Item,
    done: Reply<C>,
}

/// The queue in front of a committer's lanes.
pub(crate) struct Lanes<C: Committer> {
    queue: mpsc::Sender<Pending<C>>,
}

impl<C: Committer> Clone for Lanes<C> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<C: Committer> Lanes<C> {
    /// Starts the batch loops (each holds at most one connection at a time).
    /// They end when every clone is dropped.
    pub(crate) fn start(committer: C, batching: Batching, max_batch: usize) -> Self {
        let lanes = batching.lanes.max(1);
        let (queue, rx) = mpsc::channel::<Pending<C>>(max_batch * lanes * QUEUED_BATCHES_PER_LANE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..lanes {
            tokio::spawn(lane(committer.clone(), rx.clone(), max_batch, batching.linger));
        }
        Self { queue }
    }

    pub(crate) async fn write(&self, item: C::Item) -> (Result<C::Answer, StoreError>, Option<C::Item>) {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = self.queue.send(Pending { item, done }).await {
            return (Err(stopped()), Some(pending.item));
        }
        match answer.await {
            Ok((result, item)) => (result, Some(item)),
            Err(_) => (Err(stopped()), None),
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable { backend: crate::Backend::Postgres, reason: "the writer stopped".to_owned() }
}

async fn lane<C: Committer>(
    committer: C,
    rx: Arc<Mutex<mpsc::Receiver<Pending<C>>>>,
    max_batch: usize,
    linger: Duration,
) {
    let mut batch: Vec<Pending<C>> = Vec::with_capacity(max_batch);
    let mut sent: Option<Instant> = None;
    loop {
        {
            // Held while lingering: the other lanes' batches are in flight meanwhile.
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, max_batch).await == 0 {
                return; // every sender is gone
            }
            if !linger.is_zero() && sent.is_some_and(|at| at.elapsed() < BUSY) {
                let until = Instant::now() + linger;
                while batch.len() < max_batch {
                    let room = max_batch - batch.len();
                    match tokio::time::timeout_at(until, rx.recv_many(&mut batch, room)).await {
                        Ok(0) | Err(_) => break, // every sender is gone, or time is up
                        Ok(_) => {}
                    }
                }
            }
        }
        sent = Some(Instant::now());
        let result = {
            let items: Vec<&C::Item> = batch.iter().map(|p| &p.item).collect();
            committer.many(&items).await
        };
        match result {
            Ok(answers) => {
                for (pending, answer) in batch.drain(..).zip(answers) {
                    let _ = pending.done.send((Ok(answer), pending.item));
                }
            }
            Err(e) if batch.len() == 1 => {
                let pending = batch.pop().expect("one write");
                let _ = pending.done.send((Err(e), pending.item));
            }
            Err(e) => {
                tracing::debug!(error = %e, writes = batch.len(), "a batch failed; writing its items one by one");
                let singles = batch.drain(..).map(|pending| {
                    let committer = &committer;
                    async move {
                        let result = committer.one(&pending.item).await;
                        let _ = pending.done.send((result, pending.item));
                    }
                });
                futures::future::join_all(singles).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// Stores nothing; remembers the size of every batch.
    #[derive(Clone, Default)]
    struct Sizes(Arc<StdMutex<Vec<usize>>>);

    impl Committer for Sizes {
        type Item = u32;
        type Answer = u32;
        async fn many<'a>(&'a self, items: &'a [&'a u32]) -> Result<Vec<u32>, StoreError> {
            self.0.lock().expect("sizes").push(items.len());
            Ok(items.iter().map(|&&i| i).collect())
        }
        async fn one<'a>(&'a self, item: &'a u32) -> Result<u32, StoreError> {
            Ok(*item)
        }
    }

    /// Writes `1`, then `2`, `3` and `4` a millisecond apart, each from its own
    /// task; returns the batch sizes and how long the first write took.
    async fn burst(linger: Duration) -> (Vec<usize>, Duration) {
        let sizes = Sizes::default();
        let lanes = Lanes::start(sizes.clone(), Batching { lanes: 1, linger }, MAX_BATCH);
        let start = Instant::now();
        assert_eq!(lanes.write(1).await.0.expect("first"), 1);
        let first = start.elapsed();
        let mut tasks = Vec::new();
        for i in 2..=4 {
            let lanes = lanes.clone();
            tasks.push(tokio::spawn(async move { lanes.write(i).await.0.expect("write") }));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for (task, i) in tasks.into_iter().zip(2..) {
            assert_eq!(task.await.expect("task"), i, "each caller gets its own answer");
        }
        let sizes = sizes.0.lock().expect("sizes").clone();
        (sizes, first)
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_lane_lingers_for_more_writes_and_an_idle_one_sends_at_once() {
        let (sizes, first) = burst(Duration::from_millis(5)).await;
        assert_eq!(first, Duration::ZERO, "the first write found the lane idle: sent at once");
        assert_eq!(sizes, [1, 3], "the next three shared one batch");

        let (sizes, _) = burst(Duration::ZERO).await;
        assert_eq!(sizes, [1, 1, 1, 1], "without a linger each went alone");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_idle_for_longer_than_busy_sends_at_once_again() {
        let sizes = Sizes::default();
        let lanes = Lanes::start(sizes.clone(), Batching { lanes: 1, linger: Duration::from_millis(5) }, MAX_BATCH);
        lanes.write(1).await.0.expect("first");
        tokio::time::sleep(BUSY + Duration::from_millis(1)).await;
        let start = Instant::now();
        lanes.write(2).await.0.expect("second");
        assert_eq!(start.elapsed(), Duration::ZERO, "no linger after an idle spell");
        assert_eq!(*sizes.0.lock().expect("sizes"), [1, 1]);
    }
}
