//! Redis connections and the engine's Redis operations: the job stream, the
//! active-order set and status fan-out.
//!
//! Clients are built with a reconnect policy (fred never reconnects without one)
//! and a command timeout (without one, commands queue forever while Redis is
//! down). The blocking stream reader gets a client of its own, so a `BLOCK`ed
//! `XREADGROUP` never stalls commands pipelined behind it.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::streams::XReadResponse;
use fred::types::{ClusterHash, CustomCommand, Expiration, SetOptions};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    pub namespace: String,
    /// Bound on each command (and on connecting).
    pub timeout: Duration,
}

/// Reconnect back-off: the first retry after this many milliseconds, doubling…
const RECONNECT_FIRST_MS: u32 = 50;
/// …up to this many; retried for ever (a process without Redis waits for it).
const RECONNECT_MAX_MS: u32 = 2_000;

fn builder(settings: &RedisSettings) -> Result<Builder, StoreError> {
    let config = Config::from_url(&settings.url)?;
    let mut builder = Builder::from_config(config);
    builder
        .set_policy(ReconnectPolicy::new_exponential(0, RECONNECT_FIRST_MS, RECONNECT_MAX_MS, 2))
        .with_connection_config(|c| {
            c.connection_timeout = settings.timeout;
            c.internal_command_timeout = settings.timeout;
            c.max_command_attempts = 2;
            c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() };
        })
        .with_performance_config(|p| {
            p.default_command_timeout = settings.timeout;
            p.broadcast_channel_capacity = 4_096;
        });
    Ok(builder)
}

/// Starts a client's connection task and waits (bounded) for the first connection.
/// Starting while Redis is down is allowed: the task keeps reconnecting by the
/// policy, and commands fail after their timeout until it is back.
async fn start<C: ClientLike>(client: &C, timeout: Duration) {
    let _task = client.connect();
    match tokio::time::timeout(timeout, client.wait_for_connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "redis is not reachable yet; reconnecting in the background")
        }
        Err(_) => tracing::warn!("redis did not answer in time; reconnecting in the background"),
    }
}

/// A command client.
pub async fn client(settings: &RedisSettings) -> Result<Client, StoreError> {
    let client = builder(settings)?.build()?;
    start(&client, settings.timeout).await;
    Ok(client)
}

/// A subscriber client that re-subscribes its channels after a reconnect.
pub async fn subscriber(settings: &RedisSettings) -> Result<SubscriberClient, StoreError> {
    let client = builder(settings)?.build_subscriber_client()?;
    start(&client, settings.timeout).await;
    let _resubscriber = client.manage_subscriptions();
    Ok(client)
}

/// A client for blocking reads: no command timeout (the `BLOCK` bounds each read).
pub async fn blocking_client(settings: &RedisSettings) -> Result<Client, StoreError> {
    let mut b = builder(settings)?;
    b.with_performance_config(|p| p.default_command_timeout = Duration::ZERO);
    let client = b.build()?;
    start(&client, settings.timeout).await;
    Ok(client)
}

/// The engine's Redis operations on one namespace.
#[derive(Debug, Clone)]
pub struct Bus {
    client: Client,
    keys: Keys,
}

/// One consumer's pending count and idle time, as `XINFO CONSUMERS` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStats {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

/// The job stream's state, as `GET /api/queue/stats` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub stream: String,
    pub length: u64,
    pub pending: u64,
    pub lag: u64,
    pub dead_letters: u64,
    pub consumers: Vec<ConsumerStats>,
}

/// A job read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The stream entry id, to acknowledge.
    pub entry: String,
    /// `None` when the entry does not name an order (a poison message).
    pub order_id: Option<Uuid>,
}

