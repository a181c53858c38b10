//! `GET /api/orders/{id}/ws?fromSeq=N`: follow one order — one pump (see
//! [`crate::ws::pump`]) and a writer; after the terminal event the socket closes
//! with 1000.

use crate::error::ApiError;
use crate::openapi::schemas::ErrorBody;
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

/// The query of the follow socket.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct FollowQuery {
    /// Send the events after this `seq` (default 0: the whole history); a
    /// reconnecting client passes the last `seq` it saw.
    #[param(value_type = Option<u32>, minimum = 0)]
    from_seq: Option<String>,
    /// A ticket from `POST /api/ws-tickets`, instead of the `Authorization` header.
    #[serde(skip)]
    #[param(value_type = Option<String>)]
    #[allow(dead_code, reason = "read by the authenticator from the raw query; named here for the document")]
    ticket: (),
}

/// Follow one order's status events (WebSocket).
///
/// Upgrades after checking the key and that the order exists (401 or 404
/// before upgrading otherwise); then sends every event after `fromSeq`, in
/// order, then live ones, and closes with 1000 after the terminal event. The
/// messages are in docs/asyncapi.yaml.
#[utoipa::path(
    get,
    path = "/api/orders/{orderId}/ws",
    operation_id = "followOrder",
    tag = "sockets",
    params(("orderId" = Uuid, Path, description = "The order's id."), FollowQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
        (status = 400, description = "INVALID_ORDER_ID, INVALID_PARAMETER (`fromSeq`, or not a WebSocket upgrade)", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 404, description = "ORDER_NOT_FOUND", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
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

    fn gone(&mut self, _order: Uuid) -> Option<End> {
        Some(close(CloseCode::Error, "the order is not in the database any more"))
    }
}
