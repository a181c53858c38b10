//! WebSocket tickets: a browser cannot set headers on a WebSocket, so it trades
//! its key for a ticket over HTTP and passes `?ticket=` instead. A ticket is
//! random, lives [`TICKET_TTL`] in Redis, and is taken (`GETDEL`) by the first
//! upgrade that presents it: single use, on any replica.

use crate::error::StoreError;
use crate::keys::Keys;
use fred::prelude::*;
use fred::types::Expiration;
use std::time::Duration;

/// How long an unused ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Issued, not yet used tickets.
#[derive(Debug, Clone)]
pub struct Tickets {
    client: Client,
    keys: Keys,
}

impl Tickets {
    pub fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }

    /// Stores `ticket` (random, made by the caller) with what it grants.
    pub async fn issue(&self, ticket: &str, grant: &str) -> Result<(), StoreError> {
        let ttl = i64::try_from(TICKET_TTL.as_secs()).unwrap_or(i64::MAX);
        let _: () = self.client.set(self.keys.ticket(ticket), grant, Some(Expiration::EX(ttl)), None, false).await?;
        Ok(())
    }

    /// Takes the ticket: what it grants, if it exists and was not used; it can
    /// never be taken again.
    pub async fn redeem(&self, ticket: &str) -> Result<Option<String>, StoreError> {
        Ok(self.client.getdel(self.keys.ticket(ticket)).await?)
    }
}
