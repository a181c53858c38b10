//! Queue statistics and health.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// `GET /api/queue/stats`.
pub async fn queue_stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let s = state.bus.stats().await?;
    let consumers: Vec<_> =
        s.consumers.iter().map(|c| json!({"name": c.name, "pending": c.pending, "idleMs": c.idle_ms})).collect();
    Ok(HttpResponse::Ok().json(json!({
        "stream": s.stream, "length": s.length, "pending": s.pending, "lag": s.lag,
        "deadLetters": s.dead_letters, "consumers": consumers,
    })))
}

/// `GET /metrics`: Prometheus (OpenMetrics) text.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok().content_type(oee_runtime::metrics::CONTENT_TYPE).body(crate::metrics::METRICS.render())
}

/// `GET /health`: the process is up.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /ready`: Postgres and Redis both answer.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.is_cancelled() {
        // Take this replica out of rotation before it stops accepting.
        return HttpResponse::ServiceUnavailable().json(json!({"status": "stopping"}));
    }
    let bound = state.store_timeout;
    let (pg, redis) = tokio::join!(
        tokio::time::timeout(bound, oee_store::pg::ping(state.orders.pool())),
        tokio::time::timeout(bound, state.bus.ping()),
    );
    let up = |ok: bool| if ok { "up" } else { "down" };
    let (pg_ok, redis_ok) = (matches!(pg, Ok(Ok(()))), matches!(redis, Ok(Ok(()))));
    let body = json!({
        "status": if pg_ok && redis_ok { "ready" } else { "unavailable" },
        "postgres": up(pg_ok),
        "redis": up(redis_ok),
    });
    if pg_ok && redis_ok { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
