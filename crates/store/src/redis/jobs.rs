//! The job stream: one entry per order to execute, consumed by the workers'
//! group, with the dead-letter stream beside it.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::clients::Pipeline;
use fred::prelude::*;
use fred::types::streams::XReadResponse;
use fred::types::{ClusterHash, CustomCommand};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

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

/// The job stream and its consumer group.
#[derive(Debug, Clone)]
pub struct JobQueue {
    client: Client,
    keys: Keys,
}

impl JobQueue {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Adds the acknowledgement of job `entry` to a pipeline.
    pub(super) async fn stage_ack(&self, pipeline: &Pipeline<Client>, entry: &str) -> Result<(), StoreError> {
        let _: () = pipeline.xack(self.keys.stream(), self.keys.group(), entry).await?;
        Ok(())
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

    /// Jobs in the stream that no worker has taken yet: the group's `lag`,
    /// bounded by the stream's length (see [`effective_lag`]). 0 before any group.
    pub async fn lag(&self) -> Result<u64, StoreError> {
        let stream = self.keys.stream();
        let groups: Value = self.client.xinfo_groups(&stream).await.or_else(no_such_key)?;
        let group = self.keys.group();
        let Some(info) = groups
            .into_array()
            .into_iter()
            .map(as_map)
            .find(|info| info.get("name").and_then(Value::as_string).as_deref() == Some(group.as_str()))
        else {
            return Ok(0);
        };
        let length: u64 = self.client.xlen(&stream).await?;
        Ok(effective_lag(info.get("lag").and_then(Value::as_u64), length))
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
                lag = effective_lag(info.get("lag").and_then(Value::as_u64), length);
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
        self.read_from(">", count, block).await
    }

    /// This consumer's own jobs delivered but not yet acknowledged, oldest first,
    /// at most `count`: what it was handed before a failure it may not have seen
    /// through (a reply lost with a connection, a store error mid-way).
    pub async fn read_own_pending(&self, count: u64) -> Result<Vec<Job>, StoreError> {
        self.read_from("0", count, Duration::ZERO).await
    }

    /// `XREADGROUP … STREAMS stream <from>`: new jobs (`>`, waiting up to
    /// `block`) or this consumer's pending ones (`0`, at once).
    async fn read_from(&self, from: &str, count: u64, block: Duration) -> Result<Vec<Job>, StoreError> {
        let block_ms = (from == ">").then(|| u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1));
        let reply: XReadResponse<String, String, String, String> = self
            .client
            .xreadgroup_map(self.keys.group(), &self.consumer, Some(count), block_ms, false, self.keys.stream(), from)
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

/// The group's lag as Redis reports it, bounded by the stream's `length`.
///
/// Redis counts lag as entries added minus entries the group has read, and is
/// nil when it cannot tell (after a trim): then the whole stream may be unread.
/// After a Sentinel failover the promoted replica's count of entries read can
/// be behind (seen with Redis 7.0: lag 10,706 over a stream of one entry, for
/// good, which shed every order). Unread entries are never trimmed, so the
/// stream's length bounds the true lag.
pub fn effective_lag(reported: Option<u64>, length: u64) -> u64 {
    reported.map_or(length, |lag| lag.min(length))
}

#[cfg(test)]
mod tests {
    use super::effective_lag;

    #[test]
    fn lag_is_bounded_by_the_stream() {
        assert_eq!(effective_lag(Some(3), 10), 3);
        assert_eq!(effective_lag(None, 10), 10, "unknown: all of it may be unread");
        assert_eq!(effective_lag(Some(10_706), 1), 1, "a promoted replica's count can be behind");
    }
}
