//! `oee tokens`: what the engine trades: its tokens, and the pairs each
//! venue lists.

use crate::exit::Exit;
use crate::style::Style;
use crate::table::{Align, Cell, Table};
use anyhow::Context;
use oee_client::{Client, TokenList};

/// List the tokens the engine knows and the pairs each venue lists.
#[derive(clap::Args)]
pub struct Args {
    /// The engine's answer as one JSON object.
    #[arg(long)]
    json: bool,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let list = client.tokens().await.context("listing tokens")?;
    if args.json {
        super::print_json(&list)?;
    } else {
        super::print(render(&list, Style::detect()))?;
    }
    Ok(Exit::Done)
}

/// The tokens, then the pairs; a pair listed both ways on the same venues
/// is one `⇄` line.
fn render(list: &TokenList, style: Style) -> Vec<String> {
    let mut tokens = Table::new(&[("symbol", Align::Left), ("decimals", Align::Right), ("mint", Align::Left)]);
    for token in &list.tokens {
        tokens.row(vec![token.symbol.as_str().into(), token.decimals.to_string().into(), token.mint.as_str().into()]);
    }
    let mut pairs = Table::new(&[("pair", Align::Left), ("venues", Align::Left)]);
    for (n, pair) in list.pairs.iter().enumerate() {
        let reverse = list.pairs.iter().position(|other| {
            other.token_in == pair.token_out && other.token_out == pair.token_in && other.venues == pair.venues
        });
        let arrow = match reverse {
            Some(r) if r < n => continue,
            Some(_) => "⇄",
            None => "→",
        };
        let venues: Vec<&str> = pair.venues.iter().map(|v| v.as_str()).collect();
        pairs.row(vec![Cell::new(format!("{} {arrow} {}", pair.token_in, pair.token_out)), venues.join(", ").into()]);
    }
    let mut lines = tokens.lines(style);
    lines.push(String::new());
    lines.extend(pairs.lines(style));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pair listed both ways on the same venues is shown once.
    #[test]
    fn pairs_both_ways_fold_into_one_line() {
        let list: TokenList = serde_json::from_str(
            r#"{"tokens":[{"symbol":"SOL","mint":"So11111111111111111111111111111111111111112","decimals":9},
                          {"symbol":"USDC","mint":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","decimals":6}],
                "pairs":[{"tokenIn":"SOL","tokenOut":"USDC","venues":["meteora","raydium"]},
                         {"tokenIn":"USDC","tokenOut":"SOL","venues":["meteora","raydium"]},
                         {"tokenIn":"BONK","tokenOut":"SOL","venues":["raydium"]}]}"#,
        )
        .expect("a list");
        assert_eq!(
            render(&list, Style::plain()),
            [
                "symbol  decimals  mint",
                "SOL            9  So11111111111111111111111111111111111111112",
                "USDC           6  EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                "",
                "pair        venues",
                "SOL ⇄ USDC  meteora, raydium",
                "BONK → SOL  raydium",
            ]
        );
    }
}
