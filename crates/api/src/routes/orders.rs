//! Submitting and reading orders.

use crate::accept::accept;
use crate::body::read_json;
use crate::error::ApiError;
use crate::state::AppState;
use crate::view::{Accepted, OrderView};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::{Channel, ErrorCode, OrderStatus, Rejection, Scope, parse_order, validate_idempotency_key};
use oee_store::ListFilter;
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

/// Default and largest page sizes of `GET /api/orders`.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// `POST /api/orders/execute`.
pub async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let result = submit_inner(req, payload, state).await;
    if let Err(e) = &result {
        e.count_rejected_submission();
    }
    result
}

async fn submit_inner(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Trade).await?;
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let key = v.to_str().map_err(|_| ApiError::from(invalid_key()))?;
            validate_idempotency_key(key)?;
            Some(key.to_owned())
        }
    };
    let body = read_json(&req, payload).await?;
    let mut submission = parse_order(&body, &state.registry, Channel::Http)?;
    submission.idempotency_key = key;
    let done = accept(&state, &caller, &submission).await?;
    let code = if done.created { StatusCode::ACCEPTED } else { StatusCode::OK };
    let mut response = HttpResponse::build(code);
    if let Some(rate) = done.rate {
        response
            .insert_header(("RateLimit-Limit", rate.limit))
            .insert_header(("RateLimit-Remaining", rate.remaining))
            .insert_header(("RateLimit-Reset", rate.reset.as_micros().div_ceil(1_000_000).to_string()));
    }
    Ok(response.json(Accepted::new(done.id, done.status)))
}

fn invalid_key() -> Rejection {
    Rejection::new(
        ErrorCode::InvalidIdempotencyKey,
        "the Idempotency-Key header must be 1–255 printable ASCII characters",
    )
}

/// Parses a path segment as an order id.
pub fn order_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::new(ErrorCode::InvalidOrderId, format!("{raw:?} is not an order id")))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::new(ErrorCode::OrderNotFound, format!("no order {id}"))
}

/// `GET /api/orders/{id}`.
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    let id = order_id(&path)?;
    let (order, events) = tokio::try_join!(state.orders.get(id), state.orders.events_after(id, 0))?;
    // Another account's order does not exist, as far as this caller can tell.
    let order = order.filter(|o| o.account == caller.account).ok_or_else(|| not_found(id))?;
    let events = events
        .into_iter()
        .map(RawValue::from_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Store(oee_store::StoreError::Corrupt(e.to_string())))?;
    Ok(HttpResponse::Ok().json(OrderView { order: &order, events: Some(events) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    user_id: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

/// `GET /api/orders?userId=&status=&limit=&before=`.
pub async fn list(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    let q = query.into_inner();
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text.parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ApiError::field(
                ErrorCode::InvalidParameter,
                "limit",
                format!("limit must be an integer from 1 to {MAX_LIMIT}"),
            )
        })?,
    };
    let status = q
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s)
                .ok_or_else(|| ApiError::field(ErrorCode::InvalidParameter, "status", format!("unknown status {s:?}")))
        })
        .transpose()?;
    let before = q
        .before
        .as_deref()
        .map(|c| {
            Uuid::parse_str(c).map_err(|_| {
                ApiError::field(ErrorCode::InvalidParameter, "before", "before must be a cursor from nextCursor")
            })
        })
        .transpose()?;
    let page =
        state.orders.list(&ListFilter { account: caller.account, user_id: q.user_id, status, before, limit }).await?;
    let orders: Vec<OrderView<'_>> = page.orders.iter().map(|order| OrderView { order, events: None }).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "orders": orders, "nextCursor": page.next })))
}

/// `GET /api/orders/active`.
pub async fn active(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    let members = state.bus.active.members().await?;
    let ids: Vec<Uuid> = members.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
    let ids = state.orders.owned_by(&ids, &caller.account).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "count": ids.len(), "orderIds": ids })))
}
