//! The WebSocket transport: `--connections` persistent submit sockets.
//!
//! Orders go to the sockets in turn (`index % connections`), and the sockets
//! to the URLs in turn. Each socket has two tasks: a writer that only sends
//! (batching whatever is queued into one flush), and a reader that owns all of
//! the socket's state. Reading never waits for writing: the server answers one
//! message at a time and sends every event of every accepted order on the same
//! socket, so a client that stopped reading while it sends would let the
//! server's per-socket queue fill up and be cut off with 1013.
//!
//! Each message carries `clientRef` = the order's index, which the `accepted`
//! or `rejected` reply echoes; events are matched to orders by `orderId`. When
//! a socket breaks, its unanswered orders count as submit errors, and its
//! unfinished orders are followed on follow sockets from the `seq` reached, so
//! one dropped connection does not read as lost events. The socket is then
//! reopened, on the next URL, for the orders still to come.

use super::args::Plan;
use super::clock::now_micros;
use super::follow::{Failure, Socket, Tracked, connect, follow, sample};
use super::{Ctx, Job, SocketConfig};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use oee_client::frame::{Frame, ReplyKind};
use oee_domain::ErrorCode;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use uuid::Uuid;

/// Orders queued for one socket before the scheduler waits.
const LANE_DEPTH: usize = 1024;
/// Keeps an idle socket alive: the server drops clients silent for 60 s.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Attempts to reopen a broken socket before failing its remaining orders.
const REOPEN_ATTEMPTS: u32 = 5;

/// The open submit sockets.
#[derive(Debug)]
pub struct SubmitSockets {
    lanes: Vec<mpsc::Sender<Job>>,
}

/// Opens every socket up front, so that connecting is not part of the
/// measurement; fails the run if one cannot be opened.
pub async fn open_all(plan: &Plan, config: SocketConfig) -> anyhow::Result<Vec<Socket>> {
    let sockets =
        futures::future::join_all((0..plan.connections).map(|lane| open_on(plan, config, u64::from(lane)))).await;
    sockets
        .into_iter()
        .enumerate()
        .map(|(lane, socket)| socket.map_err(|f| anyhow::anyhow!("submit socket {lane}: {} ({})", f.key, f.message)))
        .collect()
}

impl SubmitSockets {
    /// Starts serving the opened sockets.
    pub fn start(ctx: &Arc<Ctx>, sockets: Vec<Socket>) -> Self {
        let lanes = sockets
            .into_iter()
            .enumerate()
            .map(|(lane, socket)| {
                let (tx, rx) = mpsc::channel(LANE_DEPTH);
                ctx.tracker.spawn(run_lane(ctx.clone(), lane as u64, socket, rx));
                tx
            })
            .collect();
        Self { lanes }
    }

    /// Hands `job` to its socket (waiting while that socket's queue is full).
    pub async fn send(&self, ctx: &Ctx, job: Job) {
        let lane = usize::try_from(job.index % self.lanes.len() as u64).unwrap_or(0);
        if self.lanes[lane].send(job).await.is_err() {
            ctx.recorder.submit_failed("submit socket: gone".into(), String::new());
        }
    }
}

/// Opens a submit socket on URL `url` (see [`Plan::target`]).
async fn open_on(plan: &Plan, config: SocketConfig, url: u64) -> Result<Socket, Failure> {
    let target = plan.target(url);
    connect(target, &format!("{}/api/orders/execute", target.ws_base), config).await
}

/// One socket's life: serve it, reopen it when it breaks, until every order
/// handed to it is settled. Socket `lane` starts on URL `lane`.
async fn run_lane(ctx: Arc<Ctx>, lane: u64, first: Socket, mut jobs: mpsc::Receiver<Job>) {
    let mut url = lane;
    let mut socket = Some(first);
    let mut jobs_open = true;
    loop {
        let ws = match socket.take() {
            Some(ws) => ws,
            None => match reopen(&ctx, &mut url).await {
                Some(ws) => ws,
                None => break,
            },
        };
        match serve(&ctx, ws, url, &mut jobs, &mut jobs_open).await {
            End::Finished | End::Stopped => return,
            End::Broken => {
                if !jobs_open {
                    return;
                }
            }
        }
    }
    // The socket cannot be reopened: the orders still to come fail.
    loop {
        let job = tokio::select! {
            () = ctx.stop.cancelled() => return,
            job = jobs.recv() => job,
        };
        let Some(_job) = job else { return };
        ctx.recorder.submit_failed("submit socket: cannot reopen".into(), String::new());
    }
}

/// Reopens a broken socket, moving on to the next URL on each attempt.
async fn reopen(ctx: &Ctx, url: &mut u64) -> Option<Socket> {
    for attempt in 1..=REOPEN_ATTEMPTS {
        tokio::select! {
            () = ctx.stop.cancelled() => return None,
            () = tokio::time::sleep(Duration::from_millis(200) * attempt) => {}
        }
        ctx.recorder.reconnected();
        *url += 1;
        match open_on(&ctx.plan, ctx.submit_config, *url).await {
            Ok(ws) => return Some(ws),
            Err(failure) => ctx.recorder.follow_failed(format!("submit socket {}", failure.key), failure.message),
        }
    }
    None
}

enum End {
    /// No more orders, and every order sent on it is settled.
    Finished,
    /// The drain timed out.
    Stopped,
    /// The connection failed or the server closed it.
    Broken,
}

/// What one socket is waiting for.
#[derive(Debug, Default)]
struct Book {
    /// Sent, not yet answered, by `clientRef`, with the wall clock (Unix ms)
    /// at sending: from then on the client is listening for the order's events.
    pending: HashMap<u64, (Job, i64)>,
    /// Accepted and followed, by order id; kept after their terminal event so
    /// that anything arriving later is still caught.
    orders: HashMap<u128, Tracked>,
    /// Followed orders still without their terminal event.
    open: usize,
}

