//! `oee`: submit an order and watch it execute, from a terminal.
//!
//! ```text
//! oee trade '{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}'   # submit, then follow
//! oee submit '{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}'  # print the 202 reply
//! oee follow 0193b0c4-... [--from-seq 3]                             # one JSON event per line
//! ```
//!
//! A thin shell over [`oee_client`]: with several `--url`s (comma-separated),
//! a follow that loses its connection resumes on the next one. `--key` (or
//! `OEE_API_KEY`) is the API key it presents.

#![allow(clippy::print_stdout, reason = "printing replies and events is this program's job")]

use anyhow::Context;
use clap::{Parser, Subcommand};
use oee_client::Client;
use std::io::Write;
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "oee", version, about = "Submit orders to the engine and follow them live")]
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
    /// Submit an order body (JSON) and print the reply.
    Submit {
        body: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Print an order's status events, one JSON object per line, until it ends.
    Follow {
        order_id: Uuid,
        #[arg(long, default_value_t = 0)]
        from_seq: u32,
    },
    /// Submit an order body, then follow it to its end.
    Trade {
        body: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut builder = Client::builder().urls(cli.url);
    if let Some(key) = cli.key {
        builder = builder.api_key(key);
    }
    let client = builder.build()?;
    match cli.command {
        Command::Submit { body, idempotency_key } => {
            submit(&client, &body, idempotency_key.as_deref()).await?;
        }
        Command::Follow { order_id, from_seq } => follow(&client, order_id, from_seq).await?,
        Command::Trade { body, idempotency_key } => {
            let order_id = submit(&client, &body, idempotency_key.as_deref()).await?;
            follow(&client, order_id, 0).await?;
        }
    }
    Ok(())
}

/// Submits `body` as is and prints the reply; the order's id.
async fn submit(client: &Client, body: &str, key: Option<&str>) -> anyhow::Result<Uuid> {
    let accepted = client.submit_json(body, key).await.context("submitting")?;
    println!("{}", serde_json::to_string(&accepted)?);
    Ok(accepted.order_id)
}

/// Prints every event of the order after `from_seq`, as the engine sent it.
async fn follow(client: &Client, order_id: Uuid, from_seq: u32) -> anyhow::Result<()> {
    let mut events = client.follow_from(order_id, from_seq);
    let mut out = std::io::stdout().lock();
    while let Some(event) = events.next().await {
        let event = event.with_context(|| format!("following {order_id}"))?;
        writeln!(out, "{}", event.json)?;
        out.flush()?;
    }
    Ok(())
}
