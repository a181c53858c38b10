//! The store's integration tests, one binary, against a real PostgreSQL.

mod api_keys;
mod chain;
mod events;
