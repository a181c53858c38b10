//! `oee-worker`: consumes the order stream, routes and executes each order, and
//! records and publishes every status change.

pub mod consumer;
pub mod executor;
pub mod metrics;
pub mod ops;

pub use consumer::Consumer;
pub use executor::{Executor, Outcome, RetryPolicy};

use anyhow::Context;
use oee_router::{Ledger, Network, system_clock};
use oee_runtime::Settings;
use oee_store::{Bus, EventWriter, Keys, OrderStore, PgLedger, StreamReader};
use std::sync::Arc;
use std::time::Duration;

/// Builds a worker from settings: pools, clients, venues. Contacts nothing that
/// must be up; stores that are down are retried by the loop.
pub async fn build(settings: &Settings) -> anyhow::Result<Consumer> {
    let registry = settings.registry()?;
    let pool = oee_store::pg::pool(&settings.pg()).context("postgres settings")?;
    let redis = settings.redis();
    let bus = Bus::new(oee_store::redis::client(&redis).await?, &redis);
    let reader = StreamReader::new(
        oee_store::redis::blocking_client(&redis).await?,
        Keys::new(&redis.namespace),
        consumer_name(&settings.instance_name()),
    );
    // The simulated chain lives in PostgreSQL, shared by every worker; the first
    // worker to start seeds its pools.
    let ledger = Arc::new(PgLedger::new(pool.clone()));
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = ledger.seed(oee_router::seed_pools(&registry, now)).await {
        tracing::warn!(error = %e, "could not seed the simulated chain yet");
    }
    let network = Network::new(ledger, settings.venue_profile()?, system_clock())
        .with_validity(settings.tx_validity_secs)
        .with_pool_cache(Duration::from_millis(settings.pool_cache_ms));
    let router = oee_router::simulated(&registry, network);
    let orders = OrderStore::new(pool);
    let executor = Executor {
        events: EventWriter::start(orders.clone(), event_lanes(settings)),
        orders,
        bus: bus.clone(),
        router,
        retry: RetryPolicy {
            max_attempts: settings.max_attempts,
            base_delay: Duration::from_millis(settings.retry_base_ms),
        },
        tx_validity: Duration::from_secs(settings.tx_validity_secs),
        coalesce: Duration::from_millis(settings.event_coalesce_ms),
    };
    Ok(Consumer {
        executor,
        bus,
        reader,
        concurrency: settings.worker_concurrency,
        block: Duration::from_millis(500),
        grace: Duration::from_millis(settings.shutdown_grace_ms),
        reclaim_idle: Duration::from_millis(settings.reclaim_idle_ms),
        sweep_age: Duration::from_millis(settings.sweep_age_ms),
        max_deliveries: settings.max_deliveries,
        own: Default::default(),
    })
}

/// Concurrent event batches: enough to keep commits overlapping, well inside
/// the connection pool (the chain and order loads need connections too).
fn event_lanes(settings: &Settings) -> usize {
    (settings.pg_pool_size / 4).clamp(1, 4)
}

/// A consumer name unique to this process: its instance name and a random
/// suffix (a restarted container has the same name and pid).
fn consumer_name(instance: &str) -> String {
    let suffix: u32 = rand::random();
    format!("{instance}-{suffix:08x}")
}
