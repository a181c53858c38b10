//! `oee-bench load`: the load generator.
//!
//! # Pacing: open loop and closed loop
//!
//! With `--rate`, the run is an **open loop**: order `i` is due at
//! `start + i / rate`, whatever happened to the orders before it. That is how
//! independent traders behave, and it is the only way to see what a slow
//! engine does to them: if the engine stalls for a second, the orders due in
//! that second still fall due, and their latency is measured from when they
//! were *due*, not from when the generator got round to sending them. Measuring
//! from the actual send would be *coordinated omission*: the generator, stuck
//! behind the stall, would send less and time only the fast requests, and the
//! percentiles would hide the stall. The gap between due and sent is reported
//! separately as `sendLag`, so a generator that cannot keep up shows itself.
//!
//! With `--concurrency`, the run is a **closed loop**: that many clients each
//! submit an order, wait until it is over (its terminal event when followed,
//! else its acceptance) and submit the next. It finds the throughput the
//! engine sustains at a given number of orders in flight; its latencies are
//! from the actual send, as the next order waits for the previous one.
//!
//! Either way the run is bounded: `--count` and/or `--duration` end the
//! submitting, then outstanding orders have `--timeout` to finish before the
//! run gives up on them (and reports them as unfinished). A closed loop whose
//! orders stop finishing for `--timeout` stops submitting too.
//!
//! # Following and loss
//!
//! Every followed order's events go through a [`sequence::SeqCheck`]: `seq`
//! must run 1, 2, 3 … without gaps, repeats or reordering, with one terminal
//! event, last. Holes below the highest `seq` received count as lost events; a
//! stream that ends, or is still open when the drain times out, without its
//! terminal event counts as a missing terminal. With the HTTP transport each
//! order is followed on its own socket, opened right after the 202 on the next
//! API URL (see [`follow`]); with the WebSocket transport events arrive on the
//! submit socket itself (see [`submit_ws`]).
//!
//! # Cost
//!
//! One tokio runtime (2 worker threads by default) runs everything: a task per
//! order in flight, no thread per order. Bodies are serialized once; replies
//! and events are read as `oee_client::frame::Frame`s, borrowing from the frame; counts
//! and HDR histograms sit behind one briefly held mutex. Sockets are opened on
//! addresses resolved at start, with small read buffers, so a follow socket
//! costs the generator well under 10 KiB. The open-file limit is raised
//! at start, with a warning when it is still too low for the run.

mod args;
mod clock;
mod follow;
mod http;
pub(crate) mod orders;
mod progress;
mod report;
mod schedule;
mod sequence;
mod stats;
mod submit_ws;

pub use args::LoadArgs;

use args::{Model, Plan, Transport};
use progress::Progress;
use report::{Ended, Environment, Report, RunInfo};
use schedule::OpenSchedule;
use stats::Recorder;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use submit_ws::SubmitSockets;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A mistake in the arguments (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// How a completed run turned out, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// `--fail-on-loss` was given and the streams were not whole.
    Loss,
}

pub type SocketConfig = WebSocketConfig;

/// One order on its way.
#[derive(Debug)]
pub struct Job {
    pub index: u64,
    /// When it was due: the origin of its latencies.
    pub intended: Instant,
    /// Whether its events are followed and checked.
    pub follow: bool,
    /// Closed loop: dropped (which wakes the client) once the order is over.
    pub done: Option<oneshot::Sender<()>>,
    /// Its place among `--max-in-flight`.
    pub slot: Option<OwnedSemaphorePermit>,
}

impl Job {
    /// The order no longer counts as outstanding.
    pub fn release(&mut self) {
        self.done.take();
        self.slot.take();
    }
}

/// What every task of a run shares.
#[derive(Debug)]
pub struct Ctx {
    pub plan: Plan,
    pub recorder: Recorder,
    pub http: reqwest::Client,
    /// `--http-connections`: requests in flight at once.
    pub http_slots: Semaphore,
    /// `--max-in-flight`: orders in flight at once.
    pub slots: Arc<Semaphore>,
    /// The drain timed out (or a second Ctrl-C): every task gives up.
    pub stop: CancellationToken,
    pub tracker: TaskTracker,
    pub follow_config: SocketConfig,
    pub submit_config: SocketConfig,
}

/// Where due orders go.
#[derive(Debug)]
enum Dispatch {
    Http,
    Ws(SubmitSockets),
}

impl Dispatch {
    async fn send(&self, ctx: &Arc<Ctx>, job: Job) {
        match self {
            Self::Http => {
                ctx.tracker.spawn(http::run_order(ctx.clone(), job));
            }
            Self::Ws(sockets) => sockets.send(ctx, job).await,
        }
    }
}

