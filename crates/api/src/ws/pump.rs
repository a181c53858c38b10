//! Moving one order's events to a socket, and a socket's frames to the client.
//!
//! A **pump** follows one order: it joins the order's channel (confirmed by
//! Redis), *then* replays the log from Postgres after `fromSeq`, *then* forwards
//! live events, dropping any `seq` already sent. A live event that skips a `seq`
//! (a message pub/sub lost), a hub resync, or a quiet spell makes it re-read the
//! log instead, so nothing is missed. It ends after the terminal event.
//!
//! A **writer** owns one socket: it sends the frames its pumps produce, answers
//! pings, pings the client and drops it when silent, and closes it with 1013
//! when the client stops reading — the pumps' queue is bounded, so a slow
//! client costs a bounded amount of memory and never slows anyone else.

use crate::metrics::{METRICS, OpenSocket};
use crate::state::AppState;
use crate::ws::hub::Follower;
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesOrdered;
use oee_domain::EventHead;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Ping interval, and how long a silent client is kept.
pub const PING_EVERY: Duration = Duration::from_secs(20);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// With no live event for this long, re-read the log: this delivers an event
/// whose publish was lost. Much sooner when the subscription itself failed.
const CATCH_UP_LIVE: Duration = Duration::from_secs(10);
const CATCH_UP_POLLING: Duration = Duration::from_secs(1);
/// Frames queued for one socket before its pumps wait.
pub const SOCKET_QUEUE: usize = 256;

/// What pumps hand to a socket's writer.
#[derive(Debug)]
pub enum Frame {
    /// A text message: an event, or a reply to the client.
    Text(String),
    /// The order's terminal event has been queued.
    Finished(Uuid),
    /// The order is not in the database any more: a promoted standby lacked
    /// it (asynchronous replication without `OEE_PG_STANDBY_ACKS`).
    Gone(Uuid),
}

/// Follows `order` from `from_seq`, queueing its events on `out` until the
/// terminal one (then `Frame::Finished`), or until the socket is gone.
/// `final_seq` is the order's last seq if it was already terminal.
pub async fn pump(state: Arc<AppState>, order: Uuid, from_seq: u32, final_seq: Option<u32>, out: mpsc::Sender<Frame>) {
    let follower = state.hub.follow(order).await;
    follow_from(state, follower, order, from_seq, final_seq, out).await;
}

/// Follows an order this process has just stored and *not yet queued*, whose
/// channel `follower` joined before the order was queued: no event but `pending`
/// (`first`, seq 1) can have been published before the subscription, so the log
/// need not be read — unless the subscription failed, or an event goes missing.
pub async fn pump_new(state: Arc<AppState>, follower: Follower, order: Uuid, first: String, out: mpsc::Sender<Frame>) {
    if !follower.live {
        return follow_from(state, follower, order, 0, None, out).await;
    }
    let mut last_seq = 0;
    if let Step::Done = forward(order, &mut last_seq, first, &out).await {
        return;
    }
    live(&state, follower, order, last_seq, &out).await;
}

async fn follow_from(
    state: Arc<AppState>,
    follower: Follower,
    order: Uuid,
    from_seq: u32,
    final_seq: Option<u32>,
    out: mpsc::Sender<Frame>,
) {
    let mut last_seq = from_seq;
    // Replay first; a terminal order whose log the client already has is done.
    if let Step::Done = replay(&state, order, &mut last_seq, &out).await {
        return;
    }
    if final_seq.is_some_and(|last| last_seq >= last) {
        let _ = out.send(Frame::Finished(order)).await;
        return;
    }
    live(&state, follower, order, last_seq, &out).await;
}

/// Forwards live events after `last_seq` until the terminal one, re-reading the
/// log on a gap, a hub resync or a quiet spell.
async fn live(state: &AppState, mut follower: Follower, order: Uuid, mut last_seq: u32, out: &mpsc::Sender<Frame>) {
    let mut catch_up = tokio::time::interval(if follower.live { CATCH_UP_LIVE } else { CATCH_UP_POLLING });
    catch_up.tick().await;
    loop {
        let step = tokio::select! {
            delivery = follower.events.recv() => match delivery {
                None => return,
                Some(d) if d.seq <= last_seq => Step::Continue,
                Some(d) if d.seq == last_seq + 1 && !follower.resync.take() => {
                    catch_up.reset();
                    forward(order, &mut last_seq, d.json.to_string(), out).await
                }
                // A gap, or the hub says something may be missing: the log decides.
                Some(_) => replay(state, order, &mut last_seq, out).await,
            },
            () = follower.resync.raised() => {
                follower.resync.take();
                replay(state, order, &mut last_seq, out).await
            }
            _ = catch_up.tick() => replay(state, order, &mut last_seq, out).await,
            () = out.closed() => return,
        };
        if let Step::Done = step {
            return;
        }
    }
}

enum Step {
    Continue,
    Done,
}

/// Queues every logged event after `last_seq`.
async fn replay(state: &AppState, order: Uuid, last_seq: &mut u32, out: &mpsc::Sender<Frame>) -> Step {
    let events = match state.orders.log_after(order, *last_seq).await {
        Ok(Some(events)) => events,
        Ok(None) => {
            tracing::warn!(order_id = %order, "a followed order is not in the database any more");
            let _ = out.send(Frame::Gone(order)).await;
            return Step::Done;
        }
        Err(e) => {
            // The next catch-up tries again; live events keep flowing meanwhile.
            tracing::warn!(order_id = %order, error = %e, "could not read the event log");
            return Step::Continue;
        }
    };
    for json in events {
        if let Step::Done = forward(order, last_seq, json, out).await {
            return Step::Done;
        }
    }
    Step::Continue
}

