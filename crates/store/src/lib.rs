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

pub use batch::{EventWriter, NewOrder, OrderWriter};
pub use chain::PgLedger;
pub use error::{Backend, StoreError};
pub use keys::Keys;
pub use migrate::migrate;
pub use orders::{Inserted, ListFilter, OrderRecord, OrderStore, Page};
pub use pg::PgSettings;
pub use redis::{Bus, ConsumerStats, Job, QueueStats, RedisSettings, StreamReader};
