//! `oee-worker`: see the crate docs.
//!
//! `oee-worker` runs the worker; `oee-worker metrics --list` prints the series
//! names `/metrics` can expose; `oee-worker streams` prints the keys of the
//! job stream's partitions under the current settings (for autoscalers).

use clap::{Parser, Subcommand};
use oee_runtime::{Settings, shutdown, telemetry};
use oee_worker::ops;
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: allocation and free weigh on the CPU
/// under load (the measurement and the memory it costs: docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "oee-worker", version, about = "Order execution engine: the worker that routes and executes orders")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the worker (the default).
    Run,
    /// Print what `/metrics` exposes (`metrics --list`).
    Metrics {
        #[arg(long, required = true, help = "Print every series name /metrics can expose", long_help = oee_runtime::metrics::LIST_HELP)]
        list: bool,
    },
    /// Print the key of each partition of the job stream, one per line, for
    /// `OEE_NAMESPACE` and `OEE_JOB_PARTITIONS` (what a KEDA trigger watches).
    Streams,
}

// One thread: a worker's work is waiting on its stores, its CPU per order is
// small, and a process is the unit it scales by. On one thread no task wakes
// another across cores (what that saves: docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    oee_runtime::exit("oee-worker", run(cli).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Metrics { .. }) = cli.command {
        return oee_runtime::metrics::print_names(&oee_worker::metrics::METRICS.series_names());
    }
    let settings = Settings::load()?;
    if let Some(Command::Streams) = cli.command {
        let keys = settings.redis().keys();
        let mut out = std::io::stdout().lock();
        for p in keys.all_partitions() {
            std::io::Write::write_all(&mut out, format!("{}\n", keys.stream(p)).as_bytes())?;
        }
        return Ok(());
    }
    telemetry::init(settings.log_format);
    let stop = shutdown::on_signal();
    let worker = oee_worker::build(&settings).await?;
    let listener = settings.bind_metrics()?;
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
