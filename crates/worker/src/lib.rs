//! `oee-worker`: consumes the order stream, routes and executes each order, and
//! records and publishes every status change; while it holds the lease, it
//! also drives the market simulator (outside trades on every pool).

pub mod consumer;
pub mod executor;
pub mod metrics;
pub mod ops;
pub mod pacing;
pub mod simulator;
mod snipers;
pub mod trigger;

pub use consumer::Consumer;
pub use executor::{Executor, Outcome};
pub use oee_runtime::RetryPolicy;
pub use simulator::{LaunchChain, MarketSimulator, SimulatorSettings, Tick};
pub use trigger::TriggerEngine;

use anyhow::Context;
use oee_router::{Ledger, SimulatedNetwork, system_clock};
use oee_runtime::Settings;
use oee_store::{EventWriter, PgLedger, PoolChanges, PublishingLedger, RestingFeed};
use std::sync::Arc;

/// Builds a worker from settings: pools, clients, venues. Contacts nothing that
/// must be up; stores that are down are retried by the loop.
pub async fn build(settings: &Settings) -> anyhow::Result<Consumer> {
    let registry = settings.registry()?;
    let pool = oee_store::pg::pool(&settings.pg()).context("postgres settings")?;
    let redis = settings.redis();
    let bus = settings.bus().await?;
    let consumer = consumer_name(&settings.instance_name());
    let reader = oee_store::redis::stream_reader(&redis, bus.client().clone(), consumer.clone()).await?;
    // The simulated chain lives in PostgreSQL, shared by every worker; the first
    // worker to start seeds its pools. Every pool change it lands is published
    // on the pool-change stream.
    let changes = PoolChanges::new(bus.client().clone(), bus.keys()).with_max_len(settings.pool_stream_max_len);
    let ledger = Arc::new(
        PublishingLedger::new(PgLedger::lingering(pool.clone(), settings.commit_linger), changes).on_append_failure(
            || {
                metrics::METRICS.pool_changes_lost.inc();
            },
        ),
    );
    let now = chrono::Utc::now().timestamp();
    let seeds = oee_router::seed_pools(&registry, now);
    let pool_ids: Vec<String> = seeds.iter().map(|p| p.id.clone()).collect();
    if let Err(e) = ledger.seed(seeds).await {
        tracing::warn!(error = %e, "could not seed the simulated chain yet");
    }
    let simulator = (!settings.sim_tick.is_zero()).then(|| {
        let sim = SimulatorSettings {
            tick: settings.sim_tick,
            volatility_bps: settings.sim_volatility_bps,
            seed: settings.sim_seed,
            tx_validity: settings.tx_validity,
            launch_every: settings.sim_launch_every,
        };
        let chain = LaunchChain { ledger: (*ledger).clone(), registry: registry.clone() };
        MarketSimulator::new(ledger.clone(), bus.locks.clone(), consumer, pool_ids, sim).with_launches(chain)
    });
    let network = SimulatedNetwork::new(ledger, settings.venue_profile(), system_clock())
        .with_validity(settings.tx_validity.as_secs())
        .with_pool_cache(settings.pool_cache);
    let router = oee_router::simulated(&registry, Arc::new(network));
    let orders = settings.order_store(pool.clone());
    let executor = Executor {
        events: EventWriter::start(orders.clone(), settings.event_batching()),
        orders,
        bus: bus.clone(),
        router,
        retry: settings.retry(),
        tx_validity: settings.tx_validity,
        coalesce: settings.event_coalesce,
    };
    let trigger = TriggerEngine {
        executor: executor.clone(),
        pg: pool,
        feed: RestingFeed::new(oee_store::redis::blocking_client(&redis).await?, redis.keys()),
        pool_changes: PoolChanges::new(oee_store::redis::blocking_client(&redis).await?, bus.keys()),
        listing: oee_router::Listing::new(&registry),
        registry,
        member: reader.consumer().to_owned(),
        lease: settings.trigger_lease,
        poll: settings.trigger_poll,
    };
    Ok(Consumer {
        trigger: Some(Arc::new(trigger)),
        executor,
        bus,
        reader,
        concurrency: settings.worker_concurrency,
        block: pacing::READ_BLOCK,
        grace: settings.shutdown_grace,
        reclaim_idle: settings.reclaim_idle,
        sweep_age: settings.sweep_age,
        max_deliveries: settings.max_deliveries,
        own: Default::default(),
        simulator,
    })
}

/// A consumer name unique to this process: its instance name and a random
/// suffix (a restarted container has the same name and pid).
fn consumer_name(instance: &str) -> String {
    let suffix: u32 = rand::random();
    format!("{instance}-{suffix:08x}")
}
