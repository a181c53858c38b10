//! The active set: every order from submit until it is terminal. An order that
//! is unfinished but absent from it has no job anywhere, which is how the
//! sweeper finds orders whose job was lost. One set per partition of the job
//! stream, beside it (see [`Keys`]).

use crate::error::StoreError;
use crate::keys::Keys;
use fred::clients::Pipeline;
use fred::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The set of orders not yet terminal.
#[derive(Debug, Clone)]
pub struct ActiveSet {
    client: Client,
    keys: Keys,
}

impl ActiveSet {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Adds the order's removal from partition `p`'s set to a pipeline.
    pub(super) async fn stage_remove(
        &self,
        pipeline: &Pipeline<Client>,
        p: u16,
        order_id: Uuid,
    ) -> Result<(), StoreError> {
        let _: () = pipeline.srem(self.keys.active(p), order_id.to_string()).await?;
        Ok(())
    }

    /// Removes a finished order from partition `p`'s set (where its job was).
    pub async fn remove(&self, p: u16, order_id: Uuid) -> Result<(), StoreError> {
        let _: i64 = self.client.srem(self.keys.active(p), order_id.to_string()).await?;
        Ok(())
    }

    /// The ids of every order not yet terminal, over every partition.
    pub async fn members(&self) -> Result<Vec<String>, StoreError> {
        let mut members = Vec::new();
        for p in self.keys.all_partitions() {
            members.extend(self.client.smembers::<Vec<String>, _>(self.keys.active(p)).await?);
        }
        Ok(members)
    }

    /// Of `ids`, those not in their partition's set, in one round trip.
    pub async fn absent(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        let mut by_partition: BTreeMap<u16, Vec<Uuid>> = BTreeMap::new();
        for id in ids {
            by_partition.entry(self.keys.partition_of(*id)).or_default().push(*id);
        }
        if by_partition.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = self.client.pipeline();
        for (p, ids) in &by_partition {
            let members: Vec<String> = ids.iter().map(Uuid::to_string).collect();
            let _: () = pipeline.smismember(self.keys.active(*p), members).await?;
        }
        let flags: Vec<Vec<bool>> = pipeline.all().await?;
        Ok(by_partition
            .into_values()
            .zip(flags)
            .flat_map(|(ids, flags)| ids.into_iter().zip(flags).filter(|(_, active)| !active).map(|(id, _)| id))
            .collect())
    }
}