impl Bus {
    pub fn new(client: Client, settings: &RedisSettings) -> Self {
        Self { client, keys: Keys::new(&settings.namespace) }
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
    pub async fn enqueue(&self, order_id: Uuid) -> Result<(), StoreError> {
        let id = order_id.to_string();
        let pipeline = self.client.pipeline();
        let _: () = pipeline.xadd(self.keys.stream(), false, None, "*", vec![("order", id.as_str())]).await?;
        let _: () = pipeline.sadd(self.keys.active(), id.as_str()).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Publishes a status event on the order's channel.
    pub async fn publish(&self, order_id: Uuid, json: &str) -> Result<(), StoreError> {
        let _: i64 = self.client.publish(self.keys.channel(order_id), json).await?;
        Ok(())
    }

    /// Publishes several status events of one order, in order, in one round
    /// trip — with the order's finished job (see [`Bus::finish`]), when given.
    pub async fn publish_all<'a>(
        &self,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
        finish: Option<&str>,
    ) -> Result<(), StoreError> {
        let channel = self.keys.channel(order_id);
        let pipeline = self.client.pipeline();
        for json in events {
            let _: () = pipeline.publish(channel.as_str(), json).await?;
        }
        if let Some(entry) = finish {
            let _: () = pipeline.srem(self.keys.active(), order_id.to_string()).await?;
            let _: () = pipeline.xack(self.keys.stream(), self.keys.group(), entry).await?;
        }
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// A finished order's job is done: takes the order off the active set and
    /// acknowledges its job, in one round trip.
    pub async fn finish(&self, order_id: Uuid, entry: &str) -> Result<(), StoreError> {
        self.publish_all(order_id, std::iter::empty(), Some(entry)).await
    }

    /// Removes a finished order from the active set.
    pub async fn deactivate(&self, order_id: Uuid) -> Result<(), StoreError> {
        let _: i64 = self.client.srem(self.keys.active(), order_id.to_string()).await?;
        Ok(())
    }

    /// The ids of orders not yet terminal.
    pub async fn active(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.client.smembers(self.keys.active()).await?)
    }

    /// Creates the consumer group (and the stream) if missing.
    pub async fn ensure_group(&self) -> Result<(), StoreError> {
        let created: Result<Value, _> =
            self.client.xgroup_create(self.keys.stream(), self.keys.group(), "0", true).await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.details().starts_with("BUSYGROUP") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Acknowledges finished jobs.
    pub async fn ack(&self, entries: &[String]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let _: i64 = self.client.xack(self.keys.stream(), self.keys.group(), entries.to_vec()).await?;
        Ok(())
    }

    /// The stream's length, pending count, lag, dead letters and consumers.
    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        let stream = self.keys.stream();
        let length: u64 = self.client.xlen(&stream).await?;
        let dead_letters: u64 = self.client.xlen(self.keys.dead_letters()).await?;
        let groups: Value = self.client.xinfo_groups(&stream).await.or_else(no_such_key)?;
        let group = self.keys.group();
        let mut pending = 0;
        let mut lag = 0;
        for info in groups.into_array() {
            let info = as_map(info);
            if info.get("name").and_then(Value::as_string).as_deref() == Some(group.as_str()) {
                pending = info.get("pending").and_then(Value::as_u64).unwrap_or(0);
                // `lag` is nil when Redis cannot tell (after XDEL/trim); fall back to length.
                lag = info.get("lag").and_then(Value::as_u64).unwrap_or(length);
            }
        }
        let consumers: Value = self.client.xinfo_consumers(&stream, &group).await.or_else(no_such_key)?;
        let consumers = consumers
            .into_array()
            .into_iter()
            .map(as_map)
            .map(|c| ConsumerStats {
                name: c.get("name").and_then(Value::as_string).unwrap_or_default(),
                pending: c.get("pending").and_then(Value::as_u64).unwrap_or(0),
                idle_ms: c.get("idle").and_then(Value::as_u64).unwrap_or(0),
            })
            .collect();
        Ok(QueueStats { stream, length, pending, lag, dead_letters, consumers })
    }

    /// Removes every key of the namespace (tests and local resets only).
    pub async fn purge_namespace(&self) -> Result<u64, StoreError> {
        let pattern = format!("{}:*", self.keys.namespace());
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

impl Bus {
    /// Moves a job that can never succeed to the dead-letter stream, with why, and
    /// acknowledges it, in one round trip.
    pub async fn dead_letter(&self, job: &Job, reason: &str) -> Result<(), StoreError> {
        let order = job.order_id.map(|id| id.to_string()).unwrap_or_default();
        let pipeline = self.client.pipeline();
        let fields = vec![("entry", job.entry.as_str()), ("order", order.as_str()), ("reason", reason)];
        let _: () = pipeline.xadd(self.keys.dead_letters(), false, None, "*", fields).await?;
        let _: () = pipeline.xack(self.keys.stream(), self.keys.group(), job.entry.as_str()).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Removes the stream entries every worker is done with: those below both the
    /// oldest unacknowledged job and the group's last delivered entry. A job not
    /// yet delivered or not yet acknowledged is never removed (a length cap, as
    /// `XADD MAXLEN` applies, would drop undelivered jobs once workers fall far
    /// enough behind). Returns the entries removed.
    pub async fn trim_acknowledged(&self) -> Result<u64, StoreError> {
        let stream = self.keys.stream();
        let groups: Value = self.client.xinfo_groups(&stream).await.or_else(no_such_key)?;
        let group = self.keys.group();
        let Some(last_delivered) = groups.into_array().into_iter().map(as_map).find_map(|info| {
            (info.get("name").and_then(Value::as_string).as_deref() == Some(group.as_str()))
                .then(|| info.get("last-delivered-id").and_then(Value::as_string))
                .flatten()
        }) else {
            return Ok(0); // no group yet: nothing has been consumed
        };
        // Summary form: [count, smallest id, greatest id, consumers].
        let cmd = CustomCommand::new_static("XPENDING", ClusterHash::FirstKey, false);
        let summary: Value = self.client.custom(cmd, vec![stream.clone(), group]).await?;
        let summary = summary.into_array();
        let pending = summary.first().and_then(Value::as_u64).unwrap_or(0);
        let oldest_pending = summary.get(1).and_then(Value::as_string);
        let min_id = match oldest_pending {
            Some(id) if pending > 0 => id,
            _ => last_delivered,
        };
        // `MINID` removes entries with smaller ids; the one at `min_id` stays.
        let cmd = CustomCommand::new_static("XTRIM", ClusterHash::FirstKey, false);
        let removed: Value = self.client.custom(cmd, vec![stream, "MINID".to_owned(), min_id]).await?;
        Ok(removed.as_u64().unwrap_or(0))
    }

    /// How many times each job has been delivered (`XPENDING`), in one round trip.
    /// A job no longer pending counts as 0.
    pub async fn deliveries(&self, jobs: &[Job]) -> Result<Vec<u64>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = self.client.pipeline();
        for job in jobs {
            let cmd = CustomCommand::new_static("XPENDING", ClusterHash::FirstKey, false);
            let args =
                vec![self.keys.stream(), self.keys.group(), job.entry.clone(), job.entry.clone(), "1".to_owned()];
            let _: () = pipeline.custom(cmd, args).await?;
        }
        let replies: Vec<Value> = pipeline.all().await?;
        Ok(replies
            .into_iter()
            .map(|reply| {
                // [[id, consumer, idle ms, times delivered]]
                let row = reply.into_array().into_iter().next().map(Value::into_array).unwrap_or_default();
                row.get(3).and_then(Value::as_u64).unwrap_or(0)
            })
            .collect())
    }

    /// Of `ids`, those not in the active set.
    pub async fn inactive(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let members: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let flags: Vec<bool> = self.client.smismember(self.keys.active(), members).await?;
        Ok(ids.iter().zip(flags).filter(|(_, active)| !active).map(|(id, _)| *id).collect())
    }

    /// Takes a short-lived lock, so only one worker at a time does a chore.
    pub async fn try_lock(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = self.keys.lock(name);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let set: Option<String> =
            self.client.set(key, holder, Some(Expiration::PX(ttl_ms)), Some(SetOptions::NX), false).await?;
        Ok(set.is_some())
    }

    /// Takes over jobs that other consumers have held unacknowledged for at least
    /// `min_idle` (`XAUTOCLAIM`), at most `count`, scanning the pending list from
    /// `cursor`. Returns the jobs and the cursor to continue from (`0-0` when the
    /// scan wrapped). The reply is read raw: Redis 7 adds a list of entries that
    /// were trimmed from the stream, which typed helpers drop.
    pub async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        cursor: &str,
        count: u64,
    ) -> Result<(Vec<Job>, String), StoreError> {
        let cmd = CustomCommand::new_static("XAUTOCLAIM", ClusterHash::FirstKey, false);
        let idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX).to_string();
        let args = vec![
            self.keys.stream(),
            self.keys.group(),
            consumer.to_owned(),
            idle_ms,
            cursor.to_owned(),
            "COUNT".to_owned(),
            count.to_string(),
        ];
        let reply: Value = self.client.custom(cmd, args).await?;
        let mut parts = reply.into_array().into_iter();
        let next = parts.next().and_then(|v| v.as_string()).unwrap_or_else(|| "0-0".to_owned());
        let jobs = parts
            .next()
            .map(Value::into_array)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|entry| {
                let mut entry = entry.into_array().into_iter();
                let id = entry.next()?.as_string()?;
                let fields = entry.next().map(Value::into_array).unwrap_or_default();
                let order_id = fields
                    .chunks(2)
                    .find(|kv| kv.first().and_then(Value::as_string).as_deref() == Some("order"))
                    .and_then(|kv| kv.get(1)?.as_string())
                    .and_then(|s| Uuid::parse_str(&s).ok());
                Some(Job { entry: id, order_id })
            })
            .collect();
        Ok((jobs, next))
    }
}

