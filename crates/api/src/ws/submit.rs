//! `GET /api/orders/execute` with `Upgrade: websocket`: submit and follow on one
//! connection.
//!
//! Each text message is an order body, as for POST, optionally with
//! `idempotencyKey` and `clientRef`. The server answers `accepted` (with the
//! order id) or `rejected` (with the error), echoing `clientRef`, then streams
//! every status event of every accepted order, each one a pump feeding this
//! socket's bounded queue. Messages are worked on concurrently (up to
//! [`crate::ws::pump::MESSAGES_IN_FLIGHT`]), replies go out in message order, and
//! an order's pump starts only once its reply is on the socket, so the reply
//! always comes before the order's first event. A new order's channel is joined
//! before the order is queued, so its pump needs no read of the log. The
//! connection stays open until the client closes it.

use crate::accept::accept_following;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::{CodeLabel, METRICS};
use crate::state::AppState;
use crate::ws::hub::Follower;
use crate::ws::pump::{End, Frame, Inbound, SOCKET_QUEUE, pump, pump_new, write};
use actix_web::{HttpRequest, HttpResponse, web};
use futures::future::LocalBoxFuture;
use oee_domain::{Channel, ErrorCode, RawOrder, Rejection, Scope};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Largest message accepted: the same bound as a POST body.
const MAX_MESSAGE: usize = crate::body::MAX_BODY;

/// Upgrades the submit path for a key with the `trade` scope.
pub async fn submit_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = Arc::new(state.auth.require_socket(&req, Scope::Trade).await?);
    let (response, mut session, messages) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, format!("not a WebSocket upgrade: {e}")))?;
    let state = state.into_inner();
    let (out, frames) = mpsc::channel(SOCKET_QUEUE);
    actix_web::rt::spawn(async move {
        let mut inbound = Submissions { state: state.clone(), caller, out, following: HashSet::new() };
        let reason = write(&state, &mut session, messages.max_frame_size(MAX_MESSAGE), frames, &mut inbound).await;
        tracing::debug!(?reason, "submit socket closing");
        let _ = session.close(reason).await;
    });
    Ok(response)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reply<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Rejection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ref: Option<&'a RawValue>,
    /// With `RATE_LIMITED`: how long to wait before sending the order again.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

struct Submissions {
    state: Arc<AppState>,
    /// Whose key opened the socket: every order on it is theirs.
    caller: Arc<Caller>,
    out: mpsc::Sender<Frame>,
    /// Orders this socket already streams (an idempotent repeat is not streamed twice).
    following: HashSet<Uuid>,
}

/// How one message ended: the reply, and the order to stream once it is sent.
struct Submitted {
    reply: String,
    stream: Option<Stream>,
}

enum Stream {
    /// Created now, its channel joined before it was queued.
    New { id: Uuid, follower: Follower, first: String },
    /// An existing order (an idempotent repeat): followed from its log.
    Existing(Uuid),
}

/// Validates, stores and queues one message's order, joining its channel.
async fn submit(state: Arc<AppState>, caller: Arc<Caller>, text: String) -> Submitted {
    let started = std::time::Instant::now();
    let raw = match RawOrder::parse(text.as_bytes()) {
        Ok(raw) => raw,
        Err(rejection) => return rejected(&rejection, None),
    };
    let client_ref = raw.client_ref();
    let submission = match raw.validate(&state.tokens(), Channel::WebSocket) {
        Ok(submission) => submission,
        Err(r) => return rejected(&r, client_ref),
    };
    match accept_following(&state, &caller, &submission).await {
        Ok(done) => {
            METRICS.accept_latency.observe(started.elapsed().as_secs_f64());
            let reply =
                Reply { kind: "accepted", order_id: Some(done.id), error: None, client_ref, retry_after_ms: None }
                    .to_json();
            let stream = match done.follow {
                Some((follower, first)) => Stream::New { id: done.id, follower, first },
                None => Stream::Existing(done.id),
            };
            Submitted { reply, stream: Some(stream) }
        }
        Err(e) => {
            e.count_rejected_submission();
            let retry_after_ms = e.retry_after().map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1));
            let reply = Reply {
                kind: "rejected",
                order_id: None,
                error: Some(&e.into_rejection()),
                client_ref,
                retry_after_ms,
            };
            Submitted { reply: reply.to_json(), stream: None }
        }
    }
}

fn rejected(rejection: &Rejection, client_ref: Option<&RawValue>) -> Submitted {
    METRICS.rejected.get_or_create(&CodeLabel { code: rejection.code.as_str() }).inc();
    Submitted { reply: rejection_reply(rejection, client_ref), stream: None }
}

fn rejection_reply(rejection: &Rejection, client_ref: Option<&RawValue>) -> String {
    Reply { kind: "rejected", order_id: None, error: Some(rejection), client_ref, retry_after_ms: None }.to_json()
}

impl Inbound for Submissions {
    const KIND: &'static str = "submit";
    type Done = Submitted;

    /// The submission runs as a task of its own: should the client go away
    /// meanwhile, an order it sent is still stored *and queued* (or not stored at
    /// all), never left half-way for the sweeper.
    fn text(&mut self, text: &str) -> Option<LocalBoxFuture<'static, Submitted>> {
        let work = actix_web::rt::spawn(submit(self.state.clone(), self.caller.clone(), text.to_owned()));
        Some(Box::pin(async move {
            work.await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "a submission task failed");
                let rejection =
                    Rejection::new(ErrorCode::Internal, "the submission failed; it may not have been stored");
                Submitted { reply: rejection_reply(&rejection, None), stream: None }
            })
        }))
    }

    fn reply(done: &mut Submitted) -> String {
        std::mem::take(&mut done.reply)
    }

    /// The reply is on the socket: the order's events may follow it.
    fn replied(&mut self, done: Submitted) -> Option<End> {
        let state = self.state.clone();
        match done.stream {
            Some(Stream::New { id, follower, first }) if self.following.insert(id) => {
                actix_web::rt::spawn(pump_new(state, follower, id, first, self.out.clone()));
            }
            Some(Stream::Existing(id)) if self.following.insert(id) => {
                actix_web::rt::spawn(pump(state, id, 0, None, self.out.clone()));
            }
            _ => {}
        }
        None
    }

    fn finished(&mut self, _order: Uuid) -> Option<End> {
        // The connection stays open for more orders until the client closes it.
        None
    }

    fn gone(&mut self, _order: Uuid) -> Option<End> {
        // Its events stop; the socket goes on with the client's other orders.
        None
    }
}

impl Reply<'_> {
    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a reply always serializes")
    }
}
