//! Short-lived leases, so only one process at a time does a chore.
//!
//! A lease is a key holding its holder's name, expiring by itself. A holder
//! that keeps a chore going renews its lease well before it expires; one that
//! stops releases it, so another takes over at once rather than after the
//! expiry. Renewing and releasing check the holder in one script, so a holder
//! whose lease expired and was taken can neither extend nor delete the new
//! holder's.
//!
//! Work split into partitions (the trigger engine's pairs) uses the same
//! leases, one per partition ([`Locks::hold`]: take it or keep it), and a
//! sorted set of the group's live members, so each process can take its fair
//! share ([`Locks::members`]).

use crate::error::StoreError;
use crate::keys::Keys;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use std::time::Duration;

/// Named leases in the namespace (`{ns}:lock:{name}`), each expiring by itself.
#[derive(Debug, Clone)]
pub struct Locks {
    client: Client,
    keys: Keys,
}

impl Locks {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Takes the lease `name` for `holder` for `ttl`, unless someone holds it.
    pub async fn try_acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let set: Option<String> = self
            .client
            .set(self.keys.lock(name), holder, Some(Expiration::PX(ttl_ms)), Some(SetOptions::NX), false)
            .await?;
        Ok(set.is_some())
    }

    /// Extends `holder`'s lease `name` to `ttl` from now; `false` when it does
    /// not hold it (any more).
    pub async fn renew(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).to_string();
        let renewed: i64 = self.client.eval(RENEW, vec![self.keys.lock(name)], vec![holder.to_owned(), ttl_ms]).await?;
        Ok(renewed == 1)
    }

    /// Keeps `holder`'s lease `name` for `ttl` from now, or takes it if it is
    /// free; whether `holder` holds it now.
    pub async fn hold(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.renew(name, holder, ttl).await? || self.try_acquire(name, holder, ttl).await?)
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
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let pipeline = self.client.pipeline();
        let _: () = pipeline.zadd(&key, None, None, false, false, (now_ms as f64, member)).await?;
        let _: () = pipeline.zremrangebyscore(&key, f64::NEG_INFINITY, (now_ms - ttl_ms) as f64).await?;
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

    /// Gives up `holder`'s lease `name`, if it holds it; `false` otherwise.
    pub async fn release(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        let released: i64 = self.client.eval(RELEASE, vec![self.keys.lock(name)], vec![holder.to_owned()]).await?;
        Ok(released == 1)
    }
}

/// `PEXPIRE` the lease if ARGV[1] holds it.
const RENEW: &str =
    r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/// `DEL` the lease if ARGV[1] holds it.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
