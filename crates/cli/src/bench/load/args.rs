//! Command-line arguments of `oee-bench load`, and their checked form, [`Plan`].
//!
//! Values are parsed exactly where it matters: a rate and a follow share are
//! decimal strings turned into integers (orders per 1000 s, parts per million),
//! so the schedule and the sample never depend on float rounding.

use super::UsageError;
use super::orders::{OrderMix, PairSpec};
use super::schedule::{FollowShare, Rate};
use clap::ArgGroup;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// `POST /api/orders/execute`, each order then followed on its own socket.
    Http,
    /// The submit WebSocket: orders and their events share persistent sockets.
    Ws,
}

impl Transport {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Ws => "ws",
        }
    }
}

/// Load generator: submit orders, follow them, check every event stream, and
/// report throughput, errors and latency percentiles.
///
/// Open loop (`--rate`) sends on a fixed schedule whatever the engine answers and
/// measures latency from each order's scheduled time; closed loop
/// (`--concurrency`) keeps that many orders outstanding. A run is bounded by
/// `--count` and/or `--duration`, then drains for at most `--timeout`.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("model").required(true).args(["rate", "concurrency"])))]
#[command(group(ArgGroup::new("bound").required(true).multiple(true).args(["count", "duration"])))]
pub struct LoadArgs {
    /// API base URL; repeat or separate with commas. Orders go to them in turn;
    /// each order is followed on the next one.
    #[arg(long = "url", value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// The API key every request and socket presents (`Authorization: Bearer`).
    #[arg(long, env = "OEE_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// How orders are submitted.
    #[arg(long, value_enum, default_value_t = Transport::Http)]
    pub transport: Transport,
    /// Submit sockets held open with `--transport ws` (spread over the URLs).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// HTTP requests in flight at once, and so pooled keep-alive connections.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub http_connections: u32,
    /// Open loop: orders per second (up to 3 decimals), on a fixed schedule.
    #[arg(long, value_parser = Rate::parse)]
    pub rate: Option<Rate>,
    /// Closed loop: orders outstanding at once (until their terminal event when
    /// followed, else until accepted).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: Option<u32>,
    /// Orders to submit.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Seconds to submit for.
    #[arg(long, value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Seconds to wait for outstanding orders after the last submit; closed loop
    /// also gives up when no order finishes for this long.
    #[arg(long, default_value = "60", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Seconds at the start left out of latency and throughput figures (orders
    /// sent then are still checked for lost events).
    #[arg(long, default_value = "0", value_parser = parse_secs)]
    pub warmup: Duration,
    /// Which accepted orders to follow: `all`, `none`, or a share such as `0.1`.
    #[arg(long, default_value = "all", value_parser = FollowShare::parse)]
    pub follow: FollowShare,
    /// Token pairs, `IN/OUT[:AMOUNT]`, comma-separated; `mix` is every listed
    /// pair in both directions with a small amount. Orders rotate through them.
    #[arg(long, value_delimiter = ',', default_value = "mix", value_parser = PairSpec::parse)]
    pub pairs: Vec<PairSpec>,
    /// `slippageBps` of every order.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub slippage_bps: u32,
    /// `userId` of every order.
    #[arg(long, default_value = "bench")]
    pub user_id: String,
    /// Orders in flight at most (each may hold a follow socket); open loop waits
    /// for a free slot, and the wait counts in its latency.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_in_flight: u32,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the Markdown report here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Free text recorded in the reports.
    #[arg(long, default_value = "")]
    pub label: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Exit with 3 when any event was lost, duplicated or out of order, or a
    /// followed order never reached its terminal event.
    #[arg(long)]
    pub fail_on_loss: bool,
}

