//! `oee orders`: the account's order history, newest first, as a compact table.

use crate::exit::Exit;
use crate::style::{Ink, Style};
use crate::table::{Align, Cell, Table};
use crate::timeline::{amount, ink};
use anyhow::Context;
use oee_client::{Client, HistoryPage, HistoryQuery, Order};
use oee_domain::OrderStatus;
use uuid::Uuid;

/// List orders, newest first: one page, with the flag for the next.
#[derive(clap::Args)]
pub struct Args {
    /// Only orders now in this status (pending, routing, building, submitted, confirmed, failed).
    #[arg(long, value_name = "S", value_parser = status)]
    status: Option<OrderStatus>,
    /// Only orders with this user label.
    #[arg(long = "user", value_name = "ID")]
    user_id: Option<String>,
    /// Orders per page, 1 to 200 (the engine's default: 50).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// The page after this cursor (printed under the previous page).
    #[arg(long, value_name = "CURSOR")]
    before: Option<Uuid>,
    /// The page as one JSON object (`orders` and `nextCursor`).
    #[arg(long)]
    json: bool,
}

fn status(name: &str) -> Result<OrderStatus, String> {
    OrderStatus::parse(name).ok_or_else(|| {
        let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let query = HistoryQuery { user_id: args.user_id, status: args.status, limit: args.limit, before: args.before };
    let page = client.history(&query).await.context("listing orders")?;
    if args.json {
        super::print_json(&page)?;
    } else {
        super::print(render(&page, Style::detect()))?;
    }
    Ok(Exit::Done)
}

fn render(page: &HistoryPage, style: Style) -> Vec<String> {
    if page.orders.is_empty() {
        return vec!["no orders".to_owned()];
    }
    let mut table = Table::new(&[
        ("created", Align::Left),
        ("order", Align::Left),
        ("status", Align::Left),
        ("user", Align::Left),
        ("sold", Align::Left),
        ("bought", Align::Left),
        ("via", Align::Left),
    ]);
    for order in &page.orders {
        table.row(vec![
            Cell::ink(order.created_at.format("%Y-%m-%d %H:%M:%S").to_string(), Ink::Faint),
            Cell::new(order.order_id.to_string()),
            Cell::ink(order.status.as_str(), ink(order.status)),
            Cell::new(order.user_id.as_str()),
            Cell::new(amount(&order.amount_in, Some(&order.token_in))),
            bought(order),
            Cell::new(order.route.as_ref().map(|r| r.dex.as_str()).unwrap_or_default()),
        ]);
    }
    let mut lines = table.lines(style);
    if let Some(cursor) = page.next_cursor {
        lines.push(String::new());
        lines.push(style.paint(Ink::Faint, format!("more: oee orders --before {cursor} (with the same filters)")));
    }
    lines
}

/// What the order got, why it got nothing, or what it is waiting for.
fn bought(order: &Order) -> Cell {
    match (&order.amount_out, &order.error) {
        (Some(out), _) => Cell::new(amount(out, Some(&order.token_out))),
        (None, Some(error)) => Cell::ink(error.code.to_string(), Ink::Bad),
        (None, None) => Cell::new(format!("… {}", order.token_out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per order: what it sold, what it bought or why not, and where
    /// the next page starts.
    #[test]
    fn a_page_for_people() {
        let page: HistoryPage = serde_json::from_str(
            r#"{"orders":[
              {"orderId":"0193b0c4-0000-7000-8000-000000000002","userId":"alice","type":"market","tokenIn":"BONK",
               "tokenOut":"SOL","amountIn":"0.00001","slippageBps":50,"status":"failed","attempts":1,"route":null,
               "txHash":null,"executedPrice":null,"amountOut":null,
               "error":{"code":"INSUFFICIENT_LIQUIDITY","message":"too small"},
               "createdAt":"2026-11-21T10:00:01.000Z","updatedAt":"2026-11-21T10:00:01.100Z"},
              {"orderId":"0193b0c4-0000-7000-8000-000000000001","userId":"alice","type":"market","tokenIn":"SOL",
               "tokenOut":"USDC","amountIn":"1.5","slippageBps":50,"status":"confirmed","attempts":1,
               "route":{"dex":"meteora","legs":[],"quotes":[],"minAmountOut":"1","wrapSol":true,"unwrapSol":false,"reason":"r"},
               "txHash":"45ZB","executedPrice":"154.268078","amountOut":"231.402117","error":null,
               "createdAt":"2026-11-21T10:00:00.000Z","updatedAt":"2026-11-21T10:00:03.000Z"}],
             "nextCursor":"0193b0c4-0000-7000-8000-000000000001"}"#,
        )
        .expect("a page");
        assert_eq!(
            render(&page, Style::plain()),
            [
                "created              order                                 status     user   sold          bought                  via",
                "2026-11-21 10:00:01  0193b0c4-0000-7000-8000-000000000002  failed     alice  0.00001 BONK  INSUFFICIENT_LIQUIDITY",
                "2026-11-21 10:00:00  0193b0c4-0000-7000-8000-000000000001  confirmed  alice  1.5 SOL       231.402117 USDC         meteora",
                "",
                "more: oee orders --before 0193b0c4-0000-7000-8000-000000000001 (with the same filters)",
            ]
        );
        assert_eq!(status("pending"), Ok(OrderStatus::Pending));
        assert!(status("done").is_err_and(|e| e.contains("confirmed")));
    }
}
