//! Queue statistics and health.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use oee_domain::Scope;
use oee_store::Readiness;
use serde_json::json;

/// `GET /api/queue/stats`.
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

/// `GET /metrics`: Prometheus (OpenMetrics) text.
pub async fn metrics(req: actix_web::HttpRequest) -> HttpResponse {
    let accept = req.headers().get(actix_web::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    HttpResponse::Ok().content_type(oee_runtime::metrics::content_type(accept)).body(crate::metrics::METRICS.render())
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
    let stores = Readiness::check(state.orders.pool(), &state.bus, state.store_timeout).await;
    if stores.ready() { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() }.json(stores.to_json())
}
