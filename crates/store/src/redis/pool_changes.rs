//! The pool-change stream `{ns}:pools`: every change to a pool of the
//! simulated chain, published by whoever landed it. The trigger engine's input.
//!
//! **Entry format.** One entry per landed transaction, appended after its
//! commit (see [`crate::PublishingLedger`]), with these fields:
//!
//! | field | value |
//! |---|---|
//! | `slot` | the transaction's slot, in decimal |
//! | one per pool it changed, named by the pool's id (`raydium:SOL-USDC`) | the pool's new state as [`crate::chain::encode_pool`] writes it to `chain.pools`: a format byte (`2`), then postcard |
//!
//! A pool id always contains a `:`, so it never meets the field `slot`.
//!
//! **Order.** Appends follow commits, but from many tasks and processes: two
//! entries that change the same pool can reach the stream out of slot order
//! (two commits a moment apart, appended by different callers). A reader keeps,
//! per pool, the state with the highest slot ([`Pool::slot`] of each pool
//! [`PoolChanges::read_after`] returns is its entry's slot) and ignores older ones.
//!
//! **Loss.** An append can be lost after its commit (the process dies in
//! between, or Redis is down: the swap has landed, so the commit does not
//! fail). PostgreSQL stays the truth: a reader that notes
//! [`PoolChanges::last_id`] before loading `chain::all_pools`, then applies
//! every entry after that position, misses nothing that was appended, and a
//! periodic re-read of the pools covers what was not.
//!
//! **Growth.** Every append trims the stream approximately (`MAXLEN ~`) to
//! `max_len` entries ([`DEFAULT_MAX_LEN`] unless set): a reader further behind
//! than that starts again from PostgreSQL.

use crate::chain::{decode_pool, encode_pool};
use crate::error::StoreError;
use crate::keys::Keys;
use fred::bytes::Bytes;
use fred::prelude::*;
use fred::types::streams::{XCap, XReadResponse};
use oee_router::Pool;
use std::time::Duration;

/// Entries the stream keeps by default (trimmed approximately): a reader
/// only needs those since it last loaded the pools from PostgreSQL (the
/// trigger engine does every second), and at thousands of swaps a second this
/// is still a few seconds of them.
pub const DEFAULT_MAX_LEN: u64 = 10_000;

/// The field of an entry that holds its slot.
const SLOT: &str = "slot";

/// One entry of the stream: a landed transaction's slot and the states it
/// left its pools in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolChange {
    /// The stream entry id, to read on from.
    pub id: String,
    pub slot: u64,
    /// Each pool the transaction changed, with [`Pool::slot`] = `slot`, in id order.
    pub pools: Vec<Pool>,
}

/// The pool-change stream of one namespace.
///
/// A blocking [`PoolChanges::read_after`] stalls every other command on its
/// client: give a reader that blocks a client of its own
/// ([`crate::redis::blocking_client`]).
#[derive(Debug, Clone)]
pub struct PoolChanges {
    client: Client,
    key: String,
    max_len: u64,
}

impl PoolChanges {
    pub fn new(client: Client, keys: &Keys) -> Self {
        Self { client, key: keys.pools(), max_len: DEFAULT_MAX_LEN }
    }

    /// Keeps about `max_len` entries (at least 1) instead of [`DEFAULT_MAX_LEN`].
    #[must_use]
    pub fn with_max_len(mut self, max_len: u64) -> Self {
        self.max_len = max_len.max(1);
        self
    }

    /// Appends the entry of a transaction landed at `slot` that left `pools` in
    /// these states, trimming the stream to about its length bound; returns
    /// the entry's id.
    pub async fn append(&self, slot: u64, pools: &[Pool]) -> Result<String, StoreError> {
        let mut fields: Vec<(String, Value)> = Vec::with_capacity(pools.len() + 1);
        fields.push((SLOT.to_owned(), Value::from(slot.to_string())));
        for pool in pools {
            fields.push((pool.id.clone(), Value::Bytes(Bytes::from(encode_pool(pool)))));
        }
        let max_len = i64::try_from(self.max_len).unwrap_or(i64::MAX);
        let cap = XCap::try_from(("MAXLEN", "~", max_len, None))?;
        Ok(self.client.xadd(&self.key, false, cap, "*", fields).await?)
    }

    /// Up to `count` entries after the entry `id` (`"0-0"`: from the start),
    /// oldest first. With `block`, waits up to that long for one when there is
    /// none yet (an empty result means none came); without, answers at once.
    pub async fn read_after(
        &self,
        id: &str,
        count: u64,
        block: Option<Duration>,
    ) -> Result<Vec<PoolChange>, StoreError> {
        let block_ms = block.map(|b| u64::try_from(b.as_millis()).unwrap_or(u64::MAX).max(1));
        let reply: XReadResponse<String, String, String, Value> =
            self.client.xread_map(Some(count.max(1)), block_ms, &self.key, id).await?;
        reply.into_values().flatten().map(|(id, fields)| parse(id, fields)).collect()
    }

    /// The id of the newest entry (`"0-0"` while there is none): where a reader
    /// that is about to load the pools from PostgreSQL reads on from.
    pub async fn last_id(&self) -> Result<String, StoreError> {
        let newest: Vec<(String, std::collections::HashMap<String, Value>)> =
            self.client.xrevrange_values(&self.key, "+", "-", Some(1)).await?;
        Ok(newest.into_iter().next().map_or_else(|| "0-0".to_owned(), |(id, _)| id))
    }
}

/// An entry's fields as a [`PoolChange`].
fn parse(id: String, mut fields: std::collections::HashMap<String, Value>) -> Result<PoolChange, StoreError> {
    let slot = fields
        .remove(SLOT)
        .and_then(|v| v.as_str().and_then(|s| s.parse::<u64>().ok()))
        .ok_or_else(|| StoreError::corrupt(format!("pool change {id} has no slot")))?;
    let mut pools = fields
        .into_iter()
        .map(|(name, state)| {
            let bytes = state.as_bytes().ok_or_else(|| StoreError::corrupt(format!("pool change {id}: {name}")))?;
            let mut pool = decode_pool(bytes).map_err(|e| StoreError::corrupt(format!("pool change {id}: {e}")))?;
            pool.slot = slot;
            Ok(pool)
        })
        .collect::<Result<Vec<Pool>, StoreError>>()?;
    pools.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(PoolChange { id, slot, pools })
}
