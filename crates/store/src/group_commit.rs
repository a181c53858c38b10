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
//! If a batch fails (a deadlock between two batches, say, or an outage), its
//! writes are retried one by one, so each caller gets its own answer.

use crate::error::StoreError;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Most writes stored by one statement.
pub const MAX_BATCH: usize = 256;

/// Full batches each lane's queue holds before writers wait for room.
const QUEUED_BATCHES_PER_LANE: usize = 4;

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
    /// Starts `lanes` batch loops (each holds at most one connection at a time).
    /// They end when every clone is dropped.
    pub(crate) fn start(committer: C, lanes: usize, max_batch: usize) -> Self {
        let lanes = lanes.max(1);
        let (queue, rx) = mpsc::channel::<Pending<C>>(max_batch * lanes * QUEUED_BATCHES_PER_LANE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..lanes {
            tokio::spawn(lane(committer.clone(), rx.clone(), max_batch));
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

async fn lane<C: Committer>(committer: C, rx: Arc<Mutex<mpsc::Receiver<Pending<C>>>>, max_batch: usize) {
    let mut batch: Vec<Pending<C>> = Vec::with_capacity(max_batch);
    loop {
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, max_batch).await == 0 {
                return; // every sender is gone
            }
        }
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
