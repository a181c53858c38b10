//! `oee launch PEPE --decimals 6 --quote SOL --venue raydium --base 1000000000
//! --quote-amount 500`: list a new token on the simulated chain with one pool
//! (an admin key), which sniper orders for it may fire on.

use crate::exit::Exit;
use crate::style::{Ink, Style};
use crate::table::fields;
use crate::timeline::amount;
use anyhow::Context;
use chrono::{DateTime, Utc};
use oee_client::{Client, LaunchRequest, Launched};
use oee_domain::Dex;

/// Launch a token on the simulated chain: list it with one pool (an admin key).
///
/// Example: `oee launch PEPE --decimals 6 --quote SOL --venue raydium --base 1000000000 --quote-amount 500`
/// prices PEPE at 0.0000005 SOL. A symbol or mint already listed is refused
/// with TOKEN_EXISTS (exit code 4).
#[derive(clap::Args)]
#[command(after_help = crate::exit::TABLE)]
pub struct Args {
    /// The new token's symbol: 1–16 letters or digits.
    symbol: String,
    /// How many decimals its amounts have, 0 to 18.
    #[arg(long, value_name = "N")]
    decimals: u8,
    /// The listed token the pool pairs it with (symbol or mint).
    #[arg(long, value_name = "TOKEN")]
    quote: String,
    /// The venue whose pool it gets: raydium or meteora.
    #[arg(long, value_parser = venue)]
    venue: Dex,
    /// How much of the new token the pool starts with.
    #[arg(long, value_name = "AMOUNT")]
    base: String,
    /// How much of the quote token the pool starts with.
    #[arg(long, value_name = "AMOUNT")]
    quote_amount: String,
    /// The new token's mint (base58); a fresh one when absent.
    #[arg(long, value_name = "M")]
    mint: Option<String>,
    /// When the pool starts trading: an RFC 3339 time or a delay (`+30s`); at once when absent.
    #[arg(long, value_name = "T", value_parser = crate::time_arg::at)]
    open_at: Option<DateTime<Utc>>,
    /// The engine's reply as one JSON object.
    #[arg(long)]
    json: bool,
}

fn venue(name: &str) -> Result<Dex, String> {
    Dex::ALL.into_iter().find(|dex| dex.as_str().eq_ignore_ascii_case(name)).ok_or_else(|| {
        let names: Vec<&str> = Dex::ALL.iter().map(|dex| dex.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

impl Args {
    fn request(&self) -> LaunchRequest {
        let mut launch =
            LaunchRequest::new(&self.symbol, self.decimals, &self.quote, self.venue, &self.base, &self.quote_amount);
        launch.mint.clone_from(&self.mint);
        launch.open_at = self.open_at;
        launch
    }
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let request = args.request();
    let launched = client.launch(&request).await.with_context(|| format!("launching {}", args.symbol))?;
    if args.json {
        super::print_json(&launched)?;
    } else {
        super::print(render(&request, &launched, Style::detect()))?;
    }
    Ok(Exit::Done)
}

/// The launch for people.
///
/// ```text
/// PEPE launched on raydium with 1000000000 PEPE and 500 SOL
/// mint   7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr
/// pool   …
/// slot   12
/// opens  at once
/// ```
fn render(request: &LaunchRequest, launched: &Launched, style: Style) -> Vec<String> {
    let symbol = launched.symbol.as_str();
    let quote = crate::timeline::symbol_case(&request.quote_token);
    let mut lines = vec![format!(
        "{} on {} with {} and {}",
        style.paint(Ink::Strong, format!("{symbol} launched")),
        request.venue,
        amount(&request.base_amount, Some(symbol)),
        amount(&request.quote_amount, Some(&quote)),
    )];
    let opens = request.open_at.map_or_else(|| "at once".to_owned(), oee_domain::format_time);
    lines.extend(fields(vec![
        ("mint", launched.mint.clone()),
        ("pool", launched.pool.clone()),
        ("slot", launched.slot.to_string()),
        ("opens", opens),
    ]));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reply reads as what now exists, with what the pool holds.
    #[test]
    fn a_launch_for_people() {
        let request = LaunchRequest::new("pepe", 6, "sol", Dex::Raydium, "1000000000", "500");
        let launched = Launched {
            symbol: "PEPE".into(),
            mint: "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr".into(),
            pool: "raydium-pool".into(),
            slot: 12,
        };
        assert_eq!(
            render(&request, &launched, Style::plain()),
            [
                "PEPE launched on raydium with 1000000000 PEPE and 500 SOL",
                "mint   7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr",
                "pool   raydium-pool",
                "slot   12",
                "opens  at once",
            ]
        );
        assert_eq!(venue("Meteora"), Ok(Dex::Meteora));
        assert!(venue("orca").is_err_and(|e| e.contains("raydium, meteora")));
    }
}