/// Serves one connection (open on URL `url`) until it is finished with,
/// broken, or stopped, then settles every order it was carrying.
async fn serve(ctx: &Arc<Ctx>, ws: Socket, url: u64, jobs: &mut mpsc::Receiver<Job>, jobs_open: &mut bool) -> End {
    let (sink, mut stream) = ws.split();
    let (out, queued) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_out(sink, queued));
    let mut book = Book::default();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut closed_with: Option<(u16, String)> = None;
    let end = loop {
        if !*jobs_open && book.pending.is_empty() && book.open == 0 {
            let _ = out.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "done".into() })));
            break End::Finished;
        }
        // Unbiased: a steady flow of events must not hold up sending, nor the reverse.
        tokio::select! {
            () = ctx.stop.cancelled() => break End::Stopped,
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => book.on_text(ctx, &text),
                Some(Ok(Message::Close(frame))) => {
                    closed_with = Some(frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string())));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let failure = Failure::of("submit socket", &e);
                    ctx.recorder.follow_failed(failure.key, failure.message);
                    break End::Broken;
                }
                None => {
                    let (key, reason) = match closed_with.take() {
                        Some((code, reason)) => (format!("submit socket: closed with {code}"), reason),
                        None => ("submit socket: ended".to_owned(), String::new()),
                    };
                    ctx.recorder.follow_failed(key, reason);
                    break End::Broken;
                }
            },
            job = jobs.recv(), if *jobs_open => match job {
                None => *jobs_open = false,
                Some(job) => {
                    let message = ctx.plan.mix.body(job.index).message(job.index);
                    ctx.recorder.sent(&job, Instant::now());
                    book.pending.insert(job.index, (job, now_micros() / 1000));
                    if out.send(Message::text(message)).is_err() {
                        break End::Broken;
                    }
                }
            },
            _ = ping.tick() => {
                let _ = out.send(Message::Ping(Default::default()));
            }
        }
    };
    drop(out);
    if let End::Finished = end {
        // Let the server answer the close; events of orders not followed may still come.
        let _ = tokio::time::timeout(Duration::from_secs(5), async { while let Some(Ok(_)) = stream.next().await {} })
            .await;
    }
    writer.abort();
    book.settle(ctx, &end, url);
    end
}

impl Book {
    fn on_text(&mut self, ctx: &Ctx, text: &str) {
        let Some(frame) = Frame::parse(text) else {
            ctx.recorder.follow_failed("submit socket: an unreadable frame".into(), sample(text));
            return;
        };
        match frame.reply {
            Some(kind) => {
                let Some((job, sent_ms)) = self.answered(frame.client_ref) else {
                    ctx.recorder.follow_failed("submit socket: a reply to no order".into(), sample(text));
                    return;
                };
                match (kind, frame.order_id) {
                    (ReplyKind::Accepted, Some(id)) => {
                        ctx.recorder.accepted(&job, Instant::now());
                        if job.follow {
                            self.orders.insert(id.as_u128(), Tracked::new(job, sent_ms));
                            self.open += 1;
                        }
                    }
                    _ => {
                        let code = frame.rejection().map_or("-", ErrorCode::as_str);
                        ctx.recorder.rejected(format!("rejected {code}"), sample(text));
                    }
                }
            }
            None => {
                let (Some(event), Some(id)) = (frame.event(), frame.order_id) else {
                    ctx.recorder.follow_failed("submit socket: a frame that is not an event".into(), sample(text));
                    return;
                };
                match self.orders.get_mut(&id.as_u128()) {
                    Some(tracked) => {
                        let was_finished = tracked.check.finished();
                        tracked.on_event(&ctx.recorder, &event);
                        if !was_finished && tracked.check.finished() {
                            self.open -= 1;
                        }
                    }
                    None => ctx.recorder.untracked_event(),
                }
            }
        }
    }

    /// The order a reply answers: by `clientRef`, or without one the oldest
    /// (the server answers in order).
    fn answered(&mut self, client_ref: Option<u64>) -> Option<(Job, i64)> {
        let key = client_ref.or_else(|| self.pending.keys().min().copied())?;
        self.pending.remove(&key)
    }

    /// Records the end of every order this connection (open on URL `url`) carried.
    fn settle(self, ctx: &Arc<Ctx>, end: &End, url: u64) {
        for _job in self.pending.into_values() {
            match end {
                End::Stopped => ctx.recorder.unanswered(),
                _ => ctx.recorder.submit_failed("submit socket: broke before the reply".into(), String::new()),
            }
        }
        for (id, tracked) in self.orders {
            match end {
                End::Broken if !tracked.check.finished() => {
                    // Carry on with this order on a follow socket, from where it got to.
                    ctx.recorder.reconnected();
                    let ctx2 = ctx.clone();
                    ctx.tracker.spawn(async move {
                        follow(&ctx2, tracked, Uuid::from_u128(id), url + 1).await;
                    });
                }
                End::Stopped => ctx.recorder.stream_done(&tracked.check, true),
                _ => ctx.recorder.stream_done(&tracked.check, false),
            }
        }
    }
}

/// Sends what the reader queues, flushing once per batch.
async fn write_out(mut sink: SplitSink<Socket, Message>, mut queued: mpsc::UnboundedReceiver<Message>) {
    while let Some(message) = queued.recv().await {
        if sink.feed(message).await.is_err() {
            return;
        }
        while let Ok(message) = queued.try_recv() {
            if sink.feed(message).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}