/// Runs the load test and writes its reports.
pub async fn run(args: LoadArgs, threads: u16) -> anyhow::Result<Verdict> {
    let command = command_line();
    let plan = Plan::new(args)?;
    let environment = prepare(&plan, threads);
    for warning in &environment.warnings {
        eprintln!("warning: {warning}");
    }
    // tungstenite zero-fills its whole read buffer before every read, so a
    // follow socket (a few events of ≤ 2 KiB) gets a small one; a submit socket
    // carrying many orders' events a larger one, for fewer reads.
    let follow_config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
    let submit_config = WebSocketConfig::default().read_buffer_size(32 * 1024).write_buffer_size(0);
    let sockets = match plan.transport {
        Transport::Ws => Some(submit_ws::open_all(&plan, submit_config).await?),
        Transport::Http => None,
    };
    let started_at = chrono::Utc::now();
    let origin = Instant::now();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(origin, plan.warmup),
        http: http::client(plan.http_connections, plan.timeout)?,
        http_slots: Semaphore::new(usize::try_from(plan.http_connections)?),
        slots: Arc::new(Semaphore::new(usize::try_from(plan.max_in_flight)?)),
        stop: CancellationToken::new(),
        tracker: TaskTracker::new(),
        follow_config,
        submit_config,
        plan,
    });
    let dispatch = Arc::new(match sockets {
        Some(sockets) => Dispatch::Ws(SubmitSockets::start(&ctx, sockets)),
        None => Dispatch::Http,
    });
    let progress = Progress::start(&ctx, ctx.plan.planned_orders());
    let interrupt = CancellationToken::new();
    let watcher = tokio::spawn(watch_ctrl_c(interrupt.clone(), ctx.stop.clone()));

    let ended = match ctx.plan.model {
        Model::Open(rate) => {
            let schedule = OpenSchedule { rate, count: ctx.plan.count, duration: ctx.plan.duration };
            open_loop(&ctx, &dispatch, schedule, &interrupt).await
        }
        Model::Closed(concurrency) => closed_loop(&ctx, &dispatch, concurrency, &interrupt).await,
    };
    let submit_ended = Instant::now();
    // Closing the submit sockets' queues lets them finish once their orders are.
    drop(dispatch);
    progress.draining();
    ctx.tracker.close();
    let drained = tokio::select! {
        () = ctx.tracker.wait() => true,
        () = tokio::time::sleep(ctx.plan.timeout) => false,
        () = ctx.stop.cancelled() => false,
    };
    if !drained {
        ctx.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), ctx.tracker.wait()).await;
    }
    let finished = Instant::now();
    watcher.abort();
    progress.finish().await;

    let run = RunInfo {
        command,
        started_at,
        origin,
        measure_from: ctx.recorder.measure_from(),
        submit_ended,
        finished,
        ended,
        drain_timed_out: !drained,
        environment,
    };
    let report = Report::build(&ctx.plan, run, &ctx.recorder.take());
    if let Some(path) = &ctx.plan.json {
        std::fs::write(path, report.json() + "\n").map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = &ctx.plan.markdown {
        std::fs::write(path, report.markdown()).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    print!("{}", report.summary());
    Ok(if ctx.plan.fail_on_loss && !report.events.clean { Verdict::Loss } else { Verdict::Clean })
}

/// The first Ctrl-C stops submitting (the drain goes on); the second gives up.
async fn watch_ctrl_c(interrupt: CancellationToken, stop: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("\ninterrupted: no more orders; waiting for the outstanding ones (Ctrl-C again to give up)");
        interrupt.cancel();
    }
    if tokio::signal::ctrl_c().await.is_ok() {
        stop.cancel();
    }
}

/// Sends order `i` when it is due, whatever became of the others.
async fn open_loop(
    ctx: &Arc<Ctx>,
    dispatch: &Dispatch,
    schedule: OpenSchedule,
    interrupt: &CancellationToken,
) -> Ended {
    let origin = ctx.recorder.origin();
    let mut index = 0u64;
    while let Some(offset) = schedule.due(index) {
        let intended = origin + offset;
        if intended > Instant::now() {
            tokio::select! {
                biased;
                () = interrupt.cancelled() => return Ended::Interrupted,
                () = tokio::time::sleep_until(intended.into()) => {}
            }
        } else if interrupt.is_cancelled() {
            return Ended::Interrupted;
        } else if index.is_multiple_of(64) {
            // Behind schedule: catch up, but let the other tasks run.
            tokio::task::yield_now().await;
        }
        let slot = tokio::select! {
            biased;
            () = interrupt.cancelled() => return Ended::Interrupted,
            slot = ctx.slots.clone().acquire_owned() => slot.ok(),
        };
        let job = Job { index, intended, follow: ctx.plan.follow.follows(index), done: None, slot };
        dispatch.send(ctx, job).await;
        index += 1;
    }
    Ended::Completed
}

