//! Submitting and reading orders.

use crate::accept::accept;
use crate::body::read_json;
use crate::error::ApiError;
use crate::openapi::schemas::{ActiveOrders, ErrorBody, Order, OrderPage, OrderRequest};
use crate::state::AppState;
use crate::view::{Accepted, OrderView};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use oee_domain::{
    Channel, ErrorCode, EventDetail, OrderStatus, RecordedEvent, Rejection, Scope, StatusEvent, parse_order,
    valid_user_id, validate_idempotency_key,
};
use oee_store::ListFilter;
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

/// Default and largest page sizes of `GET /api/orders`.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Submit an order.
///
/// Stores the order durably and queues it; a 2xx means it will reach exactly one
/// terminal status. Follow it on `wsUrl`, or poll `statusUrl`. The same
/// `Idempotency-Key` with the same body returns the same `orderId`.
#[utoipa::path(
    post,
    path = "/api/orders/execute",
    operation_id = "submitOrder",
    tag = "orders",
    request_body(content = OrderRequest, content_type = "application/json"),
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
            description = "1–255 printable ASCII characters; scoped to the key's account."),
    ),
    responses(
        (status = 202, description = "Stored and queued.", body = Accepted, headers(
            ("RateLimit-Limit" = u32, description = "Orders per second allowed to this key."),
            ("RateLimit-Remaining" = u32, description = "Orders that may be sent now without waiting."),
            ("RateLimit-Reset" = u32, description = "Seconds until the allowance is whole again."),
        )),
        (status = 200, description = "An idempotent repeat: the order the key first made.", body = Accepted),
        (status = 400, description = "INVALID_JSON, UNKNOWN_FIELD, DUPLICATE_FIELD, MISSING_FIELD, INVALID_ORDER_TYPE, \
INVALID_AMOUNT, TOO_MANY_DECIMALS, AMOUNT_TOO_LARGE, UNKNOWN_TOKEN, SAME_TOKEN, INVALID_SLIPPAGE, INVALID_USER_ID, \
INVALID_IDEMPOTENCY_KEY, FIELD_NOT_ALLOWED, INVALID_PRICE, INVALID_EXPIRY", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: the key lacks the `trade` scope.", body = ErrorBody),
        (status = 409, description = "IDEMPOTENCY_CONFLICT: the key was used with another body.", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over 16 KiB.", body = ErrorBody),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE: not `application/json`.", body = ErrorBody),
        (status = 422, description = "UNSUPPORTED_ORDER_TYPE, NO_ROUTE", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED", body = ErrorBody, headers(
            ("Retry-After" = u32, description = "Whole seconds, rounded up."),
            ("RateLimit-Limit" = u32), ("RateLimit-Remaining" = u32), ("RateLimit-Reset" = u32),
        )),
        (status = 503, description = "UNAVAILABLE (a store is down) or OVERLOADED (the queue is too far behind); \
nothing was stored.", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
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
    let mut submission = parse_order(&body, &state.tokens(), Channel::Http)?;
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

/// Read an order, with its whole status history.
#[utoipa::path(
    get,
    path = "/api/orders/{orderId}",
    operation_id = "getOrder",
    tag = "orders",
    params(("orderId" = Uuid, Path, description = "The order's id.")),
    responses(
        (status = 200, description = "The order and its events.", body = Order),
        (status = 400, description = "INVALID_ORDER_ID", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 404, description = "ORDER_NOT_FOUND (also for another account's order)", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    read_order(&state, order_id(&path)?, &caller.account).await
}

/// Cancel an open order.
///
/// Only an `open` order (a limit order waiting for its trigger) can be
/// cancelled. A cancel racing the order's trigger has exactly one winner: one
/// guarded transition in PostgreSQL decides, and the loser gets 409.
#[utoipa::path(
    delete,
    path = "/api/orders/{orderId}",
    operation_id = "cancelOrder",
    tag = "orders",
    params(("orderId" = Uuid, Path, description = "The order's id.")),
    responses(
        (status = 200, description = "Cancelled: the order, now `cancelled`, and its events.", body = Order),
        (status = 400, description = "INVALID_ORDER_ID", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: the key lacks the `trade` scope.", body = ErrorBody),
        (status = 404, description = "ORDER_NOT_FOUND (also for another account's order)", body = ErrorBody),
        (status = 409, description = "NOT_CANCELLABLE: the order is not open (it fired, or it is finished).",
            body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn cancel(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Trade).await?;
    let id = order_id(&path)?;
    let order = state.orders.get(id).await?.filter(|o| o.account == caller.account).ok_or_else(|| not_found(id))?;
    let not_cancellable = |status: OrderStatus| {
        ApiError::new(ErrorCode::NotCancellable, format!("order {id} is {status}: only an open order can be cancelled"))
    };
    if order.status != OrderStatus::Open {
        return Err(not_cancellable(order.status));
    }
    // Guarded by the seq and status just read: if the trigger (or another
    // cancel) moved the order since, this records nothing.
    let event = RecordedEvent::new(StatusEvent::new(id, order.last_seq + 1, Utc::now(), EventDetail::Cancelled));
    if !state.orders.record(&event).await? {
        let now = state.orders.get(id).await?.map_or(order.status, |o| o.status);
        return Err(not_cancellable(now));
    }
    let pair = (order.spec.token_in.mint.as_str(), order.spec.token_out.mint.as_str());
    if let Err(e) = state.bus.publish_and_close(id, std::iter::once(event.json.as_str()), pair).await {
        // Durable already; followers read the log, the books drop it when it would fire.
        tracing::warn!(order_id = %id, error = %e, "could not publish a cancel");
    }
    read_order(&state, id, &caller.account).await
}

/// The order and its events up to its `last_seq`, as `GET /api/orders/{id}` answers.
async fn read_order(state: &AppState, id: Uuid, account: &str) -> Result<HttpResponse, ApiError> {
    // The row first, then its log: the row and its events are written in one
    // transaction, so a log read after the row holds every event up to the
    // row's `last_seq` (read at once, the log could lag the row). Events that
    // landed in between are left for the next read, so the two agree.
    let order = state.orders.get(id).await?;
    // Another account's order does not exist, as far as this caller can tell.
    let order = order.filter(|o| o.account == account).ok_or_else(|| not_found(id))?;
    let events = state.orders.events_after(id, 0).await?;
    let events = events
        .into_iter()
        .take(order.last_seq as usize)
        .map(RawValue::from_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Store(oee_store::StoreError::Corrupt(e.to_string())))?;
    Ok(HttpResponse::Ok().json(OrderView { order: &order, events: Some(events) }))
}

/// The filters of `GET /api/orders`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only orders with this label.
    #[param(pattern = "^[A-Za-z0-9_.:-]{1,64}$")]
    user_id: Option<String>,
    /// Only orders in this status.
    #[param(value_type = Option<oee_domain::OrderStatus>)]
    status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `nextCursor` of the previous page.
    #[param(value_type = Option<Uuid>)]
    before: Option<String>,
}

/// The account's order history, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/orders",
    operation_id = "listOrders",
    tag = "orders",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of orders (without their events).", body = OrderPage),
        (status = 400, description = "INVALID_PARAMETER (`field` names the parameter)", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
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
    // Validated as in an order body: an empty or malformed label matches no order,
    // and one holding a NUL byte would not even reach PostgreSQL (fuzz find).
    if q.user_id.as_deref().is_some_and(|u| !valid_user_id(u)) {
        return Err(ApiError::field(
            ErrorCode::InvalidParameter,
            "userId",
            "userId must be 1–64 of A-Z a-z 0-9 _ . : -",
        ));
    }
    let page =
        state.orders.list(&ListFilter { account: caller.account, user_id: q.user_id, status, before, limit }).await?;
    let orders: Vec<OrderView<'_>> = page.orders.iter().map(|order| OrderView { order, events: None }).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "orders": orders, "nextCursor": page.next })))
}

/// The account's orders that are not terminal yet.
#[utoipa::path(
    get,
    path = "/api/orders/active",
    operation_id = "activeOrders",
    tag = "orders",
    responses(
        (status = 200, description = "Their ids.", body = ActiveOrders),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn active(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.auth.require(&req, Scope::Read).await?;
    let members = state.bus.active.members().await?;
    let ids: Vec<Uuid> = members.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
    let ids = state.orders.owned_by(&ids, &caller.account).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "count": ids.len(), "orderIds": ids })))
}
