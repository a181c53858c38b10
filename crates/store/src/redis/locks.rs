//! Short-lived leases, so only one process at a time does a chore.

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
}
