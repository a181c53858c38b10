//! `oee-worker`: consumes the order stream, routes and executes each order, and
//! records and publishes every status change.

pub mod consumer;
pub mod executor;

pub use consumer::Consumer;
pub use executor::{Executor, Outcome, RetryPolicy};

use anyhow::Context;
use oee_runtime::Settings;
use oee_store::{Bus, Keys, OrderStore, StreamReader};
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
        consumer_name(),
    );
    let router = oee_router::simulated(&registry, settings.venue_profile()?);
    let executor = Executor {
        orders: OrderStore::new(pool),
        bus: bus.clone(),
        router,
        retry: RetryPolicy {
            max_attempts: settings.max_attempts,
            base_delay: Duration::from_millis(settings.retry_base_ms),
        },
    };
    Ok(Consumer {
        executor,
        bus,
        reader,
        concurrency: settings.worker_concurrency,
        block: Duration::from_millis(500),
        grace: Duration::from_millis(settings.shutdown_grace_ms),
    })
}

/// A consumer name unique to this process: host, pid and a random suffix.
fn consumer_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
    let suffix: u32 = rand::random();
    format!("{host}-{}-{suffix:08x}", std::process::id())
}
