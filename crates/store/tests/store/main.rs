//! The store's integration tests, one binary, against a real PostgreSQL.

mod chain;
mod events;