/// Keeps `concurrency` orders outstanding.
async fn closed_loop(
    ctx: &Arc<Ctx>,
    dispatch: &Arc<Dispatch>,
    concurrency: u32,
    interrupt: &CancellationToken,
) -> Ended {
    let next = Arc::new(AtomicU64::new(0));
    let stalled = Arc::new(AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = Client {
            ctx: ctx.clone(),
            dispatch: dispatch.clone(),
            next: next.clone(),
            stalled: stalled.clone(),
            interrupt: interrupt.clone(),
        };
        clients.spawn(client.run());
    }
    while clients.join_next().await.is_some() {}
    if stalled.load(Ordering::Relaxed) {
        Ended::Stalled
    } else if interrupt.is_cancelled() {
        Ended::Interrupted
    } else {
        Ended::Completed
    }
}

/// One closed-loop client.
struct Client {
    ctx: Arc<Ctx>,
    dispatch: Arc<Dispatch>,
    next: Arc<AtomicU64>,
    stalled: Arc<AtomicBool>,
    interrupt: CancellationToken,
}

impl Client {
    async fn run(self) {
        let ctx = &self.ctx;
        let deadline = ctx.plan.duration.map(|d| ctx.recorder.origin() + d);
        loop {
            if self.interrupt.is_cancelled() || deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if ctx.plan.count.is_some_and(|count| index >= count) {
                return;
            }
            let slot = ctx.slots.clone().acquire_owned().await.ok();
            let (done, over) = oneshot::channel();
            let job =
                Job { index, intended: Instant::now(), follow: ctx.plan.follow.follows(index), done: Some(done), slot };
            self.dispatch.send(ctx, job).await;
            tokio::select! {
                _ = over => {}
                () = self.interrupt.cancelled() => return,
                () = tokio::time::sleep(ctx.plan.timeout) => {
                    self.stalled.store(true, Ordering::Relaxed);
                    self.interrupt.cancel();
                    return;
                }
            }
        }
    }
}

/// Raises the open-file limit and checks it, and the local port range, against
/// the sockets the run may hold at once.
fn prepare(plan: &Plan, threads: u16) -> Environment {
    let mut warnings = Vec::new();
    let nofile = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            warnings.push(format!("cannot raise the open-file limit: {e}"));
            rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft)
        }
    };
    let planned = plan.planned_orders().unwrap_or(u64::MAX);
    let followers = match plan.transport {
        Transport::Http if !plan.follow.is_none() => u64::from(plan.max_in_flight).min(planned),
        _ => 0,
    };
    let pool = match plan.transport {
        Transport::Http => u64::from(plan.http_connections) * plan.targets.len() as u64,
        Transport::Ws => u64::from(plan.connections),
    };
    let sockets = followers + pool;
    if let Some(limit) = nofile
        && limit < sockets + 64
    {
        warnings.push(format!(
            "the open-file limit is {limit}, below the {sockets} sockets this run may hold at once: \
             lower --max-in-flight or raise the hard limit (ulimit -Hn); failures show as \"too many open files\""
        ));
    }
    let ports = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok().and_then(|text| {
        let mut bounds = text.split_whitespace().map(str::parse::<u64>);
        match (bounds.next(), bounds.next()) {
            (Some(Ok(low)), Some(Ok(high))) if high >= low => Some((low, high)),
            _ => None,
        }
    });
    if let Some((low, high)) = ports {
        // Each API address gets its own share of the local ports.
        let per_target = sockets.div_ceil(plan.targets.len() as u64);
        if per_target > high - low + 1 {
            warnings.push(format!(
                "{per_target} sockets per API address exceed the {} local ports ({low}–{high}): \
                 lower --max-in-flight, add API addresses, or widen net.ipv4.ip_local_port_range",
                high - low + 1
            ));
        }
    }
    Environment {
        build: if cfg!(debug_assertions) { "debug" } else { "release" },
        threads,
        nofile_limit: nofile,
        ephemeral_ports: ports.map(|(low, high)| format!("{low}-{high}")),
        warnings,
    }
}

/// The command line, quoted for a shell, for the reports.
pub(crate) fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            let arg = if i == 0 {
                std::path::Path::new(&arg).file_name().map_or(arg.clone(), |n| n.to_string_lossy().into_owned())
            } else {
                arg
            };
            let plain = !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
            if plain { arg } else { format!("'{}'", arg.replace('\'', r"'\''")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
