//! Command-line arguments of `oee-bench triggers`.

use oee_domain::Dex;
use std::path::PathBuf;

/// Limit orders fired by outside trades: how long from a price move to the
/// orders it crosses being triggered, and how fast a crowd of triggered
/// orders runs through to `confirmed`.
///
/// Places limit orders selling `--amount` of `--token-in` for `--token-out`
/// just beyond the market (over the submit socket, which streams their
/// events back), then moves the price towards them with outside trades
/// (`POST /api/admin/sim/trades`, selling `--token-out` on `--venue`, which
/// must be the venue the orders would fill on). First `--moves` trades that
/// each cross about `--per-move` orders (one trade at a time, each awaited
/// until its orders end), then one trade that crosses a band of `--band`
/// orders at once.
#[derive(Debug, clap::Args)]
pub struct TriggersArgs {
    /// API base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The key the orders are placed with (`trade` scope).
    #[arg(long, env = "OEE_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// The key of the outside trades (`admin` scope).
    #[arg(long, env = "OEE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// What the limit orders sell.
    #[arg(long, default_value = "USDC")]
    pub token_in: String,
    /// What the limit orders buy (and the outside trades sell).
    #[arg(long, default_value = "SOL")]
    pub token_out: String,
    /// Each limit order's amount, in `--token-in` units.
    #[arg(long, default_value = "10")]
    pub amount: String,
    /// The venue the outside trades land on.
    #[arg(long, default_value = "raydium", value_parser = parse_venue)]
    pub venue: Dex,
    /// One small outside trade, in `--token-out` units: the price step between
    /// two levels of orders is what one such trade moves.
    #[arg(long, default_value = "20")]
    pub step: String,
    /// Trades that each cross one level of orders.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub moves: u32,
    /// Orders per level.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub per_move: u32,
    /// Orders in the band one trade crosses at once (0: no band).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub band: u32,
    /// Prefix of the orders' `userId` (`<prefix>-moves`, `<prefix>-band`), so
    /// that they can be found in the database afterwards.
    #[arg(long, default_value = "triggers")]
    pub user: String,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Free text recorded in the report.
    #[arg(long, default_value = "")]
    pub label: String,
}

fn parse_venue(text: &str) -> Result<Dex, String> {
    Dex::ALL
        .into_iter()
        .find(|d| d.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not a venue (raydium, meteora)"))
}
