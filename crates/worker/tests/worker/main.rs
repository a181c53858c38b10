//! The worker's integration tests, one binary: execution against the shared
//! chain, operations endpoints, crash recovery with real processes, and the
//! market simulator.

mod execution;
mod operations;
mod processes;
mod recovery;
mod simulator;
mod trigger;
