//! The worker's integration tests, one binary: execution against the shared
//! chain, operations endpoints, and crash recovery with real processes.

mod execution;
mod operations;
mod recovery;
mod trigger;
