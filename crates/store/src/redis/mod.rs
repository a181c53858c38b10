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
pub mod script;
pub mod tickets;

pub use active::ActiveSet;
pub use connect::{
    RedisSettings, blocking_client, client, client_connecting, ssubscribe_confirmed, stream_reader, subscriber,
    subscriber_connecting, sunsubscribe,
};
pub use fanout::Fanout;
pub use jobs::{ConsumerStats, Job, JobQueue, JobRef, PartitionStats, QueueStats, StreamReader};
pub use locks::Locks;
pub use pool_changes::{PoolChange, PoolChanges};
pub use rate::{Decision, Grant, Leases, Limit, RateLimiter};
pub use resting::{Notice, RestingFeed};
pub use tickets::{TICKET_TTL, Tickets};

use crate::error::StoreError;
use crate::keys::Keys;
use fred::prelude::*;
use fred::types::scan::Scanner;
use fred::types::{ClusterHash, CustomCommand};
use futures::StreamExt;
use uuid::Uuid;

/// `XADD` the job for order ARGV[1] to stream KEYS[1] and `SADD` it to the
/// active set KEYS[2] (one partition's: one slot).
/// KEYS: the partition's stream and active set; ARGV: the order id, and the
/// order as queued (see [`crate::orders::queued`]) when given.
const ENQUEUE: &str = r"
if ARGV[2] then
  redis.call('XADD', KEYS[1], '*', 'order', ARGV[1], 'queued', ARGV[2])
else
  redis.call('XADD', KEYS[1], '*', 'order', ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[1])
return 1";

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
    enqueue_script: script::Script,
    client: Client,
    keys: Keys,
}

impl Bus {
    pub fn new(client: Client, settings: &RedisSettings) -> Self {
        let keys = settings.keys();
        Self {
            jobs: JobQueue::new(client.clone(), keys.clone()),
            active: ActiveSet::new(client.clone(), keys.clone()),
            fanout: Fanout::new(client.clone(), keys.clone()),
            locks: Locks::new(client.clone(), keys.clone()),
            resting: RestingFeed::new(client.clone(), keys.clone()),
            tickets: Tickets::new(client.clone(), keys.clone()),
            rates: RateLimiter::new(client.clone(), keys.clone()),
            enqueue_script: script::Script::new(ENQUEUE),
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
        self.enqueue_with(order_id, None).await
    }

    /// As [`Bus::enqueue`], for an order just stored: its job carries the
    /// order as stored, which spares the worker that takes the job a read of
    /// it ([`crate::orders::queued`]).
    pub async fn enqueue_new(&self, order: &crate::NewOrder) -> Result<(), StoreError> {
        self.enqueue_with(order.id, Some(crate::orders::queued::encode(order))).await
    }

    async fn enqueue_with(&self, order_id: Uuid, queued: Option<String>) -> Result<(), StoreError> {
        let p = self.keys.partition_of(order_id);
        let keys = vec![self.keys.stream(p), self.keys.active(p)];
        let args: Vec<String> = std::iter::once(order_id.to_string()).chain(queued).collect();
        let _: Value = self.enqueue_script.run(&self.client, keys, args).await?;
        Ok(())
    }

    /// Publishes one order's events, in order, and — given the order's `job`,
    /// once the order is terminal — completes the job: the order leaves its
    /// partition's active set and the job is acknowledged. One round trip (to
    /// one node of a cluster: the channel, set and stream share a slot).
    pub async fn publish_and_complete<'a>(
        &self,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
        job: Option<&JobRef>,
    ) -> Result<(), StoreError> {
        let pipeline = self.client.pipeline();
        self.fanout.stage_publish(&pipeline, order_id, events).await?;
        if let Some(job) = job {
            self.active.stage_remove(&pipeline, job.partition, order_id).await?;
            self.jobs.stage_ack(&pipeline, job).await?;
        }
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Publishes one order's events, in order, and — given its resting
    /// `notice` — tells the trigger engine, and — given its `job` —
    /// acknowledges the job, leaving the order in the active set (it is not
    /// terminal: it rests). One round trip.
    pub async fn publish_and_rest<'a>(
        &self,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
        notice: &Notice,
        job: Option<&JobRef>,
    ) -> Result<(), StoreError> {
        let pipeline = self.client.pipeline();
        self.fanout.stage_publish(&pipeline, order_id, events).await?;
        self.resting.stage(&pipeline, notice).await?;
        if let Some(job) = job {
            self.jobs.stage_ack(&pipeline, job).await?;
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
        self.active.stage_remove(&pipeline, self.keys.partition_of(order_id), order_id).await?;
        let notice = Notice::Closed { id: order_id, mint_in: pair.0.to_owned(), mint_out: pair.1.to_owned() };
        self.resting.stage(&pipeline, &notice).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Completes a terminal order's job with nothing left to publish (see
    /// [`Bus::publish_and_complete`]).
    pub async fn complete_job(&self, order_id: Uuid, job: &JobRef) -> Result<(), StoreError> {
        self.publish_and_complete(order_id, std::iter::empty(), Some(job)).await
    }

    /// Checks that this process lays the namespace out as every other does:
    /// the first process records its partition count in Redis, and each later
    /// one compares. Returns the count on record when it differs from this
    /// process's (its jobs and channels would be under other names: followers
    /// would miss live events and jobs would wait for the sweeper). With Redis
    /// unreachable there is nothing to compare yet: `Ok(None)`, logged.
    pub async fn check_partitions(&self) -> Result<Option<u16>, StoreError> {
        let key = self.keys.layout();
        let ours = self.keys.partitions();
        let recorded: Result<Option<String>, fred::error::Error> = async {
            let _: Value = self.client.set(&key, ours.to_string(), None, Some(SetOptions::NX), false).await?;
            self.client.get(&key).await
        }
        .await;
        match recorded.map_err(StoreError::from) {
            Ok(Some(value)) => Ok(value.parse::<u16>().ok().filter(|theirs| *theirs != ours)),
            Ok(None) => Ok(None),
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "could not check the namespace's partition count yet");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes every key of the namespace (tests and local resets only): a
    /// `SCAN` of every primary when clustered.
    pub async fn purge_namespace(&self) -> Result<u64, StoreError> {
        let pattern = self.keys.pattern();
        let mut removed = 0u64;
        if self.client.is_clustered() {
            let mut pages = std::pin::pin!(self.client.scan_cluster(pattern, Some(1_000), None));
            while let Some(page) = pages.next().await {
                let mut page = page?;
                if let Some(keys) = page.take_results() {
                    removed += self.delete_each(keys.into_iter().filter_map(|k| k.into_string())).await?;
                }
            }
            return Ok(removed);
        }
        let mut cursor = "0".to_owned();
        loop {
            let cmd = CustomCommand::new_static("SCAN", ClusterHash::FirstKey, false);
            let (next, keys): (String, Vec<String>) = self
                .client
                .custom(cmd, vec![cursor.clone(), "MATCH".into(), pattern.clone(), "COUNT".into(), "1000".into()])
                .await?;
            removed += self.delete_each(keys.into_iter()).await?;
            if next == "0" {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// Deletes keys one `DEL` each, pipelined (a cluster refuses a `DEL` of
    /// keys in different slots).
    async fn delete_each(&self, keys: impl Iterator<Item = String>) -> Result<u64, StoreError> {
        let pipeline = self.client.pipeline();
        let mut any = false;
        for key in keys {
            let _: () = pipeline.del(key).await?;
            any = true;
        }
        if !any {
            return Ok(0);
        }
        let deleted: Vec<u64> = pipeline.all().await?;
        Ok(deleted.iter().sum())
    }
}
