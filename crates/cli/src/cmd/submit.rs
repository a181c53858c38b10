//! `oee submit BODY`: a raw order body, as is; prints the engine's reply.

use crate::exit::Exit;
use anyhow::Context;
use oee_client::Client;

/// Submit an order body given as JSON, as is, and print the reply (one JSON line).
#[derive(clap::Args)]
pub struct Args {
    /// The order body, e.g. '{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}'.
    body: String,
    /// Makes resubmitting safe: the same key and body return the same order.
    #[arg(long)]
    idempotency_key: Option<String>,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let accepted = client.submit_json(&args.body, args.idempotency_key.as_deref()).await.context("submitting")?;
    super::print_json(&accepted)?;
    Ok(Exit::Done)
}
