//! `/api/admin/keys`: API keys over HTTP, for `admin` keys. The key itself is
//! in the `201` of its creation and nowhere else.

use crate::auth::ANONYMOUS;
use crate::body::read_json;
use crate::error::ApiError;
use crate::keys::{Created, create};
use crate::openapi::schemas::{ErrorBody, KeyCreated, KeyList};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{ErrorCode, Scope, Scopes};
use oee_store::NewKey;
use serde::Deserialize;
use uuid::Uuid;

/// The largest `rate` and `burst` of a key (as for `OEE_RATE_PER_SEC` and `OEE_RATE_BURST`).
const MAX_RATE: u32 = 1_000_000;
/// The longest account name, in characters.
const MAX_ACCOUNT_CHARS: usize = 64;

/// The body of `POST /api/admin/keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account": "alice", "scopes": ["trade", "read"], "rate": 50, "burst": 100}))]
pub struct KeyRequest {
    /// The account the key acts for: 1–64 characters, no control characters, not
    /// `anonymous` (spaces around it are dropped).
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f]+$")]
    account: String,
    /// Default `["trade", "read"]`.
    #[schema(value_type = Option<Vec<oee_domain::Scope>>, min_items = 1)]
    scopes: Option<Vec<String>>,
    /// Orders per second (default: the deployment's `OEE_RATE_PER_SEC`), at most 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    rate: Option<u32>,
    /// The burst allowed on top of the rate (default: `OEE_RATE_BURST`), at most 1,000,000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    burst: Option<u32>,
}

/// Make an API key. The key is in this response and nowhere else.
#[utoipa::path(
    post,
    path = "/api/admin/keys",
    operation_id = "createKey",
    tag = "keys",
    request_body(content = KeyRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The new key.", body = KeyCreated),
        (status = 400, description = "INVALID_JSON, INVALID_PARAMETER", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
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
    // Control characters are refused here, not by PostgreSQL: a NUL byte made the
    // insert fail with a 500 (fuzz find). The length is in characters, as documented.
    if account.is_empty()
        || account == ANONYMOUS
        || account.chars().count() > MAX_ACCOUNT_CHARS
        || account.chars().any(char::is_control)
    {
        return Err(ApiError::field(
            ErrorCode::InvalidParameter,
            "account",
            "account must be 1–64 characters without control characters, not anonymous",
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
    // The bounds of OEE_RATE_PER_SEC and OEE_RATE_BURST; past i32::MAX the
    // column could not even hold it.
    if request.rate.is_some_and(|rate| !(1..=MAX_RATE).contains(&rate)) {
        return Err(ApiError::field(
            ErrorCode::InvalidParameter,
            "rate",
            format!("rate must be from 1 to {MAX_RATE} orders per second"),
        ));
    }
    if request.burst.is_some_and(|burst| burst > MAX_RATE) {
        return Err(ApiError::field(ErrorCode::InvalidParameter, "burst", format!("burst must be at most {MAX_RATE}")));
    }
    let new = NewKey { account: account.to_owned(), scopes, rate: request.rate, burst: request.burst };
    let (record, key) = create(&state.keys, &new).await.map_err(|e| match e.downcast::<oee_store::StoreError>() {
        Ok(store) => ApiError::Store(store),
        Err(other) => ApiError::new(ErrorCode::InvalidParameter, other.to_string()),
    })?;
    Ok(HttpResponse::Created().json(Created::new(record, &key)))
}

/// List every key (never the key itself).
#[utoipa::path(
    get,
    path = "/api/admin/keys",
    operation_id = "listKeys",
    tag = "keys",
    responses(
        (status = 200, description = "Every key, revoked ones included.", body = KeyList),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn list_keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Admin).await?;
    let keys = state.keys.list().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "keys": keys })))
}

/// Revoke a key. Every replica refuses it within 2 seconds.
#[utoipa::path(
    delete,
    path = "/api/admin/keys/{keyId}",
    operation_id = "revokeKey",
    tag = "keys",
    params(("keyId" = Uuid, Path, description = "The key's id (not the key).")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: no such key.", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
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
