//! `oee trade 1.5 SOL USDC`: submit a market order, then follow it live, one
//! line per status, until it ends; the exit code says how (0 confirmed,
//! 3 failed, …).
//!
//! With `--json` it prints the accepted reply, then every event as the
//! engine sent it, one JSON object per line. The older form, a whole order
//! body (`oee trade '{"tokenIn":…}'`), is still accepted and followed the
//! same way.

use crate::exit::Exit;
use crate::live::Placement;
use crate::slippage::{self, Slippage};
use crate::style::Style;
use crate::timeline::Tokens;
use anyhow::Context;
use clap::CommandFactory;
use oee_client::{Accepted, Client, OrderRequest};

/// Submit a market order and follow it to its end, one line per status.
///
/// Examples: `oee trade 1.5 SOL USDC`, `oee trade 250 usdc sol --slippage 1%`.
/// The exit code is 0 when the order confirmed and 3 when it failed.
#[derive(clap::Args)]
#[command(after_help = crate::exit::TABLE)]
pub struct Args {
    /// How much to sell, exact decimal text in token units (`1.5`); or, the
    /// older form, a whole JSON order body (then no tokens).
    amount: String,
    /// The token sold: a symbol (any case) or a mint.
    token_in: Option<String>,
    /// The token bought: a symbol (any case) or a mint.
    token_out: Option<String>,
    /// Tolerated slippage: a percentage (`0.5%`) or basis points (`50bps`);
    /// the engine's default (0.5%) when absent.
    #[arg(long, conflicts_with = "slippage_bps")]
    slippage: Option<Slippage>,
    /// Tolerated slippage in basis points (50 = 0.5%).
    #[arg(long)]
    slippage_bps: Option<u32>,
    #[command(flatten)]
    placement: Placement,
}

/// What to submit: typed fields, or a body as the user wrote it.
enum Order {
    Typed(OrderRequest),
    Body { json: String, idempotency_key: Option<String> },
}

impl Args {
    /// The order, or a usage error (exit 2) for a mix of the two forms.
    fn order(self) -> (Order, Tokens) {
        let body_form = self.amount.trim_start().starts_with('{');
        match (self.token_in, self.token_out) {
            (Some(_), _) if body_form => usage("a JSON order body takes no tokens"),
            (Some(token_in), Some(token_out)) => {
                let tokens = Tokens::typed(&token_in, &token_out);
                let mut order = OrderRequest::market(token_in, token_out, self.amount);
                order.slippage_bps = self.slippage.map(Slippage::bps).or(self.slippage_bps);
                order.user_id = self.placement.user_id;
                order.idempotency_key = self.placement.idempotency_key;
                (Order::Typed(order), tokens)
            }
            (None, None) if body_form => {
                if self.slippage.is_some() || self.slippage_bps.is_some() || self.placement.user_id.is_some() {
                    usage("a JSON order body carries its own slippageBps and userId");
                }
                let tokens = body_tokens(&self.amount);
                (Order::Body { json: self.amount, idempotency_key: self.placement.idempotency_key }, tokens)
            }
            _ => usage("expected AMOUNT TOKEN_IN TOKEN_OUT, e.g. `oee trade 1.5 SOL USDC`"),
        }
    }
}

/// Exits with clap's usage error (code 2).
fn usage(message: &str) -> ! {
    crate::Cli::command().error(clap::error::ErrorKind::ArgumentConflict, format!("trade: {message}")).exit()
}

/// Labels for the amounts of a body's order, where it names its tokens.
fn body_tokens(body: &str) -> Tokens {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let name = |field: &str| value[field].as_str().map(crate::timeline::symbol_case);
    Tokens { token_in: name("tokenIn"), token_out: name("tokenOut") }
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let json = args.placement.json;
    let (order, tokens) = args.order();
    let accepted = match &order {
        Order::Typed(order) => client.submit(order).await,
        Order::Body { json, idempotency_key } => client.submit_json(json, idempotency_key.as_deref()).await,
    }
    .context("submitting the order")?;
    let head = |style| headline(&accepted, &order, &tokens, style);
    crate::live::follow(client, &accepted, head, tokens.clone(), json).await
}

/// `order 0193… accepted: 1.5 SOL → USDC, slippage 50 bps`.
fn headline(accepted: &Accepted, order: &Order, tokens: &Tokens, style: Style) -> String {
    let head = crate::live::headline(accepted, style);
    match order {
        Order::Typed(order) => {
            let (token_in, token_out) =
                (tokens.token_in.as_deref().unwrap_or_default(), tokens.token_out.as_deref().unwrap_or_default());
            format!("{head}: {} {token_in} → {token_out}, {}", order.amount_in, slippage::describe(order.slippage_bps))
        }
        Order::Body { .. } => head,
    }
}
