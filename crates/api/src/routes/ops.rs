//! Queue statistics and health.

use crate::error::ApiError;
use crate::openapi::schemas::{self, ErrorBody, Health, QueueStats};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::Scope;
use oee_store::Readiness;
use serde_json::json;

/// The job stream: length, pending, lag, dead letters, consumers.
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
    Ok(HttpResponse::Ok().json(json!({
        "stream": s.stream, "length": s.length, "pending": s.pending, "lag": s.lag,
        "deadLetters": s.dead_letters, "consumers": consumers,
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
