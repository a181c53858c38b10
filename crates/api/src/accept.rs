//! Accepting an order, shared by HTTP submit and the submit socket: shed it if
//! the queue is too far behind, check that a venue lists the pair, store the
//! order with its `pending` event, queue it, and only then answer. A refused
//! request leaves nothing behind.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::{ChannelLabel, METRICS};
use crate::state::AppState;
use crate::ws::hub::Follower;
use chrono::Utc;
use oee_domain::request::DEFAULT_USER_ID;
use oee_domain::{ErrorCode, EventDetail, OrderStatus, StatusEvent, Submission};
use oee_store::{Inserted, NewOrder};
use uuid::Uuid;

/// Stores and queues a validated submission. Returns the order id, its status,
/// and whether it was created now (rather than found by idempotency key).
pub async fn accept(
    state: &AppState,
    caller: &Caller,
    submission: &Submission,
) -> Result<(Uuid, &'static str, bool), ApiError> {
    let done = accept_with(state, caller, submission, false).await?;
    Ok((done.id, done.status, done.created))
}

/// What [`accept_following`] did.
#[derive(Debug)]
pub struct Acceptance {
    pub id: Uuid,
    pub status: &'static str,
    /// Created now, rather than found by idempotency key.
    pub created: bool,
    /// For an order created now: its channel, joined before the order was
    /// queued, and its `pending` event as stored.
    pub follow: Option<(Follower, String)>,
}

/// As [`accept`], and for a new order also joins its channel *before* queueing
/// it (alongside the insert), so that its events can be followed without
/// reading the log: see [`crate::ws::pump::pump_new`].
pub async fn accept_following(
    state: &AppState,
    caller: &Caller,
    submission: &Submission,
) -> Result<Acceptance, ApiError> {
    accept_with(state, caller, submission, true).await
}

async fn accept_with(
    state: &AppState,
    caller: &Caller,
    submission: &Submission,
    follow: bool,
) -> Result<Acceptance, ApiError> {
    let mut spec = submission.spec.clone();
    // `userId` is a label within the account; without one, the account's name.
    if spec.user_id == DEFAULT_USER_ID {
        spec.user_id.clone_from(&caller.account);
    }
    let spec = &spec;
    state.shedder.check()?;
    if !state.listing.has(&spec.token_in.mint, &spec.token_out.mint) {
        return Err(ApiError::new(
            ErrorCode::NoRoute,
            format!("no venue lists {}/{}", spec.token_in.symbol, spec.token_out.symbol),
        ));
    }
    let id = Uuid::now_v7();
    let channel = submission.channel;
    let at = Utc::now();
    let new_order = || NewOrder { id, account: caller.account.clone(), spec: spec.clone(), at };
    let insert = async {
        match submission.idempotency_key.as_deref() {
            // Most orders: through a shared commit with whatever else is arriving.
            None => state.inserts.insert(new_order()).await.map(|()| Inserted::Created),
            // A key must be checked against the account's earlier orders: on its own.
            Some(key) => state.orders.insert(&new_order(), Some(key)).await,
        }
    };
    let (inserted, follower) = if follow {
        let (inserted, follower) = tokio::join!(insert, state.hub.follow(id));
        (inserted?, Some(follower))
    } else {
        (insert.await?, None)
    };
    match inserted {
        Inserted::Created => {}
        Inserted::Existing { id, status, same_request: true } => {
            return Ok(Acceptance { id, status: status.as_str(), created: false, follow: None });
        }
        Inserted::Existing { same_request: false, .. } => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was already used for a different order",
            ));
        }
    }
    if let Err(e) = state.bus.enqueue(id).await {
        // Not queued: take the order back so a refused request leaves nothing behind.
        match state.orders.remove_unqueued(id).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(order_id = %id, "order could not be queued nor removed: it moved on")
            }
            Err(remove) => {
                tracing::error!(order_id = %id, error = %remove, "order could not be queued nor removed")
            }
        }
        return Err(e.into());
    }
    tracing::debug!(order_id = %id, "order accepted");
    METRICS.accepted.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    // The text the insert stored as seq 1 (the same event, encoded the same way).
    let follow = follower.map(|f| (f, StatusEvent::new(id, 1, at, EventDetail::Pending).to_json()));
    Ok(Acceptance { id, status: OrderStatus::Pending.as_str(), created: true, follow })
}