/// Queues one event; after the terminal one, also `Finished`.
async fn forward(order: Uuid, last_seq: &mut u32, json: String, out: &mpsc::Sender<Frame>) -> Step {
    let Some(head) = EventHead::parse(&json) else {
        tracing::error!(order_id = %order, "an event is not valid JSON");
        return Step::Continue;
    };
    if out.send(Frame::Text(json)).await.is_err() {
        return Step::Done;
    }
    *last_seq = head.seq;
    if head.status.is_terminal() {
        let _ = out.send(Frame::Finished(order)).await;
        return Step::Done;
    }
    Step::Continue
}

/// Why a socket ends; `None` when the peer is already gone.
pub type End = Option<CloseReason>;

pub fn close(code: CloseCode, description: &str) -> End {
    Some(CloseReason { code, description: Some(description.to_owned()) })
}

/// Client messages a socket works on at once; beyond this, the writer stops
/// reading the socket until one is answered (TCP pushes back on the client).
pub const MESSAGES_IN_FLIGHT: usize = 256;

/// What a writer does with text messages from the client.
///
/// A message starts a piece of work that runs while the writer goes on sending
/// frames and reading further messages; works finish in any order, but their
/// replies are sent in message order, each straight onto the socket (never
/// behind queued events), and only then is [`Inbound::replied`] called.
pub trait Inbound {
    /// The socket's kind, for metrics.
    const KIND: &'static str;
    /// What a message's work ends with.
    type Done: 'static;
    /// Starts handling one message; `None` when there is nothing to do.
    fn text(&mut self, text: &str) -> Option<LocalBoxFuture<'static, Self::Done>>;
    /// The reply to send for a finished work.
    fn reply(done: &mut Self::Done) -> String;
    /// Runs once the reply is on the socket; `Some(end)` closes the socket.
    fn replied(&mut self, done: Self::Done) -> Option<End>;
    /// Whether the socket is done once `order` finished (follow sockets are).
    fn finished(&mut self, order: Uuid) -> Option<End>;
    /// The order being followed is not in the database any more: how the
    /// socket ends, if it does.
    fn gone(&mut self, order: Uuid) -> Option<End>;
}

/// Runs a socket: frames out, client messages in, heartbeats, until it ends. A
/// socket beyond `OEE_MAX_SOCKETS` is closed at once with 1013.
pub async fn write<I: Inbound>(
    state: &AppState,
    session: &mut Session,
    mut messages: MessageStream,
    mut frames: mpsc::Receiver<Frame>,
    inbound: &mut I,
) -> End {
    let Ok(_open) = state.sockets.clone().try_acquire_owned() else {
        return close(CloseCode::Again, "this replica holds its maximum of sockets; try another");
    };
    let _counted = OpenSocket::new(I::KIND);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = Instant::now();
    let mut works: FuturesOrdered<LocalBoxFuture<'static, I::Done>> = FuturesOrdered::new();
    loop {
        tokio::select! {
            Some(mut done) = works.next(), if !works.is_empty() => {
                if let Err(end) = send(state, session, I::reply(&mut done)).await {
                    return end;
                }
                if let Some(end) = inbound.replied(done) {
                    return end;
                }
            }
            frame = frames.recv() => match frame {
                Some(Frame::Text(text)) => {
                    if let Err(end) = send(state, session, text).await {
                        return end;
                    }
                    METRICS.events_sent.inc();
                }
                Some(Frame::Finished(order)) => {
                    if let Some(end) = inbound.finished(order) {
                        return end;
                    }
                }
                Some(Frame::Gone(order)) => {
                    if let Some(end) = inbound.gone(order) {
                        return end;
                    }
                }
                None => return close(CloseCode::Away, "server shutting down"),
            },
            message = messages.recv(), if works.len() < MESSAGES_IN_FLIGHT => match message {
                Some(Ok(Message::Ping(bytes))) => {
                    heard = Instant::now();
                    if session.pong(&bytes).await.is_err() { return None; }
                }
                Some(Ok(Message::Text(text))) => {
                    heard = Instant::now();
                    if let Some(work) = inbound.text(&text) { works.push_back(work); }
                }
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Ok(_)) => heard = Instant::now(),
                Some(Err(e)) => return close(CloseCode::Protocol, &e.to_string()),
            },
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    return close(CloseCode::Policy, "no answer to pings");
                }
                if session.ping(b"").await.is_err() { return None; }
            }
            () = state.stopping.cancelled() => return close(CloseCode::Away, "server shutting down"),
        }
    }
}

/// Sends one text frame, bounded by the send timeout: a client that does not
/// read is closed with 1013; `Err(None)` when the peer is gone.
async fn send(state: &AppState, session: &mut Session, text: String) -> Result<(), End> {
    match tokio::time::timeout(state.send_timeout, session.text(text)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(None),
        Err(_) => {
            METRICS.slow_closes.inc();
            Err(close(CloseCode::Again, "client is not reading its events"))
        }
    }
}
