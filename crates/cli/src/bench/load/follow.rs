//! Following one order on its own socket, `GET /api/orders/{id}/ws?fromSeq=N`.
//!
//! The socket is read until the server closes it: after the terminal event the
//! server closes with 1000 and drops the connection first, so TIME_WAIT is
//! normally the server's, and thousands of followers a second do not use up the
//! client's ephemeral ports. A socket that fails or closes before the terminal event is
//! reopened (on the next URL, from the highest `seq` received) a few times;
//! the same [`SeqCheck`] carries over, so a replay that repeats or skips an
//! event is caught like a live one.

use super::Ctx;
use super::Job;
use super::args::Target;
use super::clock::now_micros;
use super::sequence::{Arrival, SeqCheck};
use super::stats::Recorder;
use futures::StreamExt;
use oee_client::TransportKind;
use oee_client::frame::{EventHead, Frame};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

pub type Socket = WebSocketStream<TcpStream>;

/// Sockets opened for one order: the first and up to three reopenings.
const ATTEMPTS: u32 = 4;
/// How long a socket may stay open after the terminal event.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Bound on opening a socket (TCP and upgrade).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure, by a short key for grouping and a full message as a sample.
#[derive(Debug)]
pub struct Failure {
    pub key: String,
    pub message: String,
}

impl Failure {
    pub fn of(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self { key: format!("{context}: {}", TransportKind::of(error)), message: error.to_string() }
    }
}

/// Opens a WebSocket to `url` on `target`'s resolved address.
pub async fn connect(target: &Target, url: &str, config: super::SocketConfig) -> Result<Socket, Failure> {
    let open = async {
        let tcp = TcpStream::connect(target.addr).await.map_err(|e| Failure::of("connect", &e))?;
        tcp.set_nodelay(true).map_err(|e| Failure::of("connect", &e))?;
        let mut request = url.into_client_request().map_err(|e| Failure::of("upgrade", &e))?;
        if let Some(value) = &target.authorization {
            let value = tokio_tungstenite::tungstenite::http::HeaderValue::from_bytes(value.as_bytes())
                .map_err(|e| Failure::of("upgrade", &e))?;
            request.headers_mut().insert("authorization", value);
        }
        let (socket, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .map_err(|e| Failure::of("upgrade", &e))?;
        Ok(socket)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open).await.unwrap_or_else(|_| {
        Err(Failure { key: "connect: timed out".into(), message: format!("{url}: no upgrade in time") })
    })
}

/// An accepted order whose stream is being checked.
#[derive(Debug)]
pub struct Tracked {
    pub job: Job,
    pub check: SeqCheck,
    /// Unix ms from which the client was listening: events stamped earlier
    /// (history replayed to a follow socket opened after them) say nothing
    /// about delivery, so they are not timed.
    live_from_ms: i64,
}

impl Tracked {
    /// An order whose client listens from `live_from_ms` on.
    pub fn new(job: Job, live_from_ms: i64) -> Self {
        Self { job, check: SeqCheck::default(), live_from_ms }
    }

    /// Checks and times one event of this order.
    pub fn on_event(&mut self, recorder: &Recorder, event: &EventHead) {
        let arrived_us = now_micros();
        let arrival = self.check.observe(event.seq, event.status.is_terminal());
        if matches!(arrival, Arrival::New | Arrival::Terminal)
            && let Some(at_ms) = event.at.map(|at| at.timestamp_millis())
            && at_ms >= self.live_from_ms
        {
            recorder.event_delay(&self.job, at_ms, arrived_us);
        }
        if arrival == Arrival::Terminal {
            recorder.terminal(&self.job, Instant::now(), event);
            self.job.release();
        }
    }
}

enum Outcome {
    /// The terminal event arrived (the socket may have ended any way after it).
    Done,
    Failed(Failure),
    Stopped,
}

/// Follows `order_id` to its end, on URL `first_url` (see
/// [`super::args::Plan::target`]), then the next ones when the socket breaks.
pub async fn follow(ctx: &Ctx, mut tracked: Tracked, order_id: Uuid, first_url: u64) {
    let mut attempt = 0;
    let mut stopped = false;
    loop {
        let target = ctx.plan.target(first_url + u64::from(attempt));
        let url = format!("{}/api/orders/{order_id}/ws?fromSeq={}", target.ws_base, tracked.check.highest());
        let outcome = tokio::select! {
            biased;
            () = ctx.stop.cancelled() => Outcome::Stopped,
            outcome = stream(ctx, target, &url, &mut tracked) => outcome,
        };
        match outcome {
            Outcome::Done => break,
            Outcome::Stopped => {
                stopped = true;
                break;
            }
            Outcome::Failed(failure) => ctx.recorder.follow_failed(failure.key, failure.message),
        }
        attempt += 1;
        if tracked.check.finished() || attempt >= ATTEMPTS {
            break;
        }
        ctx.recorder.reconnected();
        let pause = Duration::from_millis(100) * attempt;
        tokio::select! {
            () = ctx.stop.cancelled() => {
                stopped = true;
                break;
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
    ctx.recorder.stream_done(&tracked.check, stopped);
}

/// One socket's worth of the stream.
async fn stream(ctx: &Ctx, target: &Target, url: &str, tracked: &mut Tracked) -> Outcome {
    let mut socket = match connect(target, url, ctx.follow_config).await {
        Ok(socket) => socket,
        Err(failure) => return Outcome::Failed(failure),
    };
    tracked.live_from_ms = now_micros() / 1000;
    let mut closed_with = None;
    loop {
        let next = if tracked.check.finished() {
            match tokio::time::timeout(CLOSE_GRACE, socket.next()).await {
                Ok(next) => next,
                Err(_) => {
                    ctx.recorder.follow_failed("not closed after the terminal event".into(), url.to_owned());
                    return Outcome::Done;
                }
            }
        } else {
            socket.next().await
        };
        match next {
            None => break,
            Some(Ok(Message::Text(text))) => match Frame::parse(&text).and_then(|f| f.event()) {
                Some(event) => tracked.on_event(&ctx.recorder, &event),
                None => ctx.recorder.follow_failed("a frame that is not an event".into(), sample(&text)),
            },
            Some(Ok(Message::Close(frame))) => {
                // Keep reading: the stream ends once the server drops the connection.
                closed_with = Some(frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string())));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                if tracked.check.finished() {
                    break;
                }
                return Outcome::Failed(Failure::of("stream", &e));
            }
        }
    }
    if tracked.check.finished() {
        return Outcome::Done;
    }
    Outcome::Failed(match closed_with {
        Some((code, reason)) => Failure {
            key: format!("stream: closed with {code} before the terminal event"),
            message: format!("{url}: {reason}"),
        },
        None => Failure { key: "stream: ended before the terminal event".into(), message: url.to_owned() },
    })
}

/// The start of a frame, for an error sample.
pub fn sample(text: &str) -> String {
    text.chars().take(300).collect()
}
