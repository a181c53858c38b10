//! Accepting an order, shared by HTTP submit and the submit socket: count it
//! against its key's rate limit, shed it if the queue is too far behind, check that a venue lists the pair, store the
//! order with its `pending` event, queue it, and only then answer. A refused
//! request leaves nothing behind.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::{ChannelLabel, METRICS};
use crate::state::AppState;
use crate::ws::hub::Follower;
use chrono::Utc;
use oee_domain::request::DEFAULT_USER_ID;
use oee_domain::{ErrorCode, EventDetail, OrderStatus, StatusEvent, Submission, resolve_expiry};
use oee_store::{Decision, Inserted, Limit, NewOrder};
use std::time::Duration;
use uuid::Uuid;

/// Stores and queues a validated submission: the order's id and status,
/// whether it was created now (rather than found by idempotency key), and where
/// the key stands in its rate limit.
pub async fn accept(state: &AppState, caller: &Caller, submission: &Submission) -> Result<Acceptance, ApiError> {
    accept_with(state, caller, submission, false).await
}

/// A submission's place in its key's rate limit (the `RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// Orders per second.
    pub limit: u32,
    /// Orders that would pass right now.
    pub remaining: u64,
    /// Until the key is back to a full burst.
    pub reset: Duration,
}

/// What accepting did.
#[derive(Debug)]
pub struct Acceptance {
    pub id: Uuid,
    pub status: &'static str,
    /// Created now, rather than found by idempotency key.
    pub created: bool,
    /// The key's rate limit after this submission (none with `OEE_AUTH=off`).
    pub rate: Option<RateState>,
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
    let rate = count_against_limit(state, caller).await?;
    state.shedder.check()?;
    // A sniper waits for its pool; any other order needs one now.
    if spec.sniper.is_none() && !state.tradable(&spec.token_in.mint, &spec.token_out.mint) {
        return Err(ApiError::new(
            ErrorCode::NoRoute,
            format!("no venue lists {}/{}", spec.token_in.symbol, spec.token_out.symbol),
        ));
    }
    let id = Uuid::now_v7();
    let channel = submission.channel;
    let at = Utc::now();
    // A resting order's expiry, checked against the clock now (the default filled in).
    let expires_at = spec.rests().then(|| resolve_expiry(spec.expires_at(), at)).transpose()?;
    let new_order = NewOrder { id, account: caller.account.clone(), spec: spec.clone(), at, expires_at };
    let insert = async {
        match submission.idempotency_key.as_deref() {
            // Most orders: through a shared commit with whatever else is arriving.
            None => state.inserts.insert(new_order.clone()).await.map(|()| Inserted::Created),
            // A key must be checked against the account's earlier orders: on its own.
            Some(key) => state.orders.insert(&new_order, Some(key)).await,
        }
    };
    let (inserted, follower) = if follow {
        let (inserted, follower) = tokio::join!(insert, state.hub.follow(id));
        (inserted, Some(follower))
    } else {
        (insert.await, None)
    };
    let inserted = match inserted {
        Ok(inserted) => inserted,
        Err(e) => {
            // The insert may have committed after all (a standby did not
            // confirm it in time, or the connection broke at the commit).
            take_back(state, id).await;
            return Err(e.into());
        }
    };
    match inserted {
        Inserted::Created => {}
        Inserted::Existing { id, status, same_request: true } => {
            return Ok(Acceptance { id, status: status.as_str(), created: false, rate, follow: None });
        }
        Inserted::Existing { same_request: false, .. } => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was already used for a different order",
            ));
        }
    }
    // The job carries the order as stored: its worker need not read it back.
    if let Err(e) = state.bus.enqueue_new(&new_order).await {
        take_back(state, id).await;
        return Err(e.into());
    }
    tracing::debug!(order_id = %id, "order accepted");
    METRICS.accepted.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    // The text the insert stored as seq 1 (the same event, encoded the same way).
    let follow = follower.map(|f| (f, StatusEvent::new(id, 1, at, EventDetail::Pending).to_json()));
    Ok(Acceptance { id, status: OrderStatus::Pending.as_str(), created: true, rate, follow })
}

/// Counts a submission against its key's limit (its own, or the deployment's
/// `OEE_RATE_PER_SEC` and `OEE_RATE_BURST`), shared by every replica, through
/// this replica's lease of it ([`oee_store::Leases`]). Nothing is limited with
/// `OEE_AUTH=off`.
async fn count_against_limit(state: &AppState, caller: &Caller) -> Result<Option<RateState>, ApiError> {
    let Some(key_id) = caller.key_id else { return Ok(None) };
    let limit = Limit {
        per_sec: caller.rate.unwrap_or(state.rate_limit.per_sec),
        burst: caller.burst.unwrap_or(state.rate_limit.burst),
    };
    match state.submit_limits.check(&key_id.to_string(), limit).await? {
        Decision::Allowed { remaining, reset } => Ok(Some(RateState { limit: limit.per_sec, remaining, reset })),
        Decision::Limited { retry_after, .. } => {
            Err(ApiError::Limited { retry_after, limit: limit.per_sec, per: "orders for this key" })
        }
    }
}

/// Removes an order being refused, if it was stored and has not moved on,
/// so that a refused request leaves nothing behind. Best effort: an order
/// left behind (the store down) is found by the sweeper and executed, and a
/// client that resends with its Idempotency-Key gets it back.
async fn take_back(state: &AppState, id: Uuid) {
    match state.orders.remove_unqueued(id).await {
        Ok(_) => {}
        Err(e) => tracing::error!(order_id = %id, error = %e, "a refused order could not be removed"),
    }
}
