//! `oee-api`: accepts orders over HTTP, serves their state, and streams their
//! status events over WebSockets from any replica.
//!
//! [`build`] makes a server from settings plus a bound listener, so a test can
//! bind `127.0.0.1:0` and run several instances side by side.

pub mod accept;
pub mod auth;
pub mod body;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod pools;
pub mod routes;
pub mod shedding;
pub mod state;
pub mod ui;
pub mod view;
pub mod ws;

pub use routes::configure;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{self, Next};
use actix_web::{App, web};
use anyhow::Context;
use metrics::METRICS;
use oee_runtime::Settings;
use state::AppState;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A built, not yet running, API server.
pub struct Api {
    pub server: Server,
    pub addr: SocketAddr,
    draining: CancellationToken,
    stopping: CancellationToken,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Api {
    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// What stops this server gracefully; see [`Stopper::stop`].
    pub fn stopper(&self) -> Stopper {
        Stopper { handle: self.server.handle(), draining: self.draining.clone(), stopping: self.stopping.clone() }
    }
}

/// Stops a server in the order a load balancer needs.
#[derive(Clone)]
pub struct Stopper {
    handle: ServerHandle,
    draining: CancellationToken,
    stopping: CancellationToken,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").finish_non_exhaustive()
    }
}

impl Stopper {
    /// Fails readiness and keeps serving for `drain`, so load balancers take the
    /// replica out of rotation first; then closes every socket with 1001 (going
    /// away), so clients reconnect — now to another replica — with `fromSeq`;
    /// then stops accepting and lets requests in progress finish.
    pub async fn stop(&self, drain: std::time::Duration) {
        self.draining.cancel();
        tokio::time::sleep(drain).await;
        self.stopping.cancel();
        self.handle.stop(true).await;
    }
}

/// Builds the server on `listener`. Stores that are down make requests fail with
/// 503 until they return; they do not stop the server from starting.
///
/// What is shared ([`state::Shared`]) is built here, on the caller's runtime;
/// each HTTP thread (`OEE_HTTP_WORKERS`) then starts its own [`AppState`] as
/// actix initialises it. Under an actix system (as `oee-api` runs) that is on
/// the thread's own runtime, so a request is served start to finish on the
/// thread that read it; under a plain tokio runtime (tests) it is on the
/// caller's.
pub async fn build(settings: &Settings, listener: TcpListener) -> anyhow::Result<Api> {
    let registry = settings.registry()?;
    let mut pg = settings.pg();
    pg.pool_size = state::SHARED_POOL_SIZE;
    let pool = oee_store::pg::pool(&pg).context("postgres settings")?;
    let bus = settings.bus().await?;
    if let Err(e) = bus.jobs.ensure_group().await {
        tracing::warn!(error = %e, "could not create the consumer group yet; workers will");
    }
    // Quotes need the simulated chain's pools: seed them if no worker has yet.
    let seeds = oee_router::seed_pools(&registry, chrono::Utc::now().timestamp());
    if let Err(e) = oee_store::chain::seed(&pool, &seeds).await {
        tracing::warn!(error = %e, "could not seed the simulated chain yet");
    }
    let draining = CancellationToken::new();
    let stopping = CancellationToken::new();
    let pools = pools::PoolView::start(
        pool.clone(),
        registry.clone(),
        settings.quote_refresh,
        settings.quote_max_age(),
        stopping.clone(),
    )
    .await;
    let changes =
        oee_store::PoolChanges::new(bus.client().clone(), bus.keys()).with_max_len(settings.pool_stream_max_len);
    let ledger =
        oee_store::PublishingLedger::new(oee_store::PgLedger::new(pool.clone()), changes).on_append_failure(|| {
            METRICS.pool_changes_lost.inc();
        });
    let shared = state::Shared {
        settings: Arc::new(settings.clone()),
        registry,
        keys: oee_store::KeyStore::new(pool),
        pools,
        ledger,
        shedder: shedding::Shedder::start(bus.jobs.clone(), settings.max_queue_lag, stopping.clone()),
        draining: draining.clone(),
        stopping: stopping.clone(),
        sockets: Arc::new(tokio::sync::Semaphore::new(settings.max_sockets)),
    };
    let addr = listener.local_addr()?;
    let instance = web::Data::new(Instance(
        HeaderValue::from_str(&settings.instance_name()).context("OEE_INSTANCE is not a valid header value")?,
    ));
    let send_buffer = settings.socket_send_buffer;
    let server = actix_web::HttpServer::new(move || {
        let shared = shared.clone();
        App::new()
            // Called on the HTTP thread as actix initialises it; the future
            // is ready at once (awaiting here could deadlock a single-threaded
            // caller: actix waits for every thread to initialise).
            .data_factory(move || std::future::ready(AppState::start(&shared)))
            .app_data(instance.clone())
            .wrap(middleware::from_fn(observe))
            .configure(configure)
    })
    .on_connect(move |conn, _| {
        let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else { return };
        // Events are small frames written as they happen: without this, Nagle's
        // algorithm holds each one back until the client's delayed ACK (~40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        if send_buffer > 0
            && let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(send_buffer)
        {
            tracing::debug!(error = %e, "could not set the send buffer size");
        }
    })
    .workers(settings.http_workers)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(Api { server, addr, draining, stopping })
}

/// This replica's name, sent on every response as `X-Oee-Instance`.
#[derive(Debug)]
struct Instance(HeaderValue);

/// The header naming the replica that answered (WebSocket upgrades included), so
/// a client or a test can tell replicas apart behind a load balancer.
pub const INSTANCE_HEADER: &str = "x-oee-instance";

/// Counts every request by route and status, times submissions, and names the replica.
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        _ => "other",
    };
    let mut res = next.call(req).await?;
    let route = routes::label(res.request().match_pattern().as_deref());
    if route == routes::SUBMIT && method == "POST" {
        METRICS.accept_latency.observe(started.elapsed().as_secs_f64());
    }
    let status = res.status().as_u16();
    METRICS.requests.get_or_create(&metrics::RequestLabels { method, route, status }).inc();
    if let Some(instance) = res.request().app_data::<web::Data<Instance>>() {
        let value = instance.0.clone();
        res.headers_mut().insert(HeaderName::from_static(INSTANCE_HEADER), value);
    }
    Ok(res)
}