/// Seconds as a decimal, e.g. `10` or `2.5`.
fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=1e7).contains(&secs) {
        return Err(format!("{text:?} is not a number of seconds between 0 and 10^7"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// One API base URL, resolved once so sockets never wait on name lookup.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port` plus any path prefix, without a trailing slash.
    pub base: String,
    /// `POST` here to submit (parsed once: a request then only clones it).
    pub submit_url: reqwest::Url,
    /// `ws://host:port` plus the prefix.
    pub ws_base: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// `Bearer <key>`, when the run presents an API key.
    pub authorization: Option<reqwest::header::HeaderValue>,
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, UsageError> {
        let base = text.trim().trim_end_matches('/');
        let rest = base.strip_prefix("http://").ok_or_else(|| {
            UsageError(format!("--url {text:?}: only plain http:// base URLs are supported (the engine speaks no TLS)"))
        })?;
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        if authority.is_empty() {
            return Err(UsageError(format!("--url {text:?} has no host")));
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| UsageError(format!("--url {text:?}: cannot resolve {with_port}: {e}")))?
            .next()
            .ok_or_else(|| UsageError(format!("--url {text:?}: {with_port} resolves to nothing")))?;
        let submit_url = reqwest::Url::parse(&format!("{base}/api/orders/execute"))
            .map_err(|e| UsageError(format!("--url {text:?}: {e}")))?;
        Ok(Self {
            base: base.to_owned(),
            submit_url,
            ws_base: format!("ws://{authority}{path}"),
            addr,
            authorization: None,
        })
    }
}

/// How orders are paced.
#[derive(Debug, Clone, Copy)]
pub enum Model {
    Open(Rate),
    Closed(u32),
}

/// The checked arguments of one run.
#[derive(Debug)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub transport: Transport,
    pub connections: u32,
    pub http_connections: u32,
    pub model: Model,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub timeout: Duration,
    pub warmup: Duration,
    pub follow: FollowShare,
    pub mix: OrderMix,
    pub slippage_bps: u32,
    pub max_in_flight: u32,
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub label: String,
    pub quiet: bool,
    pub fail_on_loss: bool,
}

impl Plan {
    pub fn new(args: LoadArgs) -> Result<Self, UsageError> {
        let model = match (args.rate, args.concurrency) {
            (Some(rate), None) => Model::Open(rate),
            (None, Some(concurrency)) => Model::Closed(concurrency),
            _ => return Err(UsageError("give one of --rate (open loop) or --concurrency (closed loop)".into())),
        };
        if args.count.is_none() && args.duration.is_none() {
            return Err(UsageError("bound the run with --count and/or --duration".into()));
        }
        if let Some(duration) = args.duration {
            if duration.is_zero() {
                return Err(UsageError("--duration must be more than 0".into()));
            }
            if args.warmup >= duration {
                return Err(UsageError("--warmup must be shorter than --duration".into()));
            }
        }
        if args.timeout.is_zero() {
            return Err(UsageError("--timeout must be more than 0".into()));
        }
        if let Model::Closed(concurrency) = model
            && concurrency > args.max_in_flight
        {
            return Err(UsageError(format!(
                "--concurrency {concurrency} exceeds --max-in-flight {}",
                args.max_in_flight
            )));
        }
        let mut targets = args.urls.iter().map(|u| Target::parse(u)).collect::<Result<Vec<_>, _>>()?;
        if let Some(key) = &args.key {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| UsageError("--key holds characters a header cannot carry".into()))?;
            value.set_sensitive(true);
            for target in &mut targets {
                target.authorization = Some(value.clone());
            }
        }
        if targets.is_empty() {
            return Err(UsageError("give at least one --url".into()));
        }
        let mix = OrderMix::new(&args.pairs, args.slippage_bps, &args.user_id)?;
        Ok(Self {
            targets,
            transport: args.transport,
            connections: args.connections,
            http_connections: args.http_connections,
            model,
            count: args.count,
            duration: args.duration,
            timeout: args.timeout,
            warmup: args.warmup,
            follow: args.follow,
            mix,
            slippage_bps: args.slippage_bps,
            max_in_flight: args.max_in_flight,
            json: args.json,
            markdown: args.markdown,
            label: args.label,
            quiet: args.quiet,
            fail_on_loss: args.fail_on_loss,
        })
    }

    /// The `n`th URL in turn. Order `i` is submitted to URL `i` and followed
    /// on URL `i + 1` (then `i + 2`, … when its socket has to be reopened), so
    /// with several replicas every stream crosses from one to another. Submit
    /// socket `k` opens on URL `k`, and on `k + 1`, … when it breaks.
    pub fn target(&self, n: u64) -> &Target {
        let len = self.targets.len() as u64;
        let i = usize::try_from(n % len).unwrap_or(0);
        &self.targets[i]
    }

    /// Orders the run will submit at most, when known in advance.
    pub fn planned_orders(&self) -> Option<u64> {
        match self.model {
            Model::Open(rate) => {
                let by_duration = self.duration.map(|d| rate.orders_within(d));
                match (self.count, by_duration) {
                    (Some(c), Some(d)) => Some(c.min(d)),
                    (c, d) => c.or(d),
                }
            }
            Model::Closed(_) => self.count,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LoadArgs,
    }

    /// A plan from `oee-bench load` arguments (without the subcommand).
    pub(in super::super) fn parse_plan(args: &[&str]) -> Result<Plan, String> {
        let parsed = Wrapper::try_parse_from(std::iter::once("load").chain(args.iter().copied()))
            .map_err(|e| e.kind().to_string())?;
        Plan::new(parsed.args).map_err(|e| e.0)
    }

    fn plan(args: &[&str]) -> Result<Plan, String> {
        parse_plan(args)
    }

    #[test]
    fn needs_a_model_and_a_bound() {
        assert!(plan(&["--count", "10"]).is_err());
        assert!(plan(&["--rate", "10"]).is_err());
        assert!(plan(&["--rate", "10", "--concurrency", "3", "--count", "1"]).is_err());
        assert!(plan(&["--rate", "10", "--count", "5"]).is_ok());
        assert!(plan(&["--concurrency", "4", "--duration", "2.5"]).is_ok());
    }

    #[test]
    fn rejects_a_warmup_longer_than_the_run_and_bad_urls() {
        assert!(plan(&["--rate", "10", "--duration", "5", "--warmup", "5"]).is_err());
        assert!(plan(&["--rate", "10", "--count", "5", "--url", "https://127.0.0.1:1"]).is_err());
        assert!(plan(&["--rate", "10", "--count", "5", "--url", "http://"]).is_err());
    }

    #[test]
    fn urls_repeat_or_split_on_commas_and_rotate() {
        let p = plan(&[
            "--rate",
            "1",
            "--count",
            "1",
            "--url",
            "http://127.0.0.1:8081/,http://127.0.0.1:8082",
            "--url",
            "http://127.0.0.1:8083",
        ])
        .expect("valid");
        let bases: Vec<&str> = p.targets.iter().map(|t| t.base.as_str()).collect();
        assert_eq!(bases, ["http://127.0.0.1:8081", "http://127.0.0.1:8082", "http://127.0.0.1:8083"]);
        assert_eq!(p.targets[0].submit_url.as_str(), "http://127.0.0.1:8081/api/orders/execute");
        assert_eq!(p.targets[1].ws_base, "ws://127.0.0.1:8082");
        assert_eq!(p.target(4).base, "http://127.0.0.1:8082");
        assert_eq!(p.target(5).base, "http://127.0.0.1:8083");
        assert_eq!(p.target(6).base, "http://127.0.0.1:8081");
    }

    #[test]
    fn planned_orders_is_the_tighter_bound() {
        let p = plan(&["--rate", "200", "--duration", "10", "--count", "5000"]).expect("valid");
        assert_eq!(p.planned_orders(), Some(2000));
        let p = plan(&["--rate", "200", "--duration", "10", "--count", "50"]).expect("valid");
        assert_eq!(p.planned_orders(), Some(50));
        let p = plan(&["--concurrency", "8", "--duration", "10"]).expect("valid");
        assert_eq!(p.planned_orders(), None);
    }
}
