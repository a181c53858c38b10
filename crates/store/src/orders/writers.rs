//! The order store's group-committed writers: status events (workers) and new
//! orders (API) share commits through [`crate::group_commit`]; see there.

use super::OrderStore;
use crate::error::StoreError;
use crate::group_commit::{Batching, Committer, Lanes, MAX_BATCH};
use chrono::{DateTime, Utc};
use oee_domain::{OrderSpec, RecordedEvent};
use uuid::Uuid;

#[derive(Clone)]
struct Events(OrderStore);

/// One order's next events, recorded together or not at all (see
/// [`OrderStore::record_many`]).
pub type Run = Vec<RecordedEvent>;

impl Committer for Events {
    type Item = Run;
    type Answer = bool;

    async fn many<'a>(&'a self, items: &'a [&'a Run]) -> Result<Vec<bool>, StoreError> {
        let runs: Vec<&[RecordedEvent]> = items.iter().map(|run| run.as_slice()).collect();
        self.0.record_many(&runs).await
    }

    async fn one<'a>(&'a self, run: &'a Run) -> Result<bool, StoreError> {
        Ok(self.0.record_many(&[run.as_slice()]).await?.first().copied().unwrap_or(false))
    }
}

/// Records status events through shared commits; see the module docs.
#[derive(Clone)]
pub struct EventWriter {
    lanes: Lanes<Events>,
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter").finish_non_exhaustive()
    }
}

impl EventWriter {
    pub fn start(store: OrderStore, batching: Batching) -> Self {
        Self { lanes: Lanes::start(Events(store), batching, MAX_BATCH) }
    }

    /// Records one event (see [`OrderStore::record`]) and hands it back.
    pub async fn record(&self, event: RecordedEvent) -> (Result<bool, StoreError>, Option<RecordedEvent>) {
        let (result, run) = self.record_run(vec![event]).await;
        (result, run.into_iter().next())
    }

    /// Records a run of one order's next events, all or none (see
    /// [`OrderStore::record_many`]), and hands the run back for publishing.
    pub async fn record_run(&self, run: Run) -> (Result<bool, StoreError>, Run) {
        let (result, run) = self.lanes.write(run).await;
        (result, run.unwrap_or_default())
    }
}

/// A new order: stored by [`OrderStore::insert`] (with an idempotency key) or
/// through shared commits by [`OrderWriter`] (without one).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: Uuid,
    /// The account of the key that submitted it.
    pub account: String,
    pub spec: OrderSpec,
    pub at: DateTime<Utc>,
    /// A limit order's expiry as accepted (the request's, or the default);
    /// `spec` keeps the request's own, for idempotency.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
struct Orders(OrderStore);

impl Committer for Orders {
    type Item = NewOrder;
    type Answer = ();

    async fn many<'a>(&'a self, items: &'a [&'a NewOrder]) -> Result<Vec<()>, StoreError> {
        self.0.insert_new_many(items).await?;
        Ok(vec![(); items.len()])
    }

    async fn one<'a>(&'a self, order: &'a NewOrder) -> Result<(), StoreError> {
        self.0.insert_new_many(&[order]).await
    }
}

/// Stores new orders (those without an idempotency key) through shared commits.
#[derive(Clone)]
pub struct OrderWriter {
    lanes: Lanes<Orders>,
}

impl std::fmt::Debug for OrderWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderWriter").finish_non_exhaustive()
    }
}

impl OrderWriter {
    pub fn start(store: OrderStore, batching: Batching) -> Self {
        Self { lanes: Lanes::start(Orders(store), batching, MAX_BATCH) }
    }

    /// Stores the order and its `pending` event; returns once committed.
    pub async fn insert(&self, order: NewOrder) -> Result<(), StoreError> {
        self.lanes.write(order).await.0
    }
}
