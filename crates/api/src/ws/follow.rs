//! `GET /api/orders/{id}/ws?fromSeq=N`: follow one order — one pump (see
//! [`crate::ws::pump`]) and a writer; after the terminal event the socket closes
//! with 1000.

use crate::error::ApiError;
use crate::routes::orders::order_id;
use crate::state::AppState;
use crate::ws::pump::{End, Inbound, SOCKET_QUEUE, close, pump, write};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::CloseCode;
use oee_domain::{ErrorCode, Scope};
use serde::Deserialize;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Largest frame accepted from a follower (it has nothing to say but control frames).
const MAX_FRAME: usize = 4 * 1024;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowQuery {
    from_seq: Option<String>,
}

/// Upgrades after checking the key and that the order exists (401 or 404
/// before upgrading otherwise).
pub async fn follow(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<FollowQuery>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require_socket(&req, Scope::Read).await?;
    let id = order_id(&path)?;
    let from_seq = match query.from_seq.as_deref() {
        None => 0,
        Some(text) => text.parse::<u32>().map_err(|_| {
            ApiError::field(ErrorCode::InvalidParameter, "fromSeq", "fromSeq must be a non-negative integer")
        })?,
    };
    let order = (state.orders.get(id).await?)
        .filter(|o| o.account == caller.account)
        .ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound, format!("no order {id}")))?;
    if from_seq > order.last_seq {
        return Err(ApiError::field(
            ErrorCode::InvalidParameter,
            "fromSeq",
            format!("fromSeq {from_seq} is beyond the order's latest event ({})", order.last_seq),
        ));
    }
    // A terminal order's log is complete: once the client has it all, we are done.
    let final_seq = order.status.is_terminal().then_some(order.last_seq);
    let (response, mut session, messages) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::field(ErrorCode::InvalidParameter, "upgrade", format!("not a WebSocket upgrade: {e}"))
    })?;
    let state = state.into_inner();
    let (out, frames) = mpsc::channel(SOCKET_QUEUE);
    actix_web::rt::spawn(pump(state.clone(), id, from_seq, final_seq, out));
    // The message stream is not Send: the writer runs on this worker thread's local set.
    actix_web::rt::spawn(async move {
        let reason = write(&state, &mut session, messages.max_frame_size(MAX_FRAME), frames, &mut FollowOnly).await;
        tracing::debug!(order_id = %id, ?reason, "follow socket closing");
        let _ = session.close(reason).await;
    });
    Ok(response)
}

/// A follow socket has nothing to say but control frames, and ends with its order.
struct FollowOnly;

impl Inbound for FollowOnly {
    const KIND: &'static str = "follow";

    type Done = std::convert::Infallible;

    fn text(&mut self, _text: &str) -> Option<futures::future::LocalBoxFuture<'static, Self::Done>> {
        None
    }

    fn reply(done: &mut Self::Done) -> String {
        match *done {}
    }

    fn replied(&mut self, done: Self::Done) -> Option<End> {
        match done {}
    }

    fn finished(&mut self, _order: Uuid) -> Option<End> {
        Some(close(CloseCode::Normal, "order finished"))
    }
}
