//! Leases on partitions of work shared by a group of processes, and the
//! group's live members, so each can take its fair share.
//!
//! A lease is a key holding its holder's name with a time to live: taken when
//! free, renewed by its holder, released by its holder — never by anyone else
//! (one script each, so "is it mine?" and the change are one step). A holder
//! that dies stops renewing, and its leases expire. Members announce
//! themselves in a sorted set scored by when they were last seen.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::prelude::*;
use std::time::Duration;

/// Takes the lease if free, renews it if `holder` has it: 1 when `holder`
/// holds it afterwards, 0 otherwise.
const HOLD: &str = r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Deletes the lease only if `holder` has it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Leases and membership in the namespace.
#[derive(Debug, Clone)]
pub struct Leases {
    client: Client,
    keys: Keys,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Leases {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Takes or renews the lease `name` for `holder` for `ttl`; whether
    /// `holder` holds it now.
    pub async fn hold(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let held: i64 = self
            .client
            .eval(HOLD, vec![self.keys.lock(name)], vec![holder.to_owned(), millis(ttl).max(1).to_string()])
            .await?;
        Ok(held == 1)
    }

    /// Gives the lease `name` up, if `holder` has it.
    pub async fn release(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        let released: i64 = self.client.eval(RELEASE, vec![self.keys.lock(name)], vec![holder.to_owned()]).await?;
        Ok(released == 1)
    }

    /// Who holds the lease `name`, if anyone.
    pub async fn holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.client.get(self.keys.lock(name)).await?)
    }

    /// Marks `member` of `group` alive at `now_ms` and returns the group's
    /// members seen within `ttl`, sorted (every member computes the same
    /// order); older ones are dropped.
    pub async fn members(
        &self,
        group: &str,
        member: &str,
        now_ms: i64,
        ttl: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let key = self.keys.members(group);
        let pipeline = self.client.pipeline();
        let _: () = pipeline.zadd(&key, None, None, false, false, (now_ms as f64, member)).await?;
        let _: () = pipeline.zremrangebyscore(&key, f64::NEG_INFINITY, (now_ms - millis(ttl)) as f64).await?;
        let _: () = pipeline.zrange(&key, 0, -1, None, false, None, false).await?;
        let (_, _, mut members): (i64, i64, Vec<String>) = pipeline.all().await?;
        members.sort();
        Ok(members)
    }

    /// Takes `member` out of `group` (a clean stop: the others rebalance at once).
    pub async fn leave(&self, group: &str, member: &str) -> Result<(), StoreError> {
        let _: i64 = self.client.zrem(self.keys.members(group), member).await?;
        Ok(())
    }
}
