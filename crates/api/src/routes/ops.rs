//! Queue statistics and health.

use crate::error::ApiError;
use crate::openapi::schemas::{self, Activity, ErrorBody, Health, QueueStats};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::Scope;
use oee_store::Readiness;
use serde_json::json;

/// The job stream: length, pending, lag, dead letters, consumers, partitions.
#[utoipa::path(
    get,
    path = "/api/queue/stats",
    operation_id = "queueStats",
    tag = "operations",
    responses(
        (status = 200, description = "The stream's state.", body = QueueStats),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn queue_stats(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Admin).await?;
    let s = state.bus.jobs.stats().await?;
    let consumers: Vec<_> =
        s.consumers.iter().map(|c| json!({"name": c.name, "pending": c.pending, "idleMs": c.idle_ms})).collect();
    let partitions: Vec<_> = s
        .partitions
        .iter()
        .map(|p| json!({"stream": p.stream, "length": p.length, "pending": p.pending, "lag": p.lag}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "stream": s.stream, "length": s.length, "pending": s.pending, "lag": s.lag,
        "deadLetters": s.dead_letters, "consumers": consumers, "partitions": partitions,
    })))
}

/// The window of `GET /api/activity`, in minutes: default and largest.
const DEFAULT_MINUTES: u32 = 5;
const MAX_MINUTES: u32 = 60;
/// Buckets per window: a minute's window has 1 s buckets, an hour's 60 s.
const BUCKETS: u32 = 60;

/// The query of `GET /api/activity`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// The window, 1–60 minutes (default 5), cut into 60 buckets.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 60)]
    minutes: Option<String>,
}

/// Throughput and latency over the last minutes, across every replica.
///
/// Orders by acceptance time: how many were accepted in each bucket, how many
/// of those have confirmed or failed, how many are still in flight, and the
/// median and 99th percentile of acceptance → terminal status. From the
/// system of record (PostgreSQL), so every replica answers the same.
#[utoipa::path(
    get,
    path = "/api/activity",
    operation_id = "activity",
    tag = "operations",
    params(ActivityQuery),
    responses(
        (status = 200, description = "One bucket per interval of the window, oldest first.", body = Activity),
        (status = 400, description = "INVALID_PARAMETER", body = ErrorBody),
        (status = 401, description = "UNAUTHENTICATED", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "FORBIDDEN: needs `admin`.", body = ErrorBody),
        (status = 503, description = "UNAVAILABLE", body = ErrorBody, headers(("Retry-After" = u32))),
    )
)]
pub async fn activity(
    req: HttpRequest,
    query: web::Query<ActivityQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.auth.require(&req, Scope::Admin).await?;
    let minutes = match query.minutes.as_deref() {
        None => DEFAULT_MINUTES,
        Some(text) => text.parse::<u32>().ok().filter(|m| (1..=MAX_MINUTES).contains(m)).ok_or_else(|| {
            ApiError::field(
                oee_domain::ErrorCode::InvalidParameter,
                "minutes",
                format!("minutes must be an integer from 1 to {MAX_MINUTES}"),
            )
        })?,
    };
    let bucket = minutes * 60 / BUCKETS;
    let to = chrono::Utc::now();
    let window = chrono::TimeDelta::seconds(i64::from(minutes) * 60);
    // Whole buckets: the first starts on a multiple of the bucket's length.
    let first = (to - window).timestamp().div_euclid(i64::from(bucket)) * i64::from(bucket) + i64::from(bucket);
    let from = chrono::DateTime::from_timestamp(first, 0).unwrap_or(to - window);
    let found = state.orders.activity(from, bucket).await?;
    let buckets: Vec<_> = (0..BUCKETS)
        .map(|i| {
            let start = from + chrono::TimeDelta::seconds(i64::from(i * bucket));
            let b = found.iter().find(|b| b.start == start);
            let (accepted, confirmed, failed) = b.map_or((0, 0, 0), |b| (b.accepted, b.confirmed, b.failed));
            json!({
                "start": oee_domain::format_time(start),
                "accepted": accepted, "confirmed": confirmed, "failed": failed,
                "inFlight": accepted.saturating_sub(confirmed + failed),
                "p50Ms": b.and_then(|b| b.p50_ms), "p99Ms": b.and_then(|b| b.p99_ms),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "from": oee_domain::format_time(from), "to": oee_domain::format_time(to),
        "bucketSeconds": bucket, "buckets": buckets,
    })))
}

/// Prometheus metrics (OpenMetrics text when asked for). No key needed.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process's metrics.", content_type = "text/plain", body = String))
)]
pub async fn metrics(req: actix_web::HttpRequest) -> HttpResponse {
    let accept = req.headers().get(actix_web::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    HttpResponse::Ok().content_type(oee_runtime::metrics::content_type(accept)).body(crate::metrics::METRICS.render())
}

/// Liveness: the process is up. No key needed.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Up.", body = Health))
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: PostgreSQL and Redis both answer, and the replica is not draining. No key needed.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready.", body = schemas::Readiness),
        (status = 503, description = "Not ready: a store is down (named), or the replica is stopping.", body = schemas::Readiness),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.is_cancelled() {
        // Take this replica out of rotation before it stops accepting.
        return HttpResponse::ServiceUnavailable().json(json!({"status": "stopping"}));
    }
    let stores = Readiness::check(state.orders.pool(), &state.bus, state.store_timeout).await;
    if stores.ready() { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() }.json(stores.to_json())
}
