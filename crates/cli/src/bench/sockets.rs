//! `oee-bench sockets`: the cost of idle sockets and the delivery delay.
//!
//! `oee-bench sockets --api-pid PID --count 10000 --rate 1000 --seconds 20` opens
//! `count` idle submit sockets to one API process and reports its memory per
//! socket and CPU at rest (from /proc), then submits orders at `rate` per second
//! for `seconds`, follows each on a WebSocket, and reports the delay from an
//! event's `at` (stamped by the worker as it records it) to its arrival here.

use anyhow::{Context, bail};
use oee_client::{Client, OrderRequest};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct SocketsArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The API process to measure (its /proc entry).
    #[arg(long)]
    api_pid: u32,
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Orders submitted per second while the sockets are open.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

/// CPU seconds used so far (user + system), from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("bad stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields.get(11).context("utime")?.parse::<u64>()? + fields.get(12).context("stime")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// The value at `pct` percent of a sorted sample (nearest rank, rounded down).
pub(crate) fn percentile(sorted: &[f64], pct: usize) -> f64 {
    sorted.get((sorted.len().saturating_sub(1)) * pct.min(100) / 100).copied().unwrap_or(f64::NAN)
}

pub async fn run(args: SocketsArgs) -> anyhow::Result<()> {
    let SocketsArgs { url, api_pid, count, rate, seconds } = args;
    let client = Client::new(&url)?;
    let before = rss_kib(api_pid)?;
    let mut idle = Vec::with_capacity(count);
    let opened = Instant::now();
    for n in 0..count {
        let socket = client.submit_socket().await.with_context(|| format!("socket {n}"))?;
        idle.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(api_pid)?;
    println!("opened {count} sockets in {:.1} s", opened.elapsed().as_secs_f64());
    println!(
        "API RSS: {before} KiB before, {after} KiB with the sockets open: {:.1} KiB per socket",
        (after.saturating_sub(before)) as f64 / count as f64
    );
    let cpu0 = cpu_seconds(api_pid)?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!("API CPU at rest with {count} sockets: {:.1}% of one core", (cpu_seconds(api_pid)? - cpu0) * 10.0);

    // Orders at `rate`/s for `seconds`, each followed on its own socket.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<f64>();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let total = rate * seconds;
    let mut followers = Vec::new();
    let cpu1 = cpu_seconds(api_pid)?;
    let started = Instant::now();
    for _ in 0..total {
        ticker.tick().await;
        let (client, tx) = (client.clone(), tx.clone());
        followers.push(tokio::spawn(async move {
            let id = client.submit(&OrderRequest::market("USDC", "SOL", "1")).await?.order_id;
            let mut events = client.follow(id);
            while let Some(event) = events.next().await {
                let arrived = chrono::Utc::now();
                let event = event?;
                // Events sent live (not the replayed history) measure the path worker → client.
                if event.seq > 1 {
                    let _ = tx.send((arrived - event.at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                }
            }
            anyhow::Ok(())
        }));
    }
    let mut failed = 0;
    for f in followers {
        if !matches!(f.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (cpu_seconds(api_pid)? - cpu1) / elapsed * 100.0;
    drop(tx);
    let mut delays = Vec::new();
    while let Some(d) = rx.recv().await {
        delays.push(d);
    }
    delays.sort_by(f64::total_cmp);
    if delays.is_empty() {
        bail!("no events measured");
    }
    println!(
        "{total} orders at {rate}/s over {elapsed:.1} s ({failed} failed): worker→client delay over {} events: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; API CPU {cpu:.0}% of one core",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1],
    );
    drop(idle);
    Ok(())
}
