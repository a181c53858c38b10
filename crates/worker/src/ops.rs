//! The worker's operations endpoint on `OEE_METRICS_ADDR`: `/metrics`,
//! `/health` (the process is up) and `/ready` (Postgres and Redis answer, and the
//! worker is not stopping) — what Prometheus and Kubernetes probes ask for. Also
//! the sampler that keeps the stream gauges current.

use crate::Consumer;
use crate::metrics::METRICS;
use actix_web::dev::Server;
use actix_web::{App, HttpResponse, web};
use oee_store::{Bus, OrderStore, Readiness};
use serde_json::json;
use std::net::TcpListener;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the stream gauges are refreshed.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// What `/ready` checks.
#[derive(Debug, Clone)]
pub struct Probe {
    orders: OrderStore,
    bus: Bus,
    stopping: CancellationToken,
    timeout: Duration,
}

impl Probe {
    pub fn new(worker: &Consumer, stopping: CancellationToken, timeout: Duration) -> Self {
        Self { orders: worker.executor.orders.clone(), bus: worker.bus.clone(), stopping, timeout }
    }
}

/// Serves the endpoint on `listener` (one thread; it is only scraped and probed).
pub fn serve(listener: TcpListener, probe: Probe) -> std::io::Result<Server> {
    let probe = web::Data::new(probe);
    Ok(actix_web::HttpServer::new(move || {
        App::new()
            .app_data(probe.clone())
            .route("/metrics", web::get().to(metrics))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

async fn metrics(req: actix_web::HttpRequest) -> HttpResponse {
    let accept = req.headers().get(actix_web::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    HttpResponse::Ok().content_type(oee_runtime::metrics::content_type(accept)).body(METRICS.render())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn ready(probe: web::Data<Probe>) -> HttpResponse {
    if probe.stopping.is_cancelled() {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "stopping"}));
    }
    let stores = Readiness::check(probe.orders.pool(), &probe.bus, probe.timeout).await;
    if stores.ready() { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() }.json(stores.to_json())
}

/// Refreshes the stream gauges (length, pending, lag, dead letters) every few
/// seconds until `stop`. Every worker samples the same stream: dashboards take
/// `max` across workers.
pub async fn sample_queue(bus: Bus, stop: CancellationToken) {
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = stop.cancelled() => return,
        }
        match bus.jobs.stats().await {
            Ok(s) => {
                let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                METRICS.stream_length.set(gauge(s.length));
                METRICS.stream_pending.set(gauge(s.pending));
                METRICS.stream_lag.set(gauge(s.lag));
                METRICS.dead_letter_length.set(gauge(s.dead_letters));
            }
            Err(e) => tracing::debug!(error = %e, "could not sample the job stream"),
        }
    }
}
