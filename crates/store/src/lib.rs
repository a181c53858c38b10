//! Store adapters: PostgreSQL (orders and their event log, the system of record;
//! the simulated chain's ledger) and Redis (jobs, the active set, fan-out).
//! No business logic lives here.
//!
//! - [`orders`]: [`OrderStore`] (order rows and their event log, every write
//!   guarded), [`OrderRecord`] (a row decoded into the domain's types), and the
//!   group-committed writers [`EventWriter`] and [`OrderWriter`].
//! - `group_commit`: the generic machinery that lets many writes share one commit.
//! - [`chain`]: [`PgLedger`], the simulated chain's pools and landed transactions.
//! - [`publishing_ledger`]: [`PublishingLedger`], a ledger that publishes every
//!   pool change it lands on the pool-change stream ([`PoolChanges`]).
//! - [`redis`]: clients, and one type per concern: [`JobQueue`], [`ActiveSet`],
//!   [`Fanout`], [`Locks`], [`PoolChanges`], with [`Bus`] for round trips that span them.
//! - [`api_keys`]: [`KeyStore`], API keys stored as hashes, and their records.
//! - [`keys`]: every Redis key under the namespace.
//! - [`pg`]: the connection pool and its session settings; [`migrate`]: migrations.
//! - [`error`]: [`StoreError`], an outage told apart from a bug.

pub mod api_keys;
pub mod chain;
pub mod error;
mod group_commit;
pub mod keys;
pub mod migrate;
pub mod orders;
pub mod pg;
pub mod publishing_ledger;
pub mod redis;
pub mod standby;

pub use api_keys::{KeyRecord, KeyStore, NewKey};
pub use chain::PgLedger;
/// The PostgreSQL connection pool every store here is built on.
pub use deadpool_postgres::Pool as PgPool;
pub use error::{Backend, StoreError};
pub use group_commit::Batching;
pub use keys::Keys;
pub use migrate::migrate;
pub use orders::{
    ActivityBucket, EventWriter, Inserted, ListFilter, NewOrder, OpenOrder, OrderRecord, OrderStore, OrderWriter, Page,
    Run,
};
pub use pg::PgSettings;
pub use publishing_ledger::PublishingLedger;
pub use redis::{
    ActiveSet, Bus, ConsumerStats, Decision, Fanout, Grant, Job, JobQueue, JobRef, Leases, Limit, Locks, Notice,
    PartitionStats, PoolChange, PoolChanges, QueueStats, RateLimiter, RedisSettings, RestingFeed, StreamReader,
    TICKET_TTL, Tickets,
};

/// Whether each store answers, as `/ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub postgres: bool,
    pub redis: bool,
}

impl Readiness {
    /// Pings PostgreSQL and Redis at once, each bounded by `bound`.
    pub async fn check(pg: &deadpool_postgres::Pool, bus: &Bus, bound: std::time::Duration) -> Self {
        let (postgres, redis) =
            tokio::join!(tokio::time::timeout(bound, pg::ping(pg)), tokio::time::timeout(bound, bus.ping()));
        Self { postgres: matches!(postgres, Ok(Ok(()))), redis: matches!(redis, Ok(Ok(()))) }
    }

    pub fn ready(&self) -> bool {
        self.postgres && self.redis
    }

    /// The contract's `/ready` body: `{"status", "postgres", "redis"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let up = |ok: bool| if ok { "up" } else { "down" };
        serde_json::json!({
            "status": if self.ready() { "ready" } else { "unavailable" },
            "postgres": up(self.postgres),
            "redis": up(self.redis),
        })
    }
}
