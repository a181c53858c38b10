//! `POST /api/ws-tickets`: a single-use ticket for a browser's WebSocket.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{Scope, format_time};
use serde_json::json;

/// → 201 `{"ticket", "expiresAt"}`: pass it as `?ticket=` on either WebSocket
/// URL, once, within 60 s. It carries the key's account and scopes.
pub async fn issue(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    let (ticket, expires) = state.auth.issue_ticket(&caller).await?;
    Ok(HttpResponse::Created().json(json!({ "ticket": ticket, "expiresAt": format_time(expires) })))
}
