//! Status fan-out: each order's events published on its own sharded channel
//! (`SPUBLISH`), for whichever API replica holds a socket following it. In a
//! Redis Cluster a sharded publish reaches only the shard that owns the
//! channel's slot, not every node. At most once: followers catch up from the log.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::clients::Pipeline;
use fred::prelude::*;
use uuid::Uuid;

/// Publishes orders' status events.
#[derive(Debug, Clone)]
pub struct Fanout {
    client: Client,
    keys: Keys,
}

impl Fanout {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Publishes one status event on the order's channel.
    pub async fn publish(&self, order_id: Uuid, json: &str) -> Result<(), StoreError> {
        let _: i64 = self.client.spublish(self.keys.channel(order_id), json).await?;
        Ok(())
    }

    /// Adds one order's events, in order, to a pipeline.
    pub(super) async fn stage_publish<'a>(
        &self,
        pipeline: &Pipeline<Client>,
        order_id: Uuid,
        events: impl Iterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let channel = self.keys.channel(order_id);
        for json in events {
            let _: () = pipeline.spublish(channel.as_str(), json).await?;
        }
        Ok(())
    }
}
