//! Command-line arguments of `oee-bench quotes`, and the requests they make.

use crate::load::UsageError;
use crate::load::orders::{LISTED_PAIRS, PairSpec, small_amount};
use oee_domain::{format_units, parse_units};
use std::path::PathBuf;
use std::time::Duration;

/// What each request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Endpoint {
    /// `GET /api/quote?tokenIn=&tokenOut=&amountIn=&slippageBps=`: a route search each.
    Quote,
    /// `GET /api/tokens`: the same HTTP, key and JSON path without a route
    /// search, as a reference in the same run.
    Tokens,
}

impl Endpoint {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Quote => "quote",
            Self::Tokens => "tokens",
        }
    }
}

/// Quote load: `--connections` clients each ask for a quote, wait for the
/// answer and ask for the next (closed loop), for `--duration`; pairs and
/// amounts vary from one request to the next, as they do while a trader types.
/// Reports quotes per second and latency percentiles.
#[derive(Debug, clap::Args)]
pub struct QuotesArgs {
    /// API base URL; repeat or separate with commas. Requests go to them in turn.
    #[arg(long = "url", value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// The API key every request presents (`Authorization: Bearer`).
    #[arg(long, env = "OEE_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Requests in flight at once, each on its own keep-alive connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Seconds to run for.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    pub duration: Duration,
    /// Seconds at the start left out of the figures.
    #[arg(long, default_value = "1", value_parser = parse_secs)]
    pub warmup: Duration,
    /// Token pairs, `IN/OUT[:AMOUNT]`, comma-separated; `mix` is every listed
    /// pair in both directions. Each amount is scaled by 1 to 200,000 in turn.
    #[arg(long, value_delimiter = ',', default_value = "mix", value_parser = PairSpec::parse)]
    pub pairs: Vec<PairSpec>,
    /// `slippageBps` of every quote.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub slippage_bps: u32,
    /// What to ask for.
    #[arg(long, value_enum, default_value_t = Endpoint::Quote)]
    pub endpoint: Endpoint,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Free text recorded in the report.
    #[arg(long, default_value = "")]
    pub label: String,
}

/// Seconds as a decimal, e.g. `10` or `2.5`.
fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=1e7).contains(&secs) {
        return Err(format!("{text:?} is not a number of seconds between 0 and 10^7"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// How much each pair's amount is multiplied by, request after request: from a
/// dollar or two up to routes that split.
const SCALES: [u64; 8] = [1, 3, 10, 50, 300, 2_000, 20_000, 200_000];

/// Decimals the amounts are scaled at (the small amounts have at most two).
const SCALE_DECIMALS: u8 = 4;

/// The request URLs a run rotates through, built once.
#[derive(Debug)]
pub struct Requests {
    urls: Vec<reqwest::Url>,
}

impl Requests {
    /// Every base URL × every pair × every scale (or each base URL's token list).
    pub fn new(args: &QuotesArgs) -> Result<Self, UsageError> {
        let bases: Vec<&str> = args.urls.iter().map(|u| u.trim().trim_end_matches('/')).collect();
        if bases.is_empty() {
            return Err(UsageError("give at least one --url".into()));
        }
        if args.endpoint == Endpoint::Tokens {
            let urls = bases
                .iter()
                .map(|base| {
                    reqwest::Url::parse(&format!("{base}/api/tokens"))
                        .map_err(|e| UsageError(format!("--url {base:?}: {e}")))
                })
                .collect::<Result<_, _>>()?;
            return Ok(Self { urls });
        }
        let mut queries = Vec::new();
        for spec in &args.pairs {
            match spec {
                PairSpec::Mix => {
                    for &(base, quote) in LISTED_PAIRS {
                        for (token_in, token_out) in [(base, quote), (quote, base)] {
                            queries.push((token_in.to_owned(), token_out.to_owned(), small_amount(token_in)));
                        }
                    }
                }
                PairSpec::Pair { token_in, token_out, amount } => {
                    let amount = amount.as_deref().or_else(|| small_amount(token_in));
                    queries.push((token_in.clone(), token_out.clone(), amount));
                }
            }
        }
        let mut urls = Vec::new();
        for scale in SCALES {
            for (token_in, token_out, amount) in &queries {
                let amount = amount.ok_or_else(|| {
                    UsageError(format!(
                        "--pairs: no default amount for {token_in}; give one, e.g. {token_in}/{token_out}:1"
                    ))
                })?;
                let atoms = parse_units(amount, SCALE_DECIMALS)
                    .map_err(|e| UsageError(format!("--pairs: amount {amount:?} {e} (at most 4 decimals)")))?;
                let scaled = format_units(u128::from(atoms) * u128::from(scale), SCALE_DECIMALS);
                for base in &bases {
                    let path = format!(
                        "{base}/api/quote?tokenIn={token_in}&tokenOut={token_out}&amountIn={scaled}&slippageBps={}",
                        args.slippage_bps
                    );
                    urls.push(reqwest::Url::parse(&path).map_err(|e| UsageError(format!("--url {base:?}: {e}")))?);
                }
            }
        }
        if urls.is_empty() {
            return Err(UsageError("--pairs names no pair".into()));
        }
        Ok(Self { urls })
    }

    /// The URL of request `n`.
    pub fn url(&self, n: u64) -> &reqwest::Url {
        &self.urls[usize::try_from(n % self.urls.len() as u64).unwrap_or(0)]
    }

    /// How many different requests the run rotates through.
    pub fn distinct(&self) -> usize {
        self.urls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: QuotesArgs,
    }

    fn requests(args: &[&str]) -> Result<Requests, String> {
        let parsed = Wrapper::try_parse_from(std::iter::once("quotes").chain(args.iter().copied()))
            .map_err(|e| e.kind().to_string())?;
        Requests::new(&parsed.args).map_err(|e| e.0)
    }

    /// The default mix asks every listed pair both ways at every scale, the
    /// amounts scaled exactly.
    #[test]
    fn the_mix_varies_pairs_and_amounts() {
        let r = requests(&[]).expect("valid");
        assert_eq!(r.distinct(), 12 * SCALES.len());
        assert_eq!(
            r.url(0).as_str(),
            "http://127.0.0.1:8080/api/quote?tokenIn=SOL&tokenOut=USDC&amountIn=0.01&slippageBps=50"
        );
        assert_eq!(r.url(13).query(), Some("tokenIn=USDC&tokenOut=SOL&amountIn=3&slippageBps=50"));
        assert!(r.url(12 * 7).as_str().contains("amountIn=2000&"), "0.01 SOL x 200,000: {}", r.url(12 * 7));
        let r = requests(&["--pairs", "SOL/USDC:0.0001", "--endpoint", "tokens"]).expect("valid");
        assert_eq!((r.distinct(), r.url(3).as_str()), (1, "http://127.0.0.1:8080/api/tokens"));
        assert!(requests(&["--pairs", "SOL/USDC:0.00001"]).is_err(), "more decimals than the scaling keeps");
    }
}
