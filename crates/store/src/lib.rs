//! Store adapters: Postgres (orders and their event log, the system of record)
//! and Redis (the job stream, the active-order set and status fan-out).
//! No business logic lives here.

pub mod batch;
pub mod chain;
pub mod error;
pub mod keys;
pub mod migrate;
pub mod orders;
pub mod pg;
pub mod redis;

pub use batch::{EventWriter, NewOrder, OrderWriter, Run};
pub use chain::PgLedger;
pub use error::{Backend, StoreError};
pub use keys::Keys;
pub use migrate::migrate;
pub use orders::{Inserted, ListFilter, OrderRecord, OrderStore, Page};
pub use pg::PgSettings;
pub use redis::{Bus, ConsumerStats, Job, QueueStats, RedisSettings, StreamReader};

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
