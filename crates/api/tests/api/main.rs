//! The API's integration tests, one binary: each module a behaviour of the
//! running engine (`oee_testkit::Engine`) over real PostgreSQL and Redis.

mod activity;
mod auth;
mod contract;
mod failover;
mod fuzz_finds;
mod hub;
mod keys;
mod lifecycle;
mod limit;
mod metrics;
mod outage;
mod quotes;
mod rate_limit;
mod shedding;
mod sim;
mod sniper;
mod submit_socket;
mod threads;
mod ui;
mod validation;
