//! The active set: every order from submit until it is terminal. An order that
//! is unfinished but absent from it has no job anywhere, which is how the
//! sweeper finds orders whose job was lost.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::clients::Pipeline;
use fred::prelude::*;
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

    /// Adds the order's removal to a pipeline.
    pub(super) async fn stage_remove(&self, pipeline: &Pipeline<Client>, order_id: &str) -> Result<(), StoreError> {
        let _: () = pipeline.srem(self.keys.active(), order_id).await?;
        Ok(())
    }

    /// Removes a finished order.
    pub async fn remove(&self, order_id: Uuid) -> Result<(), StoreError> {
        let _: i64 = self.client.srem(self.keys.active(), order_id.to_string()).await?;
        Ok(())
    }

    /// The ids of every order not yet terminal.
    pub async fn members(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.client.smembers(self.keys.active()).await?)
    }

    /// Of `ids`, those not in the set.
    pub async fn absent(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let members: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let flags: Vec<bool> = self.client.smismember(self.keys.active(), members).await?;
        Ok(ids.iter().zip(flags).filter(|(_, active)| !active).map(|(id, _)| *id).collect())
    }
}
