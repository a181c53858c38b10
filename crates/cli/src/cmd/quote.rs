//! `oee quote 1.5 SOL USDC`: the route the engine would take now, without
//! placing anything: both venues' quotes side by side, the legs, what the
//! order would get and the least it would accept.

use crate::exit::Exit;
use crate::slippage::Slippage;
use crate::style::{Ink, Style};
use crate::table::{Align, Cell, Table, fields};
use crate::timeline::{amount, percent};
use anyhow::Context;
use oee_client::{Client, Quote, QuoteRequest};

/// Show the route the engine would take for an order, and every venue's quote.
///
/// Example: `oee quote 1.5 SOL USDC --slippage 0.5%`. Nothing is stored.
#[derive(clap::Args)]
pub struct Args {
    /// How much to sell, exact decimal text in token units (`1.5`).
    amount: String,
    /// The token sold: a symbol (any case) or a mint.
    token_in: String,
    /// The token bought: a symbol (any case) or a mint.
    token_out: String,
    /// Tolerated slippage, for the minimum received: `0.5%` or `50bps`.
    #[arg(long, conflicts_with = "slippage_bps")]
    slippage: Option<Slippage>,
    /// Tolerated slippage in basis points (50 = 0.5%).
    #[arg(long)]
    slippage_bps: Option<u32>,
    /// The engine's answer as one JSON object.
    #[arg(long)]
    json: bool,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let mut request = QuoteRequest::new(args.token_in, args.token_out, args.amount);
    request.slippage_bps = args.slippage.map(Slippage::bps).or(args.slippage_bps);
    let quote = client.quote(&request).await.context("quoting")?;
    if args.json {
        super::print_json(&quote)?;
    } else {
        super::print(render(&quote, request.slippage_bps, Style::detect()))?;
    }
    Ok(Exit::Done)
}

/// The quote for people.
///
/// ```text
/// 1.5 SOL → USDC at slot 812
///
///   venue    amount out (USDC)  fee (SOL)  impact  price
/// * meteora         231.402117      0.003   2 bps  154.268078
///   raydium         229.118342    0.00375   3 bps  152.745561
///
/// route         meteora: meteora returns 1.00% more USDC than raydium
/// expected out  231.402117 USDC
/// minimum out   230.245106 USDC (slippage 50 bps)
/// price impact  2 bps
/// ```
fn render(quote: &Quote, slippage_bps: Option<u32>, style: Style) -> Vec<String> {
    let (token_in, token_out) = (quote.token_in.as_str(), quote.token_out.as_str());
    let route = &quote.route;
    let mut lines = vec![
        format!(
            "{} {}",
            style.paint(Ink::Strong, format!("{} {token_in} → {token_out}", quote.amount_in)),
            style.paint(Ink::Faint, format!("at slot {}", quote.slot))
        ),
        String::new(),
    ];

    let (out_heading, fee_heading) = (format!("amount out ({token_out})"), format!("fee ({token_in})"));
    let mut venues = Table::new(&[
        ("", Align::Left),
        ("venue", Align::Left),
        (&out_heading, Align::Right),
        (&fee_heading, Align::Right),
        ("impact", Align::Right),
        ("price", Align::Left),
    ]);
    for venue in &route.quotes {
        let used = route.legs.iter().any(|leg| leg.dex == venue.dex);
        venues.row(vec![
            if used { Cell::ink("*", Ink::Good) } else { Cell::new("") },
            Cell::new(venue.dex.as_str()),
            if used { Cell::ink(venue.amount_out.as_str(), Ink::Strong) } else { Cell::new(venue.amount_out.as_str()) },
            Cell::new(venue.fee.as_str()),
            Cell::new(format!("{} bps", venue.price_impact_bps)),
            Cell::new(venue.price.as_str()),
        ]);
    }
    lines.extend(venues.lines(style));
    lines.push(String::new());

    let mut summary = vec![("route", format!("{}: {}", route.dex, route.reason))];
    if route.legs.len() > 1 {
        for leg in &route.legs {
            let leg_text = format!(
                "{} {}: {} → {}",
                leg.dex,
                percent(leg.share_bps),
                amount(&leg.amount_in, Some(token_in)),
                amount(&leg.amount_out, Some(token_out))
            );
            summary.push(("leg", leg_text));
        }
    }
    summary.push(("expected out", style.paint(Ink::Good, amount(&quote.amount_out, Some(token_out)))));
    let slippage = crate::slippage::describe(slippage_bps);
    summary.push(("minimum out", format!("{} ({slippage})", amount(&quote.min_amount_out, Some(token_out)))));
    summary.push(("price impact", format!("{} bps", quote.price_impact_bps)));
    if let Some(price) = &quote.price {
        summary.push(("price", format!("{price} {token_out} per {token_in}")));
    }
    match (route.wrap_sol, route.unwrap_sol) {
        (true, _) => summary.push(("native SOL", "wrapped before the swap".to_owned())),
        (_, true) => summary.push(("native SOL", "unwrapped after the swap".to_owned())),
        _ => {}
    }
    lines.extend(fields(summary));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both venues side by side, the one used marked, and the figures that
    /// matter below.
    #[test]
    fn a_quote_for_people() {
        let quote: Quote = serde_json::from_str(
            r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","amountOut":"231.402117","minAmountOut":"230.245106",
            "priceImpactBps":2,"slot":812,"price":"154.268078",
            "route":{"dex":"meteora",
                "legs":[{"dex":"meteora","amountIn":"1.5","amountOut":"231.402117","shareBps":10000}],
                "quotes":[{"dex":"raydium","amountOut":"229.118342","fee":"0.00375","priceImpactBps":3,"price":"152.745561"},
                          {"dex":"meteora","amountOut":"231.402117","fee":"0.003","priceImpactBps":2,"price":"154.268078"}],
                "minAmountOut":"230.245106","wrapSol":true,"unwrapSol":false,
                "reason":"meteora returns 1.00% more USDC than raydium"}}"#,
        )
        .expect("a quote");
        assert_eq!(
            render(&quote, Some(50), Style::plain()),
            [
                "1.5 SOL → USDC at slot 812",
                "",
                "   venue    amount out (USDC)  fee (SOL)  impact  price",
                "   raydium         229.118342    0.00375   3 bps  152.745561",
                "*  meteora         231.402117      0.003   2 bps  154.268078",
                "",
                "route         meteora: meteora returns 1.00% more USDC than raydium",
                "expected out  231.402117 USDC",
                "minimum out   230.245106 USDC (slippage 50 bps)",
                "price impact  2 bps",
                "price         154.268078 USDC per SOL",
                "native SOL    wrapped before the swap",
            ]
        );
    }
}
