//! What the router needs from a chain, as a client reaches it.
//!
//! [`Network`] is the seam between route choice and the chain: read a pool's
//! current state (to quote against), send a built transaction, ask whether a
//! transaction landed, and the chain's clock. The engine runs on the simulated
//! chain ([`crate::rpc::SimulatedNetwork`]); a real Solana adapter plugs in
//! here — pool accounts from an RPC subscription, `sendTransaction`,
//! `getSignatureStatuses` — and the router, the venues and the worker stay as
//! they are.

use crate::chain::{Receipt, Transaction};
use crate::pool::Pool;
use crate::venue::VenueError;
use async_trait::async_trait;
use std::fmt;

/// A chain as a client reaches it.
#[async_trait]
pub trait Network: Send + Sync + fmt::Debug + 'static {
    /// A pool's current state, or `None` if no such pool exists.
    async fn pool(&self, id: &str) -> Result<Option<Pool>, VenueError>;

    /// A pool's state as of `slot` or later: what a triggered order must be
    /// routed on (the state that fired it, or a newer one), where a client
    /// keeps pool states it read a while ago. By default, [`Network::pool`].
    async fn pool_since(&self, id: &str, slot: u64) -> Result<Option<Pool>, VenueError> {
        let _ = slot;
        self.pool(id).await
    }

    /// Sends a transaction and waits until it lands or fails. A transient error
    /// does not mean it did not land: ask [`Network::landed`] before sending
    /// another attempt.
    async fn send(&self, tx: &Transaction) -> Result<Receipt, VenueError>;

    /// The receipt of `tx_id`, if it landed.
    async fn landed(&self, tx_id: &str) -> Result<Option<Receipt>, VenueError>;

    /// The chain's time, in unix seconds.
    fn now(&self) -> i64;

    /// How long, in seconds, a transaction built now can still land.
    fn validity_secs(&self) -> i64;
}
