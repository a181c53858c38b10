//! `oee-api`: see the crate docs.
//!
//! `oee-api` applies pending migrations (under an advisory lock) and serves;
//! `oee-api migrate` applies them and exits; `oee-api metrics --list` prints the
//! series names `/metrics` can expose; `oee-api keys create|list|revoke` manages
//! API keys; `oee-api openapi` prints the OpenAPI document.

use anyhow::Context;
use clap::{Parser, Subcommand};
use oee_runtime::{Settings, shutdown, telemetry};
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: allocation and free weigh on the CPU
/// under load (the measurement and the memory it costs: docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "oee-api", version, about = "Order execution engine: HTTP and WebSocket API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations and exit.
    Migrate,
    /// Serve the API (the default).
    Serve,
    /// Manage API keys (a key is printed once, by `create`).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the OpenAPI document `/api/openapi.json` serves (docs/openapi.json is this output).
    Openapi,
    /// Print what `/metrics` exposes (`metrics --list`).
    Metrics {
        #[arg(long, required = true, help = "Print every series name /metrics can expose", long_help = oee_runtime::metrics::LIST_HELP)]
        list: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it, with its id, as one JSON line: the only time it is shown.
    Create {
        /// The account the key acts for.
        #[arg(long)]
        account: String,
        /// Comma-separated: read, trade, admin.
        #[arg(long, default_value = "trade,read")]
        scopes: String,
        /// Orders per second this key may submit (default: OEE_RATE_PER_SEC).
        #[arg(long)]
        rate: Option<u32>,
        /// Orders allowed in a burst on top of the rate (default: OEE_RATE_BURST).
        #[arg(long)]
        burst: Option<u32>,
    },
    /// Print every key as one JSON line (never the key itself).
    List,
    /// Print a fresh key without storing it (for OEE_BOOTSTRAP_ADMIN_KEY in a Secret).
    Generate,
    /// Revoke a key by its id.
    Revoke { key_id: uuid::Uuid },
}

// The HTTP and WebSocket work runs on actix's own worker threads
// (`OEE_HTTP_WORKERS`), each with its own runtime, Redis clients, PostgreSQL pool,
// hub and commit lanes (`AppState::start`). An actix system (a single-threaded
// tokio runtime) is what makes actix start each thread's state on that thread;
// this one carries start-up, what the threads share, and shutdown.
fn main() -> ExitCode {
    let cli = Cli::parse();
    actix_web::rt::System::new().block_on(async { oee_runtime::exit("oee-api", run(cli).await) })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Metrics { .. }) = cli.command {
        return oee_runtime::metrics::print_names(&oee_api::metrics::METRICS.series_names());
    }
    if let Some(Command::Openapi) = cli.command {
        use std::io::Write;
        return Ok(std::io::stdout().lock().write_all(oee_api::openapi::to_json().as_bytes())?);
    }
    if let Some(Command::Keys { command: KeysCommand::Generate }) = cli.command {
        return oee_api::keys::generate_command(&mut std::io::stdout().lock());
    }
    let settings = Settings::load()?;
    if let Some(Command::Keys { command }) = cli.command {
        // Stdout carries the commands' JSON lines only: no logging here.
        oee_store::migrate(&settings.database_url).await.context("applying migrations")?;
        return keys(&settings, command).await;
    }
    telemetry::init(settings.log_format);
    let applied = oee_store::migrate(&settings.database_url).await.context("applying migrations")?;
    tracing::info!(applied, "database schema is current");
    if let Some(text) = settings.bootstrap_admin_key.get() {
        let store = oee_store::KeyStore::new(oee_store::pg::pool(&settings.pg()).context("postgres settings")?);
        match oee_api::keys::bootstrap(&store, text, oee_api::keys::BOOTSTRAP_ACCOUNT).await? {
            Some(key_id) => tracing::info!(%key_id, "stored the bootstrap admin key"),
            None => tracing::debug!("the bootstrap admin key is stored already"),
        }
    }
    if let Some(Command::Migrate) = cli.command {
        return Ok(());
    }
    let listener = settings.bind_http()?;
    let api = oee_api::build(&settings, listener).await?;
    tracing::info!(addr = %api.addr, "oee-api listening");
    let stopper = api.stopper();
    let drain = settings.shutdown_delay;
    let stop = shutdown::on_signal();
    tokio::spawn(async move {
        stop.cancelled().await;
        stopper.stop(drain).await;
    });
    api.server.await?;
    Ok(())
}

async fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    use oee_api::keys;
    let store = oee_store::KeyStore::new(oee_store::pg::pool(&settings.pg()).context("postgres settings")?);
    let mut out = std::io::stdout().lock();
    match command {
        KeysCommand::Create { account, scopes, rate, burst } => {
            let new = oee_store::NewKey { account, scopes: keys::scopes_arg(Some(&scopes))?, rate, burst };
            keys::create_command(&store, &new, &mut out).await
        }
        KeysCommand::List => keys::list_command(&store, &mut out).await,
        KeysCommand::Generate => keys::generate_command(&mut out),
        KeysCommand::Revoke { key_id } => keys::revoke_command(&store, key_id).await,
    }
}
