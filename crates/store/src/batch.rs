//! Group commit for status events.
//!
//! Every event must be durable before it is published, and a commit costs a WAL
//! flush: one commit per event caps a PostgreSQL at a few thousand events a
//! second however idle its CPUs are. [`EventWriter`] lets many orders' tasks
//! share commits instead: each hands its event over and waits; a few *lanes*
//! take whatever is waiting (up to [`MAX_BATCH`]) and record it with one
//! statement ([`OrderStore::record_many`]). Each event is still guarded on its
//! own, each caller still learns whether its event was recorded only after the
//! commit, and an idle writer adds no delay: a lone event goes out at once.
//!
//! If a batch fails (a deadlock between two batches, say, or an outage), its
//! events are retried one by one, so each caller gets its own answer.

use crate::error::StoreError;
use crate::orders::OrderStore;
use oee_domain::StatusEvent;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Most events recorded by one statement.
pub const MAX_BATCH: usize = 256;

struct Write {
    event: StatusEvent,
    json: String,
    done: oneshot::Sender<(Result<bool, StoreError>, String)>,
}

/// Records status events through shared commits; see the module docs.
#[derive(Debug, Clone)]
pub struct EventWriter {
    queue: mpsc::Sender<Write>,
}

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Write").field("order_id", &self.event.order_id).field("seq", &self.event.seq).finish()
    }
}

impl EventWriter {
    /// Starts `lanes` batch loops over `store` (each holds at most one connection
    /// at a time). They end when every `EventWriter` clone is dropped.
    pub fn start(store: OrderStore, lanes: usize) -> Self {
        let (queue, rx) = mpsc::channel::<Write>(MAX_BATCH * lanes.max(1) * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..lanes.max(1) {
            tokio::spawn(lane(store.clone(), rx.clone()));
        }
        Self { queue }
    }

    /// Records `event` (see [`OrderStore::record`]) and hands its JSON back.
    pub async fn record(&self, event: StatusEvent, json: String) -> (Result<bool, StoreError>, String) {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(write)) = self.queue.send(Write { event, json, done }).await {
            return (Err(stopped()), write.json);
        }
        match answer.await {
            Ok(answer) => answer,
            Err(_) => (Err(stopped()), String::new()),
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable { backend: crate::Backend::Postgres, reason: "the event writer stopped".to_owned() }
}

async fn lane(store: OrderStore, rx: Arc<Mutex<mpsc::Receiver<Write>>>) {
    let mut batch: Vec<Write> = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return; // every sender is gone
            }
        }
        let result = {
            let events: Vec<(&StatusEvent, &str)> = batch.iter().map(|w| (&w.event, w.json.as_str())).collect();
            store.record_many(&events).await
        };
        match result {
            Ok(recorded) => {
                for (write, ok) in batch.drain(..).zip(recorded) {
                    let _ = write.done.send((Ok(ok), write.json));
                }
            }
            Err(e) if batch.len() == 1 => {
                let write = batch.pop().expect("one write");
                let _ = write.done.send((Err(e), write.json));
            }
            Err(e) => {
                tracing::debug!(error = %e, events = batch.len(), "a batch of events failed; recording them one by one");
                let singles = batch.drain(..).map(|write| {
                    let store = &store;
                    async move {
                        let result = store.record(&write.event, &write.json).await;
                        let _ = write.done.send((result, write.json));
                    }
                });
                futures::future::join_all(singles).await;
            }
        }
    }
}
