//! `POST /api/ws-tickets`: a single-use ticket for a browser's WebSocket.

use crate::error::ApiError;
use crate::openapi::schemas::{ErrorBody, Ticket};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{Scope, format_time};
use serde_json::json;

/// Get a WebSocket ticket.
///
/// Browsers cannot set headers on a WebSocket: pass the ticket as `?ticket=` on
/// either WebSocket URL instead, once, within 60 s. It carries the key's account
/// and scopes.
#[utoipa::path(
    post,
    path = "/api/ws-tickets",
    operation_id = "createTicket",
    tag = "sockets",
    responses(
        (status = 201, description = "A single-use ticket.", body = Ticket),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn issue(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    let (ticket, expires) = state.auth.issue_ticket(&caller).await?;
    Ok(HttpResponse::Created().json(json!({ "ticket": ticket, "expiresAt": format_time(expires) })))
}
