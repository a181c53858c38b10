//! The job stream: one entry per order to execute, consumed by the workers'
//! group, with the dead-letter stream beside it.
//!
//! The stream is split into partitions (see [`Keys`]), each with the same
//! group; a job is named by its partition and its entry there ([`JobRef`]).
//! Every worker reads every partition.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::clients::Pipeline;
use fred::prelude::*;
use fred::types::streams::XReadResponse;
use fred::types::{ClusterHash, CustomCommand};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// One consumer's pending count and idle time, as `XINFO CONSUMERS` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStats {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

/// One partition of the job stream, as `GET /api/queue/stats` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStats {
    pub stream: String,
    pub length: u64,
    pub pending: u64,
    pub lag: u64,
}

/// The job stream's state, as `GET /api/queue/stats` reports it: totals over
/// the partitions, each partition, and each consumer (over every partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// The stream's name, or the pattern of its partitions' names.
    pub stream: String,
    pub length: u64,
    pub pending: u64,
    pub lag: u64,
    pub dead_letters: u64,
    pub consumers: Vec<ConsumerStats>,
    pub partitions: Vec<PartitionStats>,
}

/// Where a job is: its partition, and its entry id in that partition's stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef {
    pub partition: u16,
    pub entry: String,
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.partition, self.entry)
    }
}

