//! The Postgres pool.

use crate::error::{Backend, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::NoTls;

/// How to reach Postgres and how many connections to keep.
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub url: String,
    pub pool_size: usize,
    /// Bound on connecting, waiting for a pooled connection, and each statement.
    pub timeout: Duration,
}

/// Builds a pool. Connections are made lazily; nothing is contacted here.
pub fn pool(settings: &PgSettings) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config = settings.url.parse().map_err(|e: tokio_postgres::Error| {
        StoreError::Unavailable { backend: Backend::Postgres, reason: e.to_string() }
    })?;
    config.connect_timeout(settings.timeout);
    config.application_name("oee");
    // Bound every statement server-side so a stuck query cannot hold a request.
    //
    // Every statement the engine runs looks rows up by key (an order, a batch of
    // orders or of event runs, a pool, a transaction id), and its tables grow far
    // faster than autovacuum's ANALYZE follows. So:
    // - never scan a whole table when an index can answer: with statistics from
    //   when `orders` was small, the planner picks a sequential scan whose cost
    //   grows with the table. A query with no usable index still runs;
    // - plan each prepared statement once: the default re-plans the array
    //   (`unnest`, `= ANY`) statements on every execution.
    // What each bought is in docs/BENCHMARKS.md ("What each change bought").
    let ms = settings.timeout.as_millis();
    config.options(format!(
        "-c statement_timeout={ms} -c idle_in_transaction_session_timeout={} \
         -c enable_seqscan=off -c plan_cache_mode=force_generic_plan",
        ms * 4
    ));
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .build()
        .map_err(|e| StoreError::Unavailable { backend: Backend::Postgres, reason: e.to_string() })
}

/// Answers whether Postgres serves queries.
pub async fn ping(pool: &Pool) -> Result<(), StoreError> {
    let client = pool.get().await?;
    client.simple_query("SELECT 1").await?;
    Ok(())
}
