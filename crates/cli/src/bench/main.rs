//! `oee-bench`: measurements that need many clients at once.
//!
//! - `oee-bench load` — the load generator: submits orders over HTTP or the
//!   submit WebSocket, open loop at a rate or closed loop at a concurrency,
//!   follows them over WebSockets, checks every event stream, and reports
//!   throughput, errors and latency percentiles (see [`load`]).
//! - `oee-bench quotes` — quote load: concurrent clients asking for quotes,
//!   reporting quotes per second and latency percentiles (see [`quotes`]).
//! - `oee-bench sockets` — the cost of idle sockets on one API process, and the
//!   worker-to-client delay while orders run (see [`sockets`]).
//! - `oee-bench triggers` — limit orders fired by outside trades: price move to
//!   trigger latency, and triggered orders through to `confirmed` (see [`triggers`]).
//!
//! Exit codes: 0 when the run completed (failed orders are reported, not fatal),
//! 1 when it could not run (nothing reachable, a report not writable), 2 for
//! usage errors, 3 when `load --fail-on-loss` found lost, duplicated or
//! out-of-order events.
#![allow(clippy::print_stdout, reason = "printing the report is this program's job")]

mod load;
mod quotes;
mod sockets;
mod triggers;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: allocation and free were a fifth of the
/// worker's CPU under load (perf, see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "oee-bench", version, about = "Measurements with many concurrent clients")]
struct Cli {
    /// Runtime worker threads (the generator shares the machine with the engine).
    #[arg(long, default_value_t = 2, global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load generator: submit, follow and check orders; report throughput and latency.
    Load(Box<load::LoadArgs>),
    /// Quote load: concurrent clients asking for quotes; report quotes/s and latency.
    Quotes(quotes::QuotesArgs),
    /// Idle-socket cost and event delivery delay on one API process.
    Sockets(sockets::SocketsArgs),
    /// Limit orders fired by outside trades: move-to-trigger latency, triggered orders to confirmed.
    Triggers(triggers::TriggersArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(usize::from(cli.threads)).enable_all().build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
    let result = match cli.command {
        Command::Load(args) => runtime.block_on(load::run(*args, cli.threads)),
        Command::Quotes(args) => runtime.block_on(quotes::run(args)).map(|()| load::Verdict::Clean),
        Command::Sockets(args) => runtime.block_on(sockets::run(args)).map(|()| load::Verdict::Clean),
        Command::Triggers(args) => runtime.block_on(triggers::run(args)).map(|()| load::Verdict::Clean),
    };
    // Followers still parked on the drain timeout must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(load::Verdict::Clean) => ExitCode::SUCCESS,
        Ok(load::Verdict::Loss) => ExitCode::from(3),
        Err(e) => {
            if let Some(usage) = e.downcast_ref::<load::UsageError>() {
                eprintln!("error: {usage}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
