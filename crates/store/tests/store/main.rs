//! The store's integration tests, one binary, against a real PostgreSQL and Redis.

mod api_keys;
mod chain;
mod events;
mod pool_changes;
mod queued;
mod rate;
