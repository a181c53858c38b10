//! `oee-bench quotes`: how many quotes an API answers, and how fast.
//!
//! A closed loop: each of `--connections` clients sends `GET /api/quote`, waits
//! for the answer, and sends the next, on its own keep-alive connection, for
//! `--duration`. Requests rotate through every pair and a range of amounts (see
//! [`args::Requests`]), so the route search meets single venues and splits
//! alike. Latency is from send to the whole body read, in an HDR histogram at
//! microsecond resolution; requests sent during `--warmup` are left out.
//! Anything but a 200 counts as an error, by status and code.
//!
//! `--endpoint tokens` asks for the token list instead: the same HTTP, key and
//! JSON without a route search, a reference measured the same way.

mod args;

pub use args::QuotesArgs;

use args::Requests;
use hdrhistogram::Histogram;
use oee_client::frame::Frame;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one client saw.
#[derive(Debug)]
struct Tally {
    /// Microseconds per answered 200, after the warm-up.
    latency: Histogram<u64>,
    ok: u64,
    /// `HTTP 503 UNAVAILABLE`, `transport: …` → count (after the warm-up).
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid"),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }

    fn add(&mut self, other: &Self) {
        self.latency.add(&other.latency).expect("histograms with the same bounds add");
        self.ok += other.ok;
        for (key, n) in &other.errors {
            *self.errors.entry(key.clone()).or_default() += n;
        }
    }
}

pub async fn run(args: QuotesArgs) -> anyhow::Result<()> {
    let requests = Arc::new(Requests::new(&args)?);
    if args.warmup >= args.duration {
        return Err(crate::load::UsageError("--warmup must be shorter than --duration".into()).into());
    }
    let authorization = match &args.key {
        Some(key) => {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| crate::load::UsageError("--key holds characters a header cannot carry".into()))?;
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(args.connections).unwrap_or(usize::MAX))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (measure_from, end) = (started + args.warmup, started + args.duration);
    let clients: Vec<_> = (0..args.connections)
        .map(|_| {
            let (http, requests, next, authorization) =
                (http.clone(), requests.clone(), next.clone(), authorization.clone());
            tokio::spawn(async move {
                let mut tally = Tally::new();
                while Instant::now() < end {
                    let url = requests.url(next.fetch_add(1, Ordering::Relaxed)).clone();
                    let mut request = http.get(url);
                    if let Some(value) = &authorization {
                        request = request.header(reqwest::header::AUTHORIZATION, value.clone());
                    }
                    let sent = Instant::now();
                    let outcome = async {
                        let response = request.send().await?;
                        let status = response.status();
                        Ok::<_, reqwest::Error>((status, response.bytes().await?))
                    }
                    .await;
                    if sent < measure_from {
                        continue;
                    }
                    match outcome {
                        Ok((status, _)) if status.is_success() => {
                            tally.ok += 1;
                            let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                            tally.latency.saturating_record(micros.max(1));
                        }
                        Ok((status, body)) => {
                            let code =
                                Frame::parse_bytes(&body).and_then(|f| f.rejection()).map_or("-", |c| c.as_str());
                            *tally.errors.entry(format!("HTTP {} {code}", status.as_u16())).or_default() += 1;
                        }
                        Err(e) => {
                            *tally
                                .errors
                                .entry(format!("transport: {}", oee_client::TransportKind::of(&e)))
                                .or_default() += 1
                        }
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::new();
    for client in clients {
        total.add(&client.await?);
    }
    let window = measure_from.elapsed();
    let report = Report::new(&args, &total, window, requests.distinct());
    print!("{}", report.text());
    if let Some(path) = &args.json {
        std::fs::write(path, report.json() + "\n")
            .map_err(|e| anyhow::anyhow!("writing the JSON report to {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The figures of a run.
#[derive(Debug)]
struct Report {
    label: String,
    command: String,
    endpoint: &'static str,
    connections: u32,
    /// Different requests rotated through.
    distinct: usize,
    window: Duration,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// p50, p90, p99, max, in milliseconds (`None` without a single answer).
    latency_ms: Option<[f64; 4]>,
}

impl Report {
    fn new(args: &QuotesArgs, total: &Tally, window: Duration, distinct: usize) -> Self {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        let h = &total.latency;
        Self {
            label: args.label.clone(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            endpoint: args.endpoint.name(),
            connections: args.connections,
            distinct,
            window,
            ok: total.ok,
            errors: total.errors.clone(),
            latency_ms: (total.ok > 0).then(|| {
                [ms(h.value_at_quantile(0.5)), ms(h.value_at_quantile(0.9)), ms(h.value_at_quantile(0.99)), ms(h.max())]
            }),
        }
    }

    fn per_sec(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64().max(f64::EPSILON)
    }

    fn text(&self) -> String {
        let mut out = format!(
            "{} GET /api/{} answered 200 over {:.1} s with {} connections ({} distinct request{} in turn): {:.0}/s\n",
            self.ok,
            self.endpoint,
            self.window.as_secs_f64(),
            self.connections,
            self.distinct,
            if self.distinct == 1 { "" } else { "s" },
            self.per_sec()
        );
        if let Some([p50, p90, p99, max]) = self.latency_ms {
            out += &format!("latency ms: p50 {p50:.2}, p90 {p90:.2}, p99 {p99:.2}, max {max:.2}\n");
        }
        for (key, n) in &self.errors {
            out += &format!("error {key}: {n}\n");
        }
        out
    }

    fn json(&self) -> String {
        let latency = self
            .latency_ms
            .map(|[p50, p90, p99, max]| serde_json::json!({"p50": p50, "p90": p90, "p99": p99, "max": max}));
        serde_json::json!({
            "label": self.label,
            "command": self.command,
            "endpoint": self.endpoint,
            "connections": self.connections,
            "distinctRequests": self.distinct,
            "windowSecs": self.window.as_secs_f64(),
            "answered": self.ok,
            "perSec": self.per_sec(),
            "errors": self.errors,
            "latencyMs": latency,
        })
        .to_string()
    }
}
