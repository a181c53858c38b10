//! `oee-worker`: see the crate docs.

use anyhow::Context;
use oee_runtime::{Settings, shutdown, telemetry};
use oee_worker::ops;
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: allocation and free weigh on the CPU
/// under load (the measurement and the memory it costs: docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// One thread: a worker's work is waiting on its stores, its CPU per order is
// small, and a process is the unit it scales by. On one thread no task wakes
// another across cores (what that saves: docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    oee_runtime::exit("oee-worker", run().await)
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(settings.log_format);
    let stop = shutdown::on_signal();
    let worker = oee_worker::build(&settings).await?;
    let addr = settings.metrics_socket_addr()?;
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?; // the port chosen, when asked for port 0
    let probe = ops::Probe::new(&worker, stop.clone(), settings.store_timeout);
    let server = ops::serve(listener, probe)?;
    let endpoint = server.handle();
    tokio::spawn(server);
    tokio::spawn(ops::sample_queue(worker.bus().clone(), stop.clone()));
    tracing::info!(%addr, "oee-worker serving /metrics, /health and /ready");
    let result = worker.run(stop).await;
    endpoint.stop(true).await;
    Ok(result?)
}
