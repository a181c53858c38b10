//! `oee order ID`: one order, what it got, and its timeline.

use crate::exit::Exit;
use crate::style::{Ink, Style};
use crate::table::fields;
use crate::timeline::{Timeline, Tokens, amount, ink};
use anyhow::Context;
use oee_client::{Client, Order};
use oee_domain::OrderType;
use uuid::Uuid;

/// Show one order: what it sold and got (or why not), and every status it went through.
#[derive(clap::Args)]
pub struct Args {
    order_id: Uuid,
    /// The order as one JSON object, its events as the engine sent them.
    #[arg(long)]
    json: bool,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let order = client.order(args.order_id).await.with_context(|| format!("reading order {}", args.order_id))?;
    if args.json {
        super::print_json(&order)?;
    } else {
        super::print(render(&order, Style::detect()))?;
    }
    Ok(Exit::Done)
}

pub(crate) fn render(order: &Order, style: Style) -> Vec<String> {
    let mut rows = vec![
        ("order", style.paint(Ink::Strong, order.order_id)),
        ("status", style.paint(ink(order.status), order.status)),
        ("sold", amount(&order.amount_in, Some(&order.token_in))),
    ];
    if let Some(out) = &order.amount_out {
        let mut received = style.paint(Ink::Good, amount(out, Some(&order.token_out)));
        if let Some(price) = &order.executed_price {
            received.push_str(&format!(" at {price}"));
        }
        rows.push(("received", received));
    }
    if let Some(error) = &order.error {
        rows.push(("error", format!("{}: {}", style.paint(Ink::Bad, error.code), error.message)));
    }
    if let Some(route) = &order.route {
        rows.push(("route", format!("{}: {}", route.dex, route.reason)));
        rows.push(("min out", amount(&route.min_amount_out, Some(&order.token_out))));
    }
    if let Some(bps) = order.slippage_bps {
        rows.push(("slippage", format!("{bps} bps")));
    }
    if let Some(min) = &order.min_amount_out {
        let price = order.limit_price.as_deref().map(|p| format!(" (limit price {p})")).unwrap_or_default();
        rows.push(("limit", format!("at least {}{price}", amount(min, Some(&order.token_out)))));
    }
    if order.order_type == OrderType::Sniper {
        let cap = order.max_price.as_deref().map_or_else(
            || "any price".to_owned(),
            |price| format!("at most {price} {} per {}", order.token_in, order.token_out),
        );
        rows.push(("max price", cap));
        if let Some(liquidity) = &order.min_liquidity {
            rows.push(("min liquidity", amount(liquidity, Some(&order.token_in))));
        }
    }
    if let Some(at) = order.expires_at {
        rows.push(("expires", oee_domain::format_time(at)));
    }
    rows.push(("attempts", order.attempts.to_string()));
    if let Some(tx) = &order.tx_hash {
        rows.push(("tx", tx.clone()));
    }
    rows.push(("user", order.user_id.clone()));
    rows.push(("created", oee_domain::format_time(order.created_at)));
    rows.push(("updated", oee_domain::format_time(order.updated_at)));
    let mut lines = fields(rows);
    lines.push(String::new());
    let tokens = Tokens { token_in: Some(order.token_in.clone()), token_out: Some(order.token_out.clone()) };
    let mut timeline = Timeline::new(style, tokens);
    lines.extend(order.events.iter().map(|event| timeline.line(event)));
    lines
}
