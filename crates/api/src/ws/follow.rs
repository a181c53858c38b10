//! `GET /api/orders/{id}/ws?fromSeq=N`: follow one order.
//!
//! Race-free by construction: join the order's channel (confirmed by Redis),
//! *then* replay the log from Postgres after `fromSeq`, *then* forward live
//! events, dropping any `seq` already sent. A live event that skips a `seq`
//! (a message pub/sub lost) makes the socket re-read the log instead, and so
//! does a quiet spell, so an event lost in pub/sub is delivered anyway. After
//! the terminal event the socket closes with 1000.

use crate::error::ApiError;
use crate::routes::orders::order_id;
use crate::state::AppState;
use crate::ws::hub::Follower;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use oee_domain::{ErrorCode, EventHead};
use serde::Deserialize;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Ping interval, and how long a silent client is kept.
pub const PING_EVERY: Duration = Duration::from_secs(20);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// With no live event for this long, re-read the log: this delivers an event
/// whose publish was lost. Much sooner when the subscription itself failed.
const CATCH_UP_LIVE: Duration = Duration::from_secs(10);
const CATCH_UP_POLLING: Duration = Duration::from_secs(1);
/// A send that cannot complete in this long means the client is not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest frame accepted from a follower (it has nothing to say but control frames).
const MAX_FRAME: usize = 4 * 1024;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowQuery {
    from_seq: Option<String>,
}

/// Upgrades after checking the order exists (404 before upgrading otherwise).
pub async fn follow(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<FollowQuery>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = order_id(&path)?;
    let from_seq = match query.from_seq.as_deref() {
        None => 0,
        Some(text) => text.parse::<u32>().map_err(|_| {
            ApiError::field(ErrorCode::InvalidParameter, "fromSeq", "fromSeq must be a non-negative integer")
        })?,
    };
    let order =
        state.orders.get(id).await?.ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound, format!("no order {id}")))?;
    if from_seq > order.last_seq {
        return Err(ApiError::field(
            ErrorCode::InvalidParameter,
            "fromSeq",
            format!("fromSeq {from_seq} is beyond the order's latest event ({})", order.last_seq),
        ));
    }
    // A terminal order's log is complete: once the client has it all, we are done.
    let final_seq = order.status.is_terminal().then_some(order.last_seq);
    let (response, session, messages) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::field(ErrorCode::InvalidParameter, "upgrade", format!("not a WebSocket upgrade: {e}"))
    })?;
    let state = state.into_inner();
    // The message stream is not Send: it runs on this worker thread's local set.
    actix_web::rt::spawn(async move {
        let follower = state.hub.follow(id).await;
        let mut socket = Stream { session, last_seq: from_seq, order: id };
        let reason = socket.run(&state, follower, messages.max_frame_size(MAX_FRAME), final_seq).await;
        tracing::debug!(order_id = %id, ?reason, "follow socket closing");
        let _ = socket.session.close(reason).await;
    });
    Ok(response)
}

struct Stream {
    session: Session,
    last_seq: u32,
    order: Uuid,
}

/// Why a stream ends; `None` when the peer is already gone.
type End = Option<CloseReason>;

fn close(code: CloseCode, description: &str) -> End {
    Some(CloseReason { code, description: Some(description.to_owned()) })
}

impl Stream {
    async fn run(
        &mut self,
        state: &AppState,
        mut follower: Follower,
        mut messages: MessageStream,
        final_seq: Option<u32>,
    ) -> End {
        if let Some(end) = self.catch_up(state).await {
            return end;
        }
        if final_seq.is_some_and(|last| self.last_seq >= last) {
            return close(CloseCode::Normal, "order finished");
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut catch_up = tokio::time::interval(if follower.live { CATCH_UP_LIVE } else { CATCH_UP_POLLING });
        catch_up.tick().await;
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                () = state.stopping.cancelled() => return close(CloseCode::Away, "server shutting down"),
                delivery = follower.events.recv() => {
                    let Some(d) = delivery else { return close(CloseCode::Away, "server shutting down") };
                    if d.seq <= self.last_seq {
                        continue;
                    }
                    let end = if d.seq == self.last_seq + 1 && !follower.resync.take() {
                        self.send(&d.json).await
                    } else {
                        // A gap, or the hub says we may have missed something: the log decides.
                        self.catch_up(state).await
                    };
                    if let Some(end) = end { return end; }
                    catch_up.reset();
                }
                () = follower.resync.raised() => {
                    follower.resync.take();
                    if let Some(end) = self.catch_up(state).await { return end; }
                }
                _ = catch_up.tick() => {
                    if let Some(end) = self.catch_up(state).await { return end; }
                }
                message = messages.recv() => match message {
                    Some(Ok(Message::Ping(bytes))) => {
                        heard = Instant::now();
                        if self.session.pong(&bytes).await.is_err() { return None; }
                    }
                    Some(Ok(Message::Close(_))) | None => return None,
                    Some(Ok(_)) => heard = Instant::now(),
                    Some(Err(e)) => return close(CloseCode::Protocol, &e.to_string()),
                },
                _ = ping.tick() => {
                    if heard.elapsed() > SILENCE_LIMIT {
                        return close(CloseCode::Policy, "no answer to pings");
                    }
                    if self.session.ping(b"").await.is_err() { return None; }
                }
            }
        }
    }

    /// Sends every logged event after `last_seq`. `Some(end)` when the stream is over.
    async fn catch_up(&mut self, state: &AppState) -> Option<End> {
        let events = match state.orders.events_after(self.order, self.last_seq).await {
            Ok(events) => events,
            Err(e) => {
                // The next catch-up tries again; live events keep flowing meanwhile.
                tracing::warn!(order_id = %self.order, error = %e, "could not read the event log");
                return None;
            }
        };
        for json in events {
            if let Some(end) = self.send(&json).await {
                return Some(end);
            }
        }
        None
    }

    /// Sends one event. `Some(end)` when the stream is over (terminal event sent,
    /// or the client gone or too slow).
    async fn send(&mut self, json: &str) -> Option<End> {
        let Some(head) = EventHead::parse(json) else {
            tracing::error!(order_id = %self.order, "stored event is not valid JSON");
            return None;
        };
        match tokio::time::timeout(SEND_TIMEOUT, self.session.text(json.to_owned())).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Some(None),
            Err(_) => return Some(close(CloseCode::Again, "client is not reading its events")),
        }
        self.last_seq = head.seq;
        head.status.is_terminal().then(|| close(CloseCode::Normal, "order finished"))
    }
}
