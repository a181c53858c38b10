//! `oee snipe 1 SOL PEPE --max-price 0.000001`: place a sniper order — it
//! rests `open` until a pool for its token exists, is open, holds enough
//! liquidity and prices at or under its cap — then follow it live, one line
//! per status, until it ends; the exit code says how (0 confirmed, 3 failed,
//! 7 cancelled or expired).

use crate::exit::Exit;
use crate::live::Placement;
use crate::slippage::{self, Slippage};
use crate::style::Style;
use crate::timeline::{Tokens, amount};
use anyhow::Context;
use chrono::{DateTime, Utc};
use oee_client::{Accepted, Client, OrderRequest};

/// Place a sniper order for a token that may not be listed yet, and follow it
/// to its end, one line per status.
///
/// Examples: `oee snipe 1 SOL PEPE --max-price 0.000001 --min-liquidity 100`,
/// `oee snipe 10 USDC 7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr --expires-at +1h`.
/// The exit code is 0 when it confirmed, 3 when it failed and 7 when it was
/// cancelled (`oee cancel ID`) or expired.
#[derive(clap::Args)]
#[command(after_help = crate::exit::TABLE)]
pub struct Args {
    /// How much to spend, exact decimal text in TOKEN_IN units (`1`).
    amount: String,
    /// The token spent: a listed token's symbol (any case) or mint.
    token_in: String,
    /// The token to buy: a symbol (1–16 letters or digits) or a mint, listed or not.
    token_out: String,
    /// The most TOKEN_IN to pay per one TOKEN_OUT (`0.000001`); any price when absent.
    #[arg(long, value_name = "P")]
    max_price: Option<String>,
    /// The TOKEN_IN units the new pool must hold before the order fires (`100`).
    #[arg(long, value_name = "L")]
    min_liquidity: Option<String>,
    /// Tolerated slippage: a percentage (`1%`) or basis points (`100bps`);
    /// the engine's default (0.5%) when absent.
    #[arg(long, conflicts_with = "slippage_bps")]
    slippage: Option<Slippage>,
    /// Tolerated slippage in basis points (50 = 0.5%).
    #[arg(long)]
    slippage_bps: Option<u32>,
    /// When the order gives up if it has not fired: an RFC 3339 time
    /// (`2026-12-01T12:00:00Z`) or a delay (`+10m`, `+2h`, `+7d`); the
    /// engine's default, 24 hours, when absent.
    #[arg(long, value_name = "T", value_parser = crate::time_arg::at)]
    expires_at: Option<DateTime<Utc>>,
    #[command(flatten)]
    placement: Placement,
}

impl Args {
    fn order(self) -> OrderRequest {
        let mut order = OrderRequest::sniper(self.token_in, self.token_out, self.amount);
        order.max_price = self.max_price;
        order.min_liquidity = self.min_liquidity;
        order.slippage_bps = self.slippage.map(Slippage::bps).or(self.slippage_bps);
        order.expires_at = self.expires_at;
        order.user_id = self.placement.user_id;
        order.idempotency_key = self.placement.idempotency_key;
        order
    }
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let json = args.placement.json;
    let order = args.order();
    let tokens = Tokens::typed(&order.token_in, &order.token_out);
    let accepted = client.submit(&order).await.context("submitting the order")?;
    let head = |style| headline(&accepted, &order, &tokens, style);
    crate::live::follow(client, &accepted, head, tokens.clone(), json).await
}

/// `order 0193… accepted: snipe PEPE with 1 SOL, max price 0.000001 SOL per
/// PEPE, min liquidity 100 SOL, slippage 100 bps`.
fn headline(accepted: &Accepted, order: &OrderRequest, tokens: &Tokens, style: Style) -> String {
    let (token_in, token_out) =
        (tokens.token_in.as_deref().unwrap_or_default(), tokens.token_out.as_deref().unwrap_or_default());
    let mut terms = vec![format!("snipe {token_out} with {}", amount(&order.amount_in, Some(token_in)))];
    terms.push(match &order.max_price {
        Some(price) => format!("max price {price} {token_in} per {token_out}"),
        None => "any price".to_owned(),
    });
    if let Some(liquidity) = &order.min_liquidity {
        terms.push(format!("min liquidity {}", amount(liquidity, Some(token_in))));
    }
    terms.push(slippage::describe(order.slippage_bps));
    if let Some(at) = order.expires_at {
        terms.push(format!("until {}", oee_domain::format_time(at)));
    }
    format!("{}: {}", crate::live::headline(accepted, style), terms.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headline restates the order's terms in a trader's words.
    #[test]
    fn the_headline_states_the_terms() {
        let accepted: Accepted = serde_json::from_str(
            r#"{"orderId":"0193b0c4-0000-7000-8000-000000000001","status":"pending",
            "statusUrl":"/api/orders/0193b0c4-0000-7000-8000-000000000001",
            "wsUrl":"/api/orders/0193b0c4-0000-7000-8000-000000000001/ws"}"#,
        )
        .expect("a reply");
        let order = OrderRequest::sniper("sol", "pepe", "1").max_price("0.000001").min_liquidity("100");
        let tokens = Tokens::typed("sol", "pepe");
        assert_eq!(
            headline(&accepted, &order, &tokens, Style::plain()),
            "order 0193b0c4-0000-7000-8000-000000000001 accepted: snipe PEPE with 1 SOL, \
             max price 0.000001 SOL per PEPE, min liquidity 100 SOL, default slippage"
        );
        let bare = OrderRequest::sniper("sol", "pepe", "1").slippage_bps(100);
        assert!(headline(&accepted, &bare, &tokens, Style::plain()).ends_with("any price, slippage 100 bps"));
    }
}