/// A job read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The partition and entry, to acknowledge.
    pub at: JobRef,
    /// `None` when the entry does not name an order (a poison message).
    pub order_id: Option<Uuid>,
    /// The order as it was queued, on a job delivered for the first time
    /// whose entry carries it ([`crate::Bus::enqueue_new`]); `None` on a job
    /// delivered again, which must read its order.
    pub queued: Option<String>,
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

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Adds the acknowledgement of `job` to a pipeline.
    pub(super) async fn stage_ack(&self, pipeline: &Pipeline<Client>, job: &JobRef) -> Result<(), StoreError> {
        let _: () = pipeline.xack(self.keys.stream(job.partition), self.keys.group(), job.entry.as_str()).await?;
        Ok(())
    }

    /// Creates the consumer group (and the stream) of every partition, where missing.
    pub async fn ensure_group(&self) -> Result<(), StoreError> {
        for p in self.keys.all_partitions() {
            let created: Result<Value, _> =
                self.client.xgroup_create(self.keys.stream(p), self.keys.group(), "0", true).await;
            match created {
                Ok(_) => {}
                Err(e) if e.details().starts_with("BUSYGROUP") => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Jobs in the stream that no worker has taken yet: over every partition,
    /// the group's `lag`, bounded by the partition's length (see [`effective_lag`]).
    pub async fn lag(&self) -> Result<u64, StoreError> {
        Ok(self.partition_stats().await?.iter().map(|p| p.lag).sum())
    }

    /// Each partition's length, pending count and lag, in one round trip
    /// (a partition without its group yet counts as empty).
    async fn partition_stats(&self) -> Result<Vec<PartitionStats>, StoreError> {
        let pipeline = self.client.pipeline();
        for p in self.keys.all_partitions() {
            let _: () = pipeline.xlen(self.keys.stream(p)).await?;
            let _: () = pipeline.xinfo_groups(self.keys.stream(p)).await?;
        }
        let replies: Vec<Result<Value, fred::error::Error>> = pipeline.try_all().await;
        let group = self.keys.group();
        let mut replies = replies.into_iter();
        let mut stats = Vec::with_capacity(usize::from(self.keys.partitions()));
        for p in self.keys.all_partitions() {
            let length = replies.next().transpose()?.and_then(|v| v.as_u64()).unwrap_or(0);
            let groups = replies.next().transpose().or_else(|e| no_such_key(e).map(Some))?.unwrap_or(Value::Null);
            let info = group_info(groups, &group);
            let (pending, lag) = info.map_or((0, 0), |info| {
                let pending = info.get("pending").and_then(Value::as_u64).unwrap_or(0);
                (pending, effective_lag(info.get("lag").and_then(Value::as_u64), length))
            });
            stats.push(PartitionStats { stream: self.keys.stream(p), length, pending, lag });
        }
        Ok(stats)
    }

    /// The stream's length, pending count, lag, dead letters and consumers,
    /// over every partition and for each.
    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        let partitions = self.partition_stats().await?;
        let dead_letters: u64 = self.client.xlen(self.keys.dead_letters()).await?;
        let group = self.keys.group();
        let mut consumers: BTreeMap<String, ConsumerStats> = BTreeMap::new();
        for p in self.keys.all_partitions() {
            let listed: Value =
                self.client.xinfo_consumers(self.keys.stream(p), &group).await.or_else(no_such_group)?;
            for c in listed.into_array().into_iter().map(as_map) {
                let name = c.get("name").and_then(Value::as_string).unwrap_or_default();
                let pending = c.get("pending").and_then(Value::as_u64).unwrap_or(0);
                let idle_ms = c.get("idle").and_then(Value::as_u64).unwrap_or(0);
                let entry = consumers.entry(name.clone()).or_insert(ConsumerStats { name, pending: 0, idle_ms });
                entry.pending += pending;
                entry.idle_ms = entry.idle_ms.min(idle_ms);
            }
        }
        Ok(QueueStats {
            stream: self.keys.stream_name(),
            length: partitions.iter().map(|p| p.length).sum(),
            pending: partitions.iter().map(|p| p.pending).sum(),
            lag: partitions.iter().map(|p| p.lag).sum(),
            dead_letters,
            consumers: consumers.into_values().collect(),
            partitions,
        })
    }

    /// Moves a job that can never succeed to the dead-letter stream, with why, and
    /// acknowledges it, in one round trip.
    pub async fn dead_letter(&self, job: &Job, reason: &str) -> Result<(), StoreError> {
        let order = job.order_id.map(|id| id.to_string()).unwrap_or_default();
        let at = job.at.to_string();
        let pipeline = self.client.pipeline();
        let fields = vec![("entry", at.as_str()), ("order", order.as_str()), ("reason", reason)];
        let _: () = pipeline.xadd(self.keys.dead_letters(), false, None, "*", fields).await?;
        self.stage_ack(&pipeline, &job.at).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    /// Removes the stream entries every worker is done with: those below both the
    /// oldest unacknowledged job and the group's last delivered entry. A job not
    /// yet delivered or not yet acknowledged is never removed (a length cap, as
    /// `XADD MAXLEN` applies, would drop undelivered jobs once workers fall far
    /// enough behind). Every partition; returns the entries removed.
    pub async fn trim_acknowledged(&self) -> Result<u64, StoreError> {
        let mut removed = 0;
        for p in self.keys.all_partitions() {
            removed += self.trim_partition(p).await?;
        }
        Ok(removed)
    }

    async fn trim_partition(&self, p: u16) -> Result<u64, StoreError> {
        let stream = self.keys.stream(p);
        let groups: Value = self.client.xinfo_groups(&stream).await.or_else(no_such_key)?;
        let group = self.keys.group();
        let Some(last_delivered) =
            group_info(groups, &group).and_then(|info| info.get("last-delivered-id").and_then(Value::as_string))
        else {
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
            let (stream, entry) = (self.keys.stream(job.at.partition), job.at.entry.clone());
            let args = vec![stream, self.keys.group(), entry.clone(), entry, "1".to_owned()];
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

    /// Takes over jobs of partition `p` that other consumers have held
    /// unacknowledged for at least `min_idle` (`XAUTOCLAIM`), at most `count`,
    /// scanning the pending list from `cursor`. Returns the jobs and the cursor
    /// to continue from (`0-0` when the scan wrapped). The reply is read raw:
    /// Redis 7 adds a list of entries that were trimmed from the stream, which
    /// typed helpers drop.
    pub async fn reclaim(
        &self,
        p: u16,
        consumer: &str,
        min_idle: Duration,
        cursor: &str,
        count: u64,
    ) -> Result<(Vec<Job>, String), StoreError> {
        let cmd = CustomCommand::new_static("XAUTOCLAIM", ClusterHash::FirstKey, false);
        let idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX).to_string();
        let args = vec![
            self.keys.stream(p),
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
                Some(Job { at: JobRef { partition: p, entry: id }, order_id, queued: None })
            })
            .collect();
        Ok((jobs, next))
    }
}

/// Reads jobs for one consumer of the group, from every partition.
///
/// Each partition has a blocking client of its own (a blocked `XREADGROUP`
/// holds its connection, and in a cluster the partitions live on different
/// nodes); reads that do not block go through the command client.
#[derive(Debug, Clone)]
pub struct StreamReader {
    client: Client,
    blocking: Arc<[Client]>,
    keys: Keys,
    consumer: String,
    /// Where the next read starts, so no partition is always served last.
    next: Arc<AtomicUsize>,
    /// Set when a read failed on some partition but returned others' jobs.
    failed: Arc<AtomicBool>,
}

impl StreamReader {
    /// A reader over `blocking`, one blocking client per partition of `keys`
    /// (or one for them all when the stream has one partition).
    pub fn new(client: Client, blocking: Vec<Client>, keys: Keys, consumer: String) -> Self {
        Self { client, blocking: blocking.into(), keys, consumer, next: Arc::default(), failed: Arc::default() }
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Whether a read since the last call failed on some partition while
    /// returning others' jobs: that partition's reply, and the jobs it handed
    /// this consumer, may be lost (see [`StreamReader::read_own_pending`]).
    pub fn take_partly_failed(&self) -> bool {
        self.failed.swap(false, Ordering::Relaxed)
    }

    /// At most `count` new jobs. With one partition, waits up to `block` for
    /// them. With several, takes what is there now, partition after partition;
    /// only when none has any does it wait up to `block` on every partition at
    /// once, each asked for its share of `count` (so up to one job per
    /// partition more than `count` may come back).
    pub async fn read(&self, count: u64, block: Duration) -> Result<Vec<Job>, StoreError> {
        let partitions = self.keys.partitions();
        if partitions == 1 {
            return self.read_partition(0, ">", count, Some(block)).await;
        }
        let jobs = self.read_each(">", count).await?;
        if !jobs.is_empty() {
            return Ok(jobs);
        }
        let share = count.div_ceil(u64::from(partitions)).max(1);
        let reads = self.keys.all_partitions().map(|p| self.read_partition(p, ">", share, Some(block)));
        self.gather(futures::future::join_all(reads).await)
    }

    /// This consumer's own jobs delivered but not yet acknowledged, oldest first
    /// in each partition, at most `count`: what it was handed before a failure
    /// it may not have seen through (a reply lost with a connection, a store
    /// error mid-way).
    pub async fn read_own_pending(&self, count: u64) -> Result<Vec<Job>, StoreError> {
        self.read_each("0", count).await
    }

    /// Reads from each partition in turn without blocking, until `count` jobs.
    async fn read_each(&self, from: &str, count: u64) -> Result<Vec<Job>, StoreError> {
        let partitions = usize::from(self.keys.partitions());
        let start = self.next.fetch_add(1, Ordering::Relaxed) % partitions;
        let mut results = Vec::new();
        let mut got = 0;
        for i in 0..partitions {
            if got >= count {
                break;
            }
            let p = u16::try_from((start + i) % partitions).unwrap_or(0);
            let result = self.read_partition(p, from, count - got, None).await;
            got += result.as_ref().map_or(0, |jobs| jobs.len() as u64);
            results.push(result);
        }
        self.gather(results)
    }

    /// The jobs of every read that worked; an error only if every read failed.
    fn gather(&self, results: Vec<Result<Vec<Job>, StoreError>>) -> Result<Vec<Job>, StoreError> {
        let mut jobs = Vec::new();
        let mut first_error = None;
        let mut worked = false;
        for result in results {
            match result {
                Ok(read) => {
                    worked = true;
                    jobs.extend(read);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if !worked => Err(e),
            Some(e) => {
                tracing::warn!(error = %e, "reading one partition of the job stream failed");
                self.failed.store(true, Ordering::Relaxed);
                Ok(jobs)
            }
            None => Ok(jobs),
        }
    }

    /// `XREADGROUP … STREAMS <partition p> <from>`: new jobs (`>`) or this
    /// consumer's pending ones (`0`); with `block`, waiting up to it on p's
    /// blocking client.
    async fn read_partition(
        &self,
        p: u16,
        from: &str,
        count: u64,
        block: Option<Duration>,
    ) -> Result<Vec<Job>, StoreError> {
        let block_ms = block.map(|b| u64::try_from(b.as_millis()).unwrap_or(u64::MAX).max(1));
        let client = match block {
            Some(_) => self.blocking.get(usize::from(p)).or(self.blocking.first()).unwrap_or(&self.client),
            None => &self.client,
        };
        let reply: XReadResponse<String, String, String, String> = client
            .xreadgroup_map(self.keys.group(), &self.consumer, Some(count), block_ms, false, self.keys.stream(p), from)
            .await?;
        Ok(reply
            .into_values()
            .flatten()
            .map(|(entry, mut fields)| Job {
                order_id: fields.get("order").and_then(|s| Uuid::parse_str(s).ok()),
                // Only a first delivery: the order may have moved on since.
                queued: if from == ">" { fields.remove("queued") } else { None },
                at: JobRef { partition: p, entry },
            })
            .collect())
    }
}

fn no_such_key(e: fred::error::Error) -> Result<Value, fred::error::Error> {
    // XINFO on a stream that does not exist yet: nothing to report.
    if e.details().contains("no such key") { Ok(Value::Array(Vec::new())) } else { Err(e) }
}

fn no_such_group(e: fred::error::Error) -> Result<Value, fred::error::Error> {
    // XINFO CONSUMERS of a group (or stream) not created yet: no consumers.
    if e.details().contains("NOGROUP") { Ok(Value::Array(Vec::new())) } else { no_such_key(e) }
}

/// The entry of group `name` in an `XINFO GROUPS` reply, if there is one.
fn group_info(groups: Value, name: &str) -> Option<HashMap<String, Value>> {
    groups
        .into_array()
        .into_iter()
        .map(as_map)
        .find(|info| info.get("name").and_then(Value::as_string).as_deref() == Some(name))
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
