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
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
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
}

/// Follows `order` from `from_seq`, queueing its events on `out` until the
/// terminal one (then `Frame::Finished`), or until the socket is gone.
/// `final_seq` is the order's last seq if it was already terminal.
pub async fn pump(state: Arc<AppState>, order: Uuid, from_seq: u32, final_seq: Option<u32>, out: mpsc::Sender<Frame>) {
    let mut follower = state.hub.follow(order).await;
    let mut last_seq = from_seq;
    let mut catch_up = tokio::time::interval(if follower.live { CATCH_UP_LIVE } else { CATCH_UP_POLLING });
    catch_up.tick().await;
    // Replay first; a terminal order whose log the client already has is done.
    if let Step::Done = replay(&state, order, &mut last_seq, &out).await {
        return;
    }
    if final_seq.is_some_and(|last| last_seq >= last) {
        let _ = out.send(Frame::Finished(order)).await;
        return;
    }
    loop {
        let step = tokio::select! {
            delivery = follower.events.recv() => match delivery {
                None => return,
                Some(d) if d.seq <= last_seq => Step::Continue,
                Some(d) if d.seq == last_seq + 1 && !follower.resync.take() => {
                    catch_up.reset();
                    forward(order, &mut last_seq, d.json.to_string(), &out).await
                }
                // A gap, or the hub says something may be missing: the log decides.
                Some(_) => replay(&state, order, &mut last_seq, &out).await,
            },
            () = follower.resync.raised() => {
                follower.resync.take();
                replay(&state, order, &mut last_seq, &out).await
            }
            _ = catch_up.tick() => replay(&state, order, &mut last_seq, &out).await,
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
    let events = match state.orders.events_after(order, *last_seq).await {
        Ok(events) => events,
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

/// What a writer does with a text message from the client.
pub trait Inbound {
    /// The socket's kind, for metrics.
    const KIND: &'static str;
    /// Handles one message; `Some(end)` closes the socket.
    fn text(&mut self, text: &str) -> impl std::future::Future<Output = Option<End>>;
    /// Whether the socket is done once `order` finished (follow sockets are).
    fn finished(&mut self, order: Uuid) -> Option<End>;
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
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(Frame::Text(text)) => match tokio::time::timeout(state.send_timeout, session.text(text)).await {
                    Ok(Ok(())) => {
                        METRICS.events_sent.inc();
                    }
                    Ok(Err(_)) => return None,
                    Err(_) => {
                        METRICS.slow_closes.inc();
                        return close(CloseCode::Again, "client is not reading its events");
                    }
                },
                Some(Frame::Finished(order)) => {
                    if let Some(end) = inbound.finished(order) {
                        return end;
                    }
                }
                None => return close(CloseCode::Away, "server shutting down"),
            },
            message = messages.recv() => match message {
                Some(Ok(Message::Ping(bytes))) => {
                    heard = Instant::now();
                    if session.pong(&bytes).await.is_err() { return None; }
                }
                Some(Ok(Message::Text(text))) => {
                    heard = Instant::now();
                    if let Some(end) = inbound.text(&text).await { return end; }
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