/// Reads jobs for one consumer of the group, on a dedicated blocking client.
#[derive(Debug, Clone)]
pub struct StreamReader {
    client: Client,
    keys: Keys,
    consumer: String,
}

impl StreamReader {
    pub fn new(client: Client, keys: Keys, consumer: String) -> Self {
        Self { client, keys, consumer }
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Waits up to `block` for at most `count` new jobs.
    pub async fn read(&self, count: u64, block: Duration) -> Result<Vec<Job>, StoreError> {
        let block_ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
        let reply: XReadResponse<String, String, String, String> = self
            .client
            .xreadgroup_map(
                self.keys.group(),
                &self.consumer,
                Some(count),
                Some(block_ms),
                false,
                self.keys.stream(),
                ">",
            )
            .await?;
        Ok(reply
            .into_values()
            .flatten()
            .map(|(entry, fields)| Job { order_id: fields.get("order").and_then(|s| Uuid::parse_str(s).ok()), entry })
            .collect())
    }
}

fn no_such_key(e: fred::error::Error) -> Result<Value, fred::error::Error> {
    // XINFO on a stream that does not exist yet: nothing to report.
    if e.details().contains("no such key") { Ok(Value::Array(Vec::new())) } else { Err(e) }
}

/// XINFO replies are flat `[k, v, k, v, …]` arrays (RESP2) or maps (RESP3).
fn as_map(value: Value) -> HashMap<String, Value> {
    match value {
        Value::Map(map) => map.inner().into_iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v))).collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((k.as_string()?, v.clone())),
                _ => None,
            })
            .collect(),
        _ => HashMap::new(),
    }
}
