//! `/api/admin/keys`: API keys over HTTP, for `admin` keys. The key itself is
//! in the `201` of its creation and nowhere else.

use crate::auth::ANONYMOUS;
use crate::body::read_json;
use crate::error::ApiError;
use crate::keys::{Created, create};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{ErrorCode, Scope, Scopes};
use oee_store::NewKey;
use serde::Deserialize;
use uuid::Uuid;

/// The body of `POST /api/admin/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRequest {
    account: String,
    scopes: Option<Vec<String>>,
    rate: Option<u32>,
    burst: Option<u32>,
}

/// `POST /api/admin/keys` → 201 `{"keyId", "key", "account", "scopes"}`.
pub async fn create_key(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Admin).await?;
    let body = read_json(&req, payload).await?;
    let request: KeyRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("not a key request: {e}")))?;
    let account = request.account.trim();
    if account.is_empty() || account == ANONYMOUS || account.len() > 64 {
        return Err(ApiError::field(
            ErrorCode::InvalidParameter,
            "account",
            "account must be 1–64 characters, not anonymous",
        ));
    }
    let scopes = match request.scopes {
        None => Scopes::DEFAULT,
        Some(names) => Scopes::parse_list(&names.join(","))
            .map_err(|e| ApiError::field(ErrorCode::InvalidParameter, "scopes", e))?,
    };
    if scopes.is_empty() {
        return Err(ApiError::field(ErrorCode::InvalidParameter, "scopes", "a key needs at least one scope"));
    }
    if request.rate == Some(0) {
        return Err(ApiError::field(ErrorCode::InvalidParameter, "rate", "rate must be at least 1 order per second"));
    }
    let new = NewKey { account: account.to_owned(), scopes, rate: request.rate, burst: request.burst };
    let (record, key) = create(&state.keys, &new).await.map_err(|e| match e.downcast::<oee_store::StoreError>() {
        Ok(store) => ApiError::Store(store),
        Err(other) => ApiError::new(ErrorCode::InvalidParameter, other.to_string()),
    })?;
    Ok(HttpResponse::Created().json(Created::new(record, &key)))
}

/// `GET /api/admin/keys` → `{"keys": [...]}`, never a key itself.
pub async fn list_keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Admin).await?;
    let keys = state.keys.list().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "keys": keys })))
}

/// `DELETE /api/admin/keys/{keyId}` → 204; a key that does not exist → 404.
pub async fn revoke_key(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Admin).await?;
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("no key {}", path.as_str()));
    let key_id = Uuid::parse_str(&path).map_err(|_| not_found())?;
    if !state.keys.revoke(key_id, chrono::Utc::now()).await? {
        return Err(not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}
