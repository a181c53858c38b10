//! The engine's Redis: one type per concern, all under one namespace.
//!
//! - [`connect`]: clients that reconnect and time out.
//! - [`jobs`]: the job stream, its consumer group and the dead letters ([`JobQueue`],
//!   [`StreamReader`]).
//! - [`active`]: the set of orders not yet terminal ([`ActiveSet`]).
//! - [`fanout`]: each order's status events on its channel ([`Fanout`]).
//! - [`pool_changes`]: the pool-change stream, every change to the simulated
//!   chain's pools with its slot ([`PoolChanges`]).
//! - [`locks`]: short leases for chores one process does at a time ([`Locks`]).
//! - [`resting`]: news of resting orders for the trigger engine ([`RestingFeed`]).
//! - [`tickets`]: single-use WebSocket tickets ([`Tickets`]).
//! - [`rate`]: rate limits shared by every replica ([`RateLimiter`], GCRA).
//!
//! [`Bus`] holds one of each on a shared client, and makes the two round trips
//! that span concerns: queueing an order (job + active set) and completing its
//! job (last events + active set + acknowledgement).

pub mod active;
pub mod connect;
pub mod fanout;
pub mod jobs;
pub mod locks;
pub mod pool_changes;
pub mod rate;
pub mod resting;
pub mod tickets;

pub use active::ActiveSet;
pub use connect::{RedisSettings, blocking_client, client, subscriber};
pub use fanout::Fanout;
pub use jobs::{ConsumerStats, Job, JobQueue, QueueStats, StreamReader};
pub use locks::Locks;
pub use pool_changes::{PoolChange, PoolChanges};
pub use rate::{Decision, Limit, RateLimiter};
pub use resting::{Notice, RestingFeed};
pub use tickets::{TICKET_TTL, Tickets};

use crate::error::StoreError;
use crate::keys::Keys;
use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand};
use uuid::Uuid;

/// `XADD` the job for order ARGV[1] to stream KEYS[1] and `SADD` it to the
/// active set KEYS[2].
const ENQUEUE: &str =
    r"redis.call('XADD', KEYS[1], '*', 'order', ARGV[1]) redis.call('SADD', KEYS[2], ARGV[1]) return 1";

/// The engine's Redis on one namespace: each concern, and the round trips
/// that span them.
#[derive(Debug, Clone)]
pub struct Bus {
    pub jobs: JobQueue,
    pub active: ActiveSet,
    pub fanout: Fanout,
    pub locks: Locks,
    pub resting: RestingFeed,
    pub tickets: Tickets,
    pub rates: RateLimiter,
    client: Client,
    keys: Keys,
}

impl Bus {
    pub fn new(client: Client, settings: &RedisSettings) -> Self {
        let keys = Keys::new(&settings.namespace);
        Self {
            jobs: JobQueue::new(client.clone(), keys.clone()),
            active: ActiveSet::new(client.clone(), keys.clone()),
            fanout: Fanout::new(client.clone(), keys.clone()),
            locks: Locks::new(client.clone(), keys.clone()),
            resting: RestingFeed::new(client.clone(), keys.clone()),
            tickets: Tickets::new(client.clone(), keys.clone()),
            rates: RateLimiter::new(client.clone(), keys.clone()),
            client,
            keys,
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.client.ping(None).await?;
        Ok(())
    }

    /// Queues an order for the workers and marks it active, in one round trip.
    ///
    /// One command (a script), not a pipeline: a command whose caller has
    /// timed out is never sent, while the first commands of a timed-out
    /// pipeline can still be, after a reconnect. A job would then be queued
    /// for an order refused with a 503 and deleted.
    pub async fn enqueue(&self, order_id: Uuid) -> Result<(), StoreError> {
        let keys = vec![self.keys.stream(), self.keys.active()];
        let _: Value = self.client.eval(ENQUEUE, keys, vec![order_id.to_string()]).await?;
        Ok(())
    }

    /// Publishes one order's events, in order, and — given the order's job
    /// `entry`, once the order is terminal — completes the job: the order leaves
    /// the active set and the job is acknowledged. One round trip.
    pub async fn publish_and_complete<'a>(
        &self,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
        entry: Option<&str>,
    ) -> Result<(), StoreError> {
        let pipeline = self.client.pipeline();
        self.fanout.stage_publish(&pipeline, order_id, events).await?;
        if let Some(entry) = entry {
            self.active.stage_remove(&pipeline, &order_id.to_string()).await?;
            self.jobs.stage_ack(&pipeline, entry).await?;
        }
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Publishes one order's events, in order, and — given its resting
    /// `notice` — tells the trigger engine, and — given its job `entry` —
    /// acknowledges the job, leaving the order in the active set (it is not
    /// terminal: it rests). One round trip.
    pub async fn publish_and_rest<'a>(
        &self,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
        notice: &Notice,
        entry: Option<&str>,
    ) -> Result<(), StoreError> {
        let pipeline = self.client.pipeline();
        self.fanout.stage_publish(&pipeline, order_id, events).await?;
        self.resting.stage(&pipeline, notice).await?;
        if let Some(entry) = entry {
            self.jobs.stage_ack(&pipeline, entry).await?;
        }
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Publishes the terminal events of an order that had no job (a resting
    /// order cancelled or expired), takes it out of the active set and tells
    /// the trigger engine it rests no more. One round trip.
    pub async fn publish_and_close<'a>(
        &self,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
        pair: (&str, &str),
    ) -> Result<(), StoreError> {
        let pipeline = self.client.pipeline();
        self.fanout.stage_publish(&pipeline, order_id, events).await?;
        self.active.stage_remove(&pipeline, &order_id.to_string()).await?;
        let notice = Notice::Closed { id: order_id, mint_in: pair.0.to_owned(), mint_out: pair.1.to_owned() };
        self.resting.stage(&pipeline, &notice).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Completes a terminal order's job with nothing left to publish (see
    /// [`Bus::publish_and_complete`]).
    pub async fn complete_job(&self, order_id: Uuid, entry: &str) -> Result<(), StoreError> {
        self.publish_and_complete(order_id, std::iter::empty(), Some(entry)).await
    }

    /// Removes every key of the namespace (tests and local resets only).
    pub async fn purge_namespace(&self) -> Result<u64, StoreError> {
        let pattern = self.keys.pattern();
        let mut cursor = "0".to_owned();
        let mut removed = 0u64;
        loop {
            let cmd = CustomCommand::new_static("SCAN", ClusterHash::FirstKey, false);
            let (next, keys): (String, Vec<String>) = self
                .client
                .custom(cmd, vec![cursor.clone(), "MATCH".into(), pattern.clone(), "COUNT".into(), "1000".into()])
                .await?;
            if !keys.is_empty() {
                removed += self.client.del::<u64, _>(keys).await?;
            }
            if next == "0" {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}
