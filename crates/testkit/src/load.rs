//! Steady load for fault tests, as a careful client sends it: one order at a
//! time with an `Idempotency-Key`, the same key again after a 503 or a broken
//! connection (so an order whose fate was unknown is never made twice), and a
//! follower on some orders' sockets that reconnects with `fromSeq` whenever its
//! socket breaks, until the terminal event.

use crate::engine::{Followed, PATIENCE, Socket};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

/// How a [`SteadyLoad`] submits.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The API replicas' base URLs (`http://host:port`); orders go round-robin.
    pub apis: Vec<String>,
    /// The order bodies: order `n` sends `bodies[n % bodies.len()]`.
    pub bodies: Vec<String>,
    /// Pause between one acceptance and the next submission.
    pub pause: Duration,
    /// Every `follow_every`-th order is followed on its socket (0: none).
    pub follow_every: usize,
}

/// One request that was answered, or failed to be.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub started: Instant,
    pub took: Duration,
    /// The HTTP status, or `None` when the connection failed.
    pub status: Option<u16>,
}

/// What a load run did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Accepted order ids, in order of acceptance.
    pub accepted: Vec<String>,
    /// Every request made.
    pub attempts: Vec<Attempt>,
    /// The followers, by order id.
    pub followers: Vec<(String, JoinHandle<Followed>)>,
}

impl LoadReport {
    /// Requests answered with `status` (`None`: connection failures).
    pub fn count(&self, status: Option<u16>) -> usize {
        self.attempts.iter().filter(|a| a.status == status).count()
    }

    /// The slowest answer of any request.
    pub fn slowest(&self) -> Duration {
        self.attempts.iter().map(|a| a.took).max().unwrap_or_default()
    }

    /// From `fault` to the first 202 for a request started after it.
    pub fn recovered_after(&self, fault: Instant) -> Option<Duration> {
        self.attempts.iter().find(|a| a.started >= fault && a.status == Some(202)).map(|a| a.started + a.took - fault)
    }

    /// Requests started after `fault` that were refused with a 503, and the
    /// time from `fault` to the last of them answering.
    pub fn refusals_after(&self, fault: Instant) -> (usize, Duration) {
        let refused: Vec<&Attempt> =
            self.attempts.iter().filter(|a| a.started >= fault && a.status != Some(202)).collect();
        let until = refused.iter().map(|a| a.started + a.took - fault).max().unwrap_or_default();
        (refused.len(), until)
    }
}

/// A load running on a task until stopped.
#[derive(Debug)]
pub struct SteadyLoad {
    stop: CancellationToken,
    task: JoinHandle<LoadReport>,
}

impl SteadyLoad {
    pub fn start(plan: LoadPlan) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(plan, stop.clone()));
        Self { stop, task }
    }

    /// Stops submitting (an order being retried is finished first) and
    /// returns the report; followers may still be running.
    pub async fn stop(self) -> LoadReport {
        self.stop.cancel();
        self.task.await.expect("load task")
    }
}

async fn run(plan: LoadPlan, stop: CancellationToken) -> LoadReport {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
    let mut report = LoadReport::default();
    let mut n = 0usize;
    // Once stopped, an order being retried gets this long to be accepted.
    const RETRY_AFTER_STOP: Duration = Duration::from_secs(20);
    let mut stopped_at: Option<Instant> = None;
    while !stop.is_cancelled() {
        let key = uuid::Uuid::now_v7().to_string();
        let mut tries = 0;
        // The same key until the order is accepted: a 503 may hide an order
        // that was stored after all, and the key makes the retry find it.
        let (id, api) = loop {
            // A replica that refuses or is gone: the retry goes to the next.
            let api = &plan.apis[(n + tries) % plan.apis.len()];
            tries += 1;
            let started = Instant::now();
            let answer = http
                .post(format!("{api}/api/orders/execute"))
                .header("content-type", "application/json")
                .header("idempotency-key", &key)
                .body(plan.bodies[n % plan.bodies.len()].clone())
                .send()
                .await;
            let (status, body) = match answer {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    (Some(status), resp.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(_) => (None, Value::Null),
            };
            report.attempts.push(Attempt { started, took: started.elapsed(), status });
            match status {
                Some(200 | 202) => break (body["orderId"].as_str().expect("orderId").to_owned(), api),
                None | Some(503) => {
                    if stop.is_cancelled() {
                        let since = *stopped_at.get_or_insert_with(Instant::now);
                        assert!(
                            since.elapsed() < RETRY_AFTER_STOP,
                            "submissions never recovered: {RETRY_AFTER_STOP:?} after the load stopped, still {status:?}"
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(other) => panic!("unexpected {other}: {body}"),
            }
        };
        if plan.follow_every > 0 && n.is_multiple_of(plan.follow_every) {
            // Followed where it was accepted, then on the other replicas in turn.
            let first = plan.apis.iter().position(|a| a == api).unwrap_or(0);
            let urls: Vec<String> = (0..plan.apis.len())
                .map(|i| plan.apis[(first + i) % plan.apis.len()].replacen("http", "ws", 1))
                .map(|base| format!("{base}/api/orders/{id}/ws"))
                .collect();
            report.followers.push((id.clone(), tokio::spawn(async move { follow_to_the_end(&urls).await })));
        }
        report.accepted.push(id);
        n += 1;
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(plan.pause) => {}
        }
    }
    report
}

/// Follows an order's socket (its URL on each replica, no query) to its
/// terminal event, reconnecting with `fromSeq` after anything but a normal
/// close, to the next replica each time; returns every
/// event received, in order, and the last close (none if the order turned out
/// not to exist: a 404 on reconnecting). Bounded by 3 × [`PATIENCE`].
pub async fn follow_to_the_end(urls: &[String]) -> Followed {
    let deadline = Instant::now() + PATIENCE * 3;
    let mut events: Vec<Value> = Vec::new();
    for attempt in 0.. {
        let url = &urls[attempt % urls.len()];
        let last = events.last().and_then(|e| e["seq"].as_u64());
        let resume = last.map(|s| format!("{url}?fromSeq={s}")).unwrap_or_else(|| url.to_owned());
        let socket = match tokio_tungstenite::connect_async(&resume).await {
            Ok((socket, _)) => Some(socket),
            // The order is not there (any more): a store lost it.
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status().as_u16() == 404 => {
                return Followed { events, close: None };
            }
            Err(_) => None,
        };
        if let Some(socket) = socket {
            let part = read_until_cut(socket).await;
            events.extend(part.events);
            let finished = events.last().and_then(crate::status_of).is_some_and(|s| s.is_terminal());
            if finished && part.close == Some(CloseCode::Normal) {
                return Followed { events, close: part.close };
            }
        }
        assert!(Instant::now() < deadline, "follower of {url} never reached the end; got {events:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    unreachable!("the loop ends by returning or failing")
}

/// Reads a follow socket until it closes, breaks, or stays silent for
/// [`PATIENCE`]; a break or silence ends the read with no close code.
async fn read_until_cut(mut socket: Socket) -> Followed {
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => events.push(serde_json::from_str(&text).expect("event is JSON")),
            Ok(Some(Ok(Message::Close(frame)))) => return Followed { events, close: frame.map(|f| f.code) },
            Ok(Some(Ok(Message::Ping(data)))) => {
                let _ = socket.send(Message::Pong(data)).await;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => return Followed { events, close: None },
        }
    }
}
