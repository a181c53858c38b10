//! `oee trade 1.5 SOL USDC`: submit a market order, then follow it live, one
//! line per status, until it ends; the exit code says how (0 confirmed,
//! 3 failed, …).
//!
//! With `--json` it prints the accepted reply, then every event as the
//! engine sent it, one JSON object per line. The older form, a whole order
//! body (`oee trade '{"tokenIn":…}'`), is still accepted and followed the
//! same way.

use crate::exit::Exit;
use crate::slippage::Slippage;
use crate::style::{Ink, Style};
use crate::timeline::{Timeline, Tokens};
use anyhow::Context;
use clap::CommandFactory;
use oee_client::{Accepted, Client, OrderRequest};
use oee_domain::OrderStatus;

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
    /// A label for the order within the account (history filters by it).
    #[arg(long = "user", value_name = "ID")]
    user_id: Option<String>,
    /// Makes resubmitting safe: the same key and order return the same order.
    #[arg(long, value_name = "K")]
    idempotency_key: Option<String>,
    /// One JSON object per line: the accepted reply, then each event as sent.
    #[arg(long)]
    json: bool,
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
                order.user_id = self.user_id;
                order.idempotency_key = self.idempotency_key;
                (Order::Typed(order), tokens)
            }
            (None, None) if body_form => {
                if self.slippage.is_some() || self.slippage_bps.is_some() || self.user_id.is_some() {
                    usage("a JSON order body carries its own slippageBps and userId");
                }
                let tokens = body_tokens(&self.amount);
                (Order::Body { json: self.amount, idempotency_key: self.idempotency_key }, tokens)
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
    let json = args.json;
    let style = if json { Style::plain() } else { Style::detect() };
    let (order, tokens) = args.order();
    let accepted = match &order {
        Order::Typed(order) => client.submit(order).await,
        Order::Body { json, idempotency_key } => client.submit_json(json, idempotency_key.as_deref()).await,
    }
    .context("submitting the order")?;
    if json {
        super::print_json(&accepted)?;
    } else {
        super::print([headline(&accepted, &order, &tokens, style)])?;
    }

    let mut timeline = Timeline::new(style, tokens);
    let mut events = client.follow(accepted.order_id);
    let mut last = None;
    while let Some(event) = events.next().await {
        let event = event.with_context(|| {
            format!(
                "following order {id} (resume with `oee follow {id} --from-seq {seq}`)",
                id = accepted.order_id,
                seq = events.last_seq()
            )
        })?;
        super::print([if json { event.json.clone() } else { timeline.line(&event) }])?;
        last = Some(event.status);
    }
    match last {
        Some(OrderStatus::Confirmed) => Ok(Exit::Done),
        Some(OrderStatus::Failed) => Ok(Exit::Failed),
        other => {
            anyhow::bail!("the events of order {} ended without a terminal one (last: {other:?})", accepted.order_id)
        }
    }
}

/// `order 0193… accepted: 1.5 SOL → USDC, slippage 50 bps`.
fn headline(accepted: &Accepted, order: &Order, tokens: &Tokens, style: Style) -> String {
    let id = style.paint(Ink::Strong, accepted.order_id);
    let verb = if accepted.replayed { "already accepted (same idempotency key)" } else { "accepted" };
    match order {
        Order::Typed(order) => {
            let slippage =
                order.slippage_bps.map_or_else(|| "default slippage".to_owned(), |bps| format!("slippage {bps} bps"));
            let (token_in, token_out) =
                (tokens.token_in.as_deref().unwrap_or_default(), tokens.token_out.as_deref().unwrap_or_default());
            format!("order {id} {verb}: {} {token_in} → {token_out}, {slippage}", order.amount_in)
        }
        Order::Body { .. } => format!("order {id} {verb}"),
    }
}
