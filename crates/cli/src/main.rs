//! `oee`: submit an order and watch it execute, from a terminal.
//!
//! ```text
//! oee trade '{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}'   # submit, then follow
//! oee submit '{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}'  # print the 202 reply
//! oee follow 0193b0c4-... [--from-seq 3]                             # one JSON event per line
//! ```

#![allow(clippy::print_stdout, reason = "printing replies and events is this program's job")]

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use std::io::Write;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(name = "oee", version, about = "Submit orders to the engine and follow them live")]
struct Cli {
    /// The API's base URL.
    #[arg(long, env = "OEE_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
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
        order_id: String,
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
    let base = cli.url.trim_end_matches('/').to_owned();
    match cli.command {
        Command::Submit { body, idempotency_key } => {
            let reply = submit(&base, &body, idempotency_key.as_deref()).await?;
            println!("{reply}");
        }
        Command::Follow { order_id, from_seq } => follow(&base, &order_id, from_seq).await?,
        Command::Trade { body, idempotency_key } => {
            let reply = submit(&base, &body, idempotency_key.as_deref()).await?;
            println!("{reply}");
            let id = reply["orderId"].as_str().context("the reply has no orderId")?.to_owned();
            follow(&base, &id, 0).await?;
        }
    }
    Ok(())
}

async fn submit(base: &str, body: &str, key: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/api/orders/execute"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.with_context(|| format!("cannot reach {base}"))?;
    let status = response.status();
    let reply: serde_json::Value = response.json().await.context("the reply is not JSON")?;
    if !status.is_success() {
        bail!("{status}: {reply}");
    }
    Ok(reply)
}

async fn follow(base: &str, order_id: &str, from_seq: u32) -> anyhow::Result<()> {
    let ws_base = base.replacen("http://", "ws://", 1).replacen("https://", "wss://", 1);
    let url = format!("{ws_base}/api/orders/{order_id}/ws?fromSeq={from_seq}");
    let (mut socket, _) =
        tokio_tungstenite::connect_async(&url).await.with_context(|| format!("connecting to {url}"))?;
    let mut out = std::io::stdout().lock();
    while let Some(message) = socket.next().await {
        match message? {
            Message::Text(text) => {
                writeln!(out, "{text}")?;
                out.flush()?;
            }
            Message::Ping(data) => socket.send(Message::Pong(data)).await?,
            Message::Close(frame) => {
                if let Some(frame) = frame {
                    eprintln!("closed: {} {}", u16::from(frame.code), frame.reason);
                }
                break;
            }
            _ => {}
        }
    }
    Ok(())
}
