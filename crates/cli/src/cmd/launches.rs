//! `oee launches`: the tokens launched on the simulated chain, oldest first.

use crate::exit::Exit;
use crate::style::{Ink, Style};
use crate::table::{Align, Cell, Table};
use anyhow::Context;
use oee_client::{Client, Launch};

/// List the tokens launched on the simulated chain, oldest first, with their pools.
#[derive(clap::Args)]
pub struct Args {
    /// The launches as one JSON object (`launches`), as the engine lists them.
    #[arg(long)]
    json: bool,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let launches = client.launches().await.context("listing launches")?;
    if args.json {
        super::print_json(&serde_json::json!({ "launches": launches }))?;
    } else {
        super::print(render(&launches, Style::detect()))?;
    }
    Ok(Exit::Done)
}

fn render(launches: &[Launch], style: Style) -> Vec<String> {
    if launches.is_empty() {
        return vec!["no launches".to_owned()];
    }
    let mut table = Table::new(&[
        ("launched", Align::Left),
        ("symbol", Align::Left),
        ("pair", Align::Left),
        ("venue", Align::Left),
        ("slot", Align::Right),
        ("opens", Align::Left),
        ("mint", Align::Left),
        ("pool", Align::Left),
    ]);
    for launch in launches {
        table.row(vec![
            Cell::ink(launch.launched_at.format("%Y-%m-%d %H:%M:%S").to_string(), Ink::Faint),
            Cell::ink(launch.symbol.as_str(), Ink::Strong),
            Cell::new(format!("{}/{}", launch.symbol, launch.quote_token)),
            Cell::new(launch.venue.map(|v| v.as_str()).unwrap_or("?")),
            Cell::new(launch.slot.to_string()),
            Cell::new(
                launch.open_at.map_or_else(|| "at once".to_owned(), |at| at.format("%Y-%m-%d %H:%M:%S").to_string()),
            ),
            Cell::new(launch.mint.as_str()),
            Cell::new(launch.pool.as_str()),
        ]);
    }
    table.lines(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per launch: when, what it pairs with where, when its pool opens.
    #[test]
    fn launches_for_people() {
        let launches: Vec<Launch> = serde_json::from_str(
            r#"[{"symbol":"PEPE","mint":"7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr","decimals":6,"quoteToken":"SOL",
                "venue":"raydium","pool":"p1","slot":12,"openAt":null,"launchedAt":"2026-11-21T10:00:00.123Z"},
               {"symbol":"WIF","mint":"8GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr","decimals":9,"quoteToken":"USDC",
                "venue":"meteora","pool":"p2","slot":140,"openAt":"2026-11-21T10:05:00.000Z",
                "launchedAt":"2026-11-21T10:01:00.000Z"}]"#,
        )
        .expect("launches");
        assert_eq!(
            render(&launches, Style::plain()),
            [
                "launched             symbol  pair      venue    slot  opens                mint                                          pool",
                "2026-11-21 10:00:00  PEPE    PEPE/SOL  raydium    12  at once              7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr  p1",
                "2026-11-21 10:01:00  WIF     WIF/USDC  meteora   140  2026-11-21 10:05:00  8GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr  p2",
            ]
        );
        assert_eq!(render(&[], Style::plain()), ["no launches"]);
    }
}
