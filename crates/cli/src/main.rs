//! `oee`: trade from a terminal, and ask the engine what it would do.
//!
//! ```text
//! oee trade 1.5 SOL USDC --slippage 0.5%    # submit, then one line per status until it ends
//! oee snipe 1 SOL PEPE --max-price 0.000001 # a sniper order: open until PEPE's pool appears, then as trade
//! oee quote 1.5 SOL USDC                    # both venues' quotes and the route it would take
//! oee tokens                                # what can be traded, on which venues
//! oee orders --status failed --limit 20     # history, newest first
//! oee order 0193b0c4-...                    # one order and its timeline
//! oee submit '{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}'  # a raw body; prints the reply
//! oee follow 0193b0c4-... [--from-seq 3]    # one JSON event per line
//! oee launches                              # the tokens launched on the simulated chain
//! oee launch PEPE --decimals 6 --quote SOL --venue raydium --base 1000000000 --quote-amount 500  # admin
//! ```
//!
//! A thin shell over [`oee_client`]: with several `--url`s (comma-separated),
//! a follow that loses its connection resumes on the next one. `--key` (or
//! `OEE_API_KEY`) is the API key it presents; it is never printed. Every
//! command that prints for people takes `--json` for scripts, and the exit
//! code says how it ended ([`exit::TABLE`]).
//!
//! # Layout
//!
//! - `cmd` — one module per subcommand: its arguments and what it does.
//! - `live` — following an order to its end, as `trade` and `snipe` do.
//! - `exit` — exit codes, and how a failure is reported.
//! - `slippage` — `--slippage 0.5%` / `50bps`.
//! - `time_arg` — `--expires-at` / `--open-at`: a time or a delay (`+10m`).
//! - `timeline` — status events as lines for people.
//! - `table` — aligned columns.
//! - `style` — colour on a terminal, plain text elsewhere.

mod cmd;
mod exit;
mod live;
mod slippage;
mod style;
mod table;
mod time_arg;
mod timeline;

use clap::{Parser, Subcommand};
use exit::Exit;
use oee_client::Client;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "oee",
    version,
    about = "Trade on the order execution engine from a terminal, and follow orders live",
    after_help = exit::TABLE
)]
struct Cli {
    /// The API's base URL; several, comma-separated, to fail over between replicas.
    #[arg(long, env = "OEE_URL", default_value = "http://127.0.0.1:8080", global = true, value_delimiter = ',')]
    url: Vec<String>,
    /// The API key to present (`Authorization: Bearer`); needed when the engine runs with OEE_AUTH=required.
    #[arg(long, env = "OEE_API_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Trade(cmd::trade::Args),
    Snipe(cmd::snipe::Args),
    Quote(cmd::quote::Args),
    Tokens(cmd::tokens::Args),
    Orders(cmd::orders::Args),
    Order(cmd::order::Args),
    Cancel(cmd::cancel::Args),
    Submit(cmd::submit::Args),
    Follow(cmd::follow::Args),
    Launches(cmd::launches::Args),
    Launch(cmd::launch::Args),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let has_key = cli.key.is_some();
    let outcome = match client(cli.url, cli.key) {
        Ok(client) => run(&client, cli.command).await,
        Err(e) => Err(anyhow::Error::new(e).context("configuring the client")),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => exit::report(&error, has_key).into(),
    }
}

fn client(urls: Vec<String>, key: Option<String>) -> Result<Client, oee_client::Error> {
    let builder = Client::builder().urls(urls);
    match key {
        Some(key) => builder.api_key(key).build(),
        None => builder.build(),
    }
}

async fn run(client: &Client, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Trade(args) => cmd::trade::run(client, args).await,
        Command::Snipe(args) => cmd::snipe::run(client, args).await,
        Command::Quote(args) => cmd::quote::run(client, args).await,
        Command::Tokens(args) => cmd::tokens::run(client, args).await,
        Command::Orders(args) => cmd::orders::run(client, args).await,
        Command::Order(args) => cmd::order::run(client, args).await,
        Command::Cancel(args) => cmd::cancel::run(client, args).await,
        Command::Submit(args) => cmd::submit::run(client, args).await,
        Command::Follow(args) => cmd::follow::run(client, args).await,
        Command::Launches(args) => cmd::launches::run(client, args).await,
        Command::Launch(args) => cmd::launch::run(client, args).await,
    }
}
