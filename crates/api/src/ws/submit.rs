//! `GET /api/orders/execute` with `Upgrade: websocket`: submit and follow on one
//! connection.
//!
//! Each text message is an order body, as for POST, optionally with
//! `idempotencyKey` and `clientRef`. The server answers `accepted` (with the
//! order id) or `rejected` (with the error), echoing `clientRef`, then streams
//! every status event of every accepted order, each one a pump feeding this
//! socket's bounded queue. The reply is queued before the order's pump starts, so
//! it always comes before the order's first event. The connection stays open
//! until the client closes it.

use crate::error::ApiError;
use crate::metrics::{CodeLabel, METRICS};
use crate::routes::orders::accept;
use crate::state::AppState;
use crate::ws::pump::{End, Frame, Inbound, SOCKET_QUEUE, close, pump, write};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::CloseCode;
use oee_domain::{Channel, ErrorCode, RawOrder, Rejection};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Largest message accepted: the same bound as a POST body.
const MAX_MESSAGE: usize = crate::body::MAX_BODY;

/// Upgrades the submit path.
pub async fn submit_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (response, mut session, messages) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, format!("not a WebSocket upgrade: {e}")))?;
    let state = state.into_inner();
    let (out, frames) = mpsc::channel(SOCKET_QUEUE);
    actix_web::rt::spawn(async move {
        let mut inbound = Submissions { state: state.clone(), out, following: HashSet::new() };
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
}

struct Submissions {
    state: Arc<AppState>,
    out: mpsc::Sender<Frame>,
    /// Orders this socket already streams (an idempotent repeat is not streamed twice).
    following: HashSet<Uuid>,
}

impl Submissions {
    /// Validates, stores and queues one message's order. The order id, or why not.
    async fn submit<'m>(&self, raw: &RawOrder<'m>) -> Result<Uuid, Rejection> {
        let started = std::time::Instant::now();
        let submission = match raw.validate(&self.state.registry, Channel::WebSocket) {
            Ok(submission) => submission,
            Err(r) => {
                METRICS.rejected.get_or_create(&CodeLabel { code: r.code.as_str() }).inc();
                return Err(r);
            }
        };
        match accept(&self.state, &submission).await {
            Ok((id, _, _)) => {
                METRICS.accept_latency.observe(started.elapsed().as_secs_f64());
                Ok(id)
            }
            Err(e) => {
                e.count_rejected_submission();
                Err(e.into_rejection())
            }
        }
    }
}

impl Inbound for Submissions {
    const KIND: &'static str = "submit";

    async fn text(&mut self, text: &str) -> Option<End> {
        let (reply, accepted) = match RawOrder::parse(text.as_bytes()) {
            Err(rejection) => {
                METRICS.rejected.get_or_create(&CodeLabel { code: rejection.code.as_str() }).inc();
                (Reply { kind: "rejected", order_id: None, error: Some(&rejection), client_ref: None }.to_json(), None)
            }
            Ok(raw) => {
                let client_ref = raw.client_ref();
                match self.submit(&raw).await {
                    Ok(id) => {
                        (Reply { kind: "accepted", order_id: Some(id), error: None, client_ref }.to_json(), Some(id))
                    }
                    Err(r) => (Reply { kind: "rejected", order_id: None, error: Some(&r), client_ref }.to_json(), None),
                }
            }
        };
        // The writer drains this queue, so waiting here could never end: a full
        // queue means the client is not reading.
        if self.out.try_send(Frame::Text(reply)).is_err() {
            return Some(close(CloseCode::Again, "client is not reading its events"));
        }
        if let Some(id) = accepted
            && self.following.insert(id)
        {
            actix_web::rt::spawn(pump(self.state.clone(), id, 0, None, self.out.clone()));
        }
        None
    }

    fn finished(&mut self, _order: Uuid) -> Option<End> {
        // The connection stays open for more orders until the client closes it.
        None
    }
}

impl Reply<'_> {
    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a reply always serializes")
    }
}
