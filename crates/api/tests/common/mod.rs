//! A running engine for tests: API replicas and a worker, in process, over this
//! test's own database and Redis namespace.
#![allow(dead_code)] // each test binary uses part of the harness

use actix_web::dev::ServerHandle;
use futures::{SinkExt, StreamExt};
use oee_runtime::Settings;
use oee_testkit::TestEnv;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

/// Bound on anything a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct RunningApi {
    pub addr: SocketAddr,
    pub stopper: oee_api::Stopper,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

pub struct RunningWorker {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub async fn start_api(settings: &Settings) -> RunningApi {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let api = oee_api::build(settings, listener).await.expect("api builds");
    let (addr, handle, stopper) = (api.addr, api.handle(), api.stopper());
    RunningApi { addr, handle, stopper, task: tokio::spawn(api.server) }
}

pub async fn start_worker(settings: &Settings) -> RunningWorker {
    let worker = oee_worker::build(settings).await.expect("worker builds");
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move { worker.run(token).await.expect("worker runs") });
    RunningWorker { stop, task }
}

impl RunningWorker {
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(PATIENCE, self.task).await;
    }
}

impl RunningApi {
    pub async fn stop(self) {
        self.handle.stop(false).await;
        let _ = tokio::time::timeout(PATIENCE, self.task).await;
    }
}

/// An engine: `apis` API replicas and optionally a worker.
pub struct Engine {
    pub env: TestEnv,
    pub apis: Vec<RunningApi>,
    pub worker: Option<RunningWorker>,
    pub http: reqwest::Client,
}

impl Engine {
    pub async fn start(apis: usize, worker: bool) -> Self {
        Self::start_with(apis, worker, |_| {}).await
    }

    /// Starts with settings adjusted by `tweak` (applied to API and worker alike).
    pub async fn start_with(apis: usize, worker: bool, tweak: impl Fn(&mut Settings)) -> Self {
        let mut env = TestEnv::new().await.expect("test environment");
        tweak(&mut env.settings);
        let mut running = Vec::new();
        for _ in 0..apis {
            running.push(start_api(&env.settings).await);
        }
        let worker = if worker { Some(start_worker(&env.settings).await) } else { None };
        Self { env, apis: running, worker, http: reqwest::Client::new() }
    }

    pub fn url(&self, replica: usize, path: &str) -> String {
        format!("http://{}{path}", self.apis[replica].addr)
    }

    pub fn ws_url(&self, replica: usize, path: &str) -> String {
        format!("ws://{}{path}", self.apis[replica].addr)
    }

    /// POSTs an order body (as raw JSON text) to replica 0.
    pub async fn submit(&self, body: &str) -> (u16, Value) {
        self.submit_to(0, body, None).await
    }

    pub async fn submit_to(&self, replica: usize, body: &str, key: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(replica, "/api/orders/execute"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, replica: usize, path: &str) -> (u16, Value) {
        let resp = self.http.get(self.url(replica, path)).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Submits an order that must be accepted; returns its id.
    pub async fn accepted(&self, body: &str) -> String {
        let (status, reply) = self.submit(body).await;
        assert_eq!(status, 202, "{reply}");
        reply["orderId"].as_str().expect("orderId").to_owned()
    }

    /// Waits until the order is terminal; returns it.
    pub async fn until_terminal(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (_, order) = self.get(0, &format!("/api/orders/{id}")).await;
            if matches!(order["status"].as_str(), Some("confirmed" | "failed")) {
                return order;
            }
            assert!(tokio::time::Instant::now() < deadline, "order {id} did not finish: {order}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Follows an order's socket on `replica` to its end.
    pub async fn follow(&self, replica: usize, id: &str, from_seq: Option<u32>) -> Followed {
        let query = from_seq.map(|n| format!("?fromSeq={n}")).unwrap_or_default();
        follow_url(&self.ws_url(replica, &format!("/api/orders/{id}/ws{query}"))).await
    }

    pub async fn stop(self) {
        if let Some(worker) = self.worker {
            worker.stop().await;
        }
        for api in self.apis {
            api.stop().await;
        }
        self.env.cleanup().await.expect("cleanup");
    }
}

/// What a follower received: every event, then how the socket closed.
#[derive(Debug)]
pub struct Followed {
    pub events: Vec<Value>,
    pub close: Option<CloseCode>,
}

impl Followed {
    pub fn seqs(&self) -> Vec<u64> {
        self.events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect()
    }

    pub fn statuses(&self) -> Vec<&str> {
        self.events.iter().map(|e| e["status"].as_str().expect("status")).collect()
    }

    /// Every seq from `first` up, each once, in order, ending with the one
    /// terminal event, and a normal close.
    pub fn assert_complete_from(&self, first: u64) {
        let seqs = self.seqs();
        let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "gap or duplicate: {:?}", self.events);
        let statuses = self.statuses();
        let terminal = statuses.iter().filter(|s| matches!(**s, "confirmed" | "failed")).count();
        assert_eq!(terminal, 1, "exactly one terminal event: {statuses:?}");
        assert!(matches!(statuses.last(), Some(&("confirmed" | "failed"))), "terminal is last: {statuses:?}");
        assert_eq!(self.close, Some(CloseCode::Normal), "closes with 1000");
    }
}

pub async fn follow_url(url: &str) -> Followed {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    let mut events = Vec::new();
    let mut close = None;
    let outcome = tokio::time::timeout(PATIENCE, async {
        while let Some(message) = socket.next().await {
            match message.expect("websocket message") {
                Message::Text(text) => events.push(serde_json::from_str(&text).expect("event is JSON")),
                Message::Close(frame) => {
                    close = frame.map(|f| f.code);
                    break;
                }
                Message::Ping(data) => {
                    let _ = socket.send(Message::Pong(data)).await;
                }
                _ => {}
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "socket did not finish in time; got {events:?}");
    Followed { events, close }
}
