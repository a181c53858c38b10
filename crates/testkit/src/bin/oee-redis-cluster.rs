//! `oee-redis-cluster`: a private Redis Cluster on loopback for as long as it
//! runs — three primaries, each with a replica (see
//! [`oee_testkit::stores::RedisCluster`]). `scripts/test` runs the core test
//! suites against it.
//!
//! ```text
//! oee-redis-cluster URL_FILE
//! ```
//!
//! Writes the engine's `REDIS_URL` for the cluster to `URL_FILE` once every
//! slot is served, then waits for SIGTERM or SIGINT, stops every node and
//! removes their directories.

use oee_testkit::stores::RedisCluster;
use std::process::ExitCode;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url_file) = std::env::args().nth(1) else {
        eprintln!("usage: oee-redis-cluster URL_FILE");
        return ExitCode::from(2);
    };
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        eprintln!("oee-redis-cluster: cannot listen for signals");
        return ExitCode::FAILURE;
    };
    let cluster = RedisCluster::start();
    if let Err(e) = std::fs::write(&url_file, cluster.url()) {
        eprintln!("oee-redis-cluster: writing {url_file}: {e}");
        return ExitCode::FAILURE;
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    drop(cluster);
    ExitCode::SUCCESS
}
