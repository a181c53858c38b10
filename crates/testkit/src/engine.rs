//! A running engine for tests: API replicas and a worker, in process, over one
//! test's own database and Redis namespace.
//!
//! ```no_run
//! # async fn example() {
//! use oee_testkit::Engine;
//! let engine = Engine::builder().apis(2).configure(|s| s.max_sockets = 8).start().await;
//! let id = engine.accepted(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
//! let order = engine.until_terminal(&id).await;
//! engine.stop().await;
//! # }
//! ```

use crate::TestEnv;
use actix_web::dev::ServerHandle;
use futures::{SinkExt, StreamExt};
use oee_domain::OrderStatus;
use oee_router::Latency;
use oee_runtime::Settings;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

/// Bound on anything a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One API replica serving on a loopback port.
#[derive(Debug)]
pub struct RunningApi {
    pub addr: SocketAddr,
    pub stopper: oee_api::Stopper,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

/// A worker running on a task of the test's runtime.
#[derive(Debug)]
pub struct RunningWorker {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Builds and starts an API replica on a free loopback port.
pub async fn start_api(settings: &Settings) -> RunningApi {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let api = oee_api::build(settings, listener).await.expect("api builds");
    let (addr, handle, stopper) = (api.addr, api.handle(), api.stopper());
    RunningApi { addr, handle, stopper, task: tokio::spawn(api.server) }
}

/// Builds and starts a worker.
pub async fn start_worker(settings: &Settings) -> RunningWorker {
    let worker = oee_worker::build(settings).await.expect("worker builds");
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move { worker.run(token).await.expect("worker runs") });
    RunningWorker { stop, task }
}

impl RunningWorker {
    /// Stops the worker as SIGTERM would, waiting (bounded) for its drain.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(PATIENCE, self.task).await;
    }
}

impl RunningApi {
    /// Stops the server at once (no drain).
    pub async fn stop(self) {
        self.handle.stop(false).await;
        let _ = tokio::time::timeout(PATIENCE, self.task).await;
    }
}

/// An engine: API replicas and optionally a worker.
#[derive(Debug)]
pub struct Engine {
    pub env: TestEnv,
    pub apis: Vec<RunningApi>,
    pub worker: Option<RunningWorker>,
    pub http: reqwest::Client,
}

/// A change to the settings of an engine under test.
type Tweak = Box<dyn Fn(&mut Settings)>;

/// What [`Engine::builder`] starts: by default one API replica and a worker,
/// with [`TestEnv`]'s settings (instant venues, no injected failures, no
/// market simulator).
#[must_use]
pub struct EngineBuilder {
    apis: usize,
    worker: bool,
    tweaks: Vec<Tweak>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder").field("apis", &self.apis).field("worker", &self.worker).finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Runs `n` API replicas over the same stores.
    pub fn apis(mut self, n: usize) -> Self {
        self.apis = n;
        self
    }

    /// Starts no worker: orders stay queued until the test starts one.
    pub fn without_worker(mut self) -> Self {
        self.worker = false;
        self
    }

    /// Adjusts the settings of every process (applied in the order given).
    pub fn configure(mut self, tweak: impl Fn(&mut Settings) + 'static) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Runs the market simulator in the worker (off by default, so prices move
    /// only with the test's own transactions): an outside trade on every pool
    /// every `tick`.
    pub fn market_simulator(self, tick: Duration) -> Self {
        self.configure(move |s| s.sim_tick = tick)
    }

    /// Venues with mainnet-like latency (quotes ~200 ms, swaps 2–3 s).
    pub fn realistic_venues(self) -> Self {
        self.configure(|s| s.venue_latency = Latency::Realistic)
    }

    /// Creates the test's stores and starts the processes.
    pub async fn start(self) -> Engine {
        let mut env = TestEnv::new().await.expect("test environment");
        for tweak in &self.tweaks {
            tweak(&mut env.settings);
        }
        let mut apis = Vec::new();
        for _ in 0..self.apis {
            apis.push(start_api(&env.settings).await);
        }
        let worker = if self.worker { Some(start_worker(&env.settings).await) } else { None };
        Engine { env, apis, worker, http: reqwest::Client::new() }
    }
}

impl Engine {
    /// An engine to be configured; see [`EngineBuilder`].
    pub fn builder() -> EngineBuilder {
        EngineBuilder { apis: 1, worker: true, tweaks: Vec::new() }
    }

    /// One API replica and a worker, with the default test settings.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Starts a worker (for an engine built without one).
    pub async fn start_worker(&mut self) {
        self.worker = Some(start_worker(&self.env.settings).await);
    }

    /// A typed client over every replica (following moves to the next one when
    /// a replica goes away).
    pub fn client(&self) -> oee_client::Client {
        let urls = (0..self.apis.len()).map(|replica| self.url(replica, ""));
        oee_client::Client::builder().urls(urls).build().expect("a client of the engine")
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

    /// The order with its events (asserting it is found).
    pub async fn order(&self, id: &str) -> Value {
        let (status, order) = self.get(0, &format!("/api/orders/{id}")).await;
        assert_eq!(status, 200, "{order}");
        order
    }

    /// Waits until the order is terminal; returns it.
    pub async fn until_terminal(&self, id: &str) -> Value {
        self.until(id, "finish", |s| s.is_terminal()).await
    }

    /// Waits until the order's status is `status`; returns it.
    pub async fn until_status(&self, id: &str, status: OrderStatus) -> Value {
        self.until(id, status.as_str(), |s| s == status).await
    }

    async fn until(&self, id: &str, what: &str, done: impl Fn(OrderStatus) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (_, order) = self.get(0, &format!("/api/orders/{id}")).await;
            if crate::status_of(&order).is_some_and(&done) {
                return order;
            }
            assert!(tokio::time::Instant::now() < deadline, "order {id} did not {what}: {order}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Follows an order's socket on `replica` to its end.
    pub async fn follow(&self, replica: usize, id: &str, from_seq: Option<u32>) -> Followed {
        let query = from_seq.map(|n| format!("?fromSeq={n}")).unwrap_or_default();
        follow_url(&self.ws_url(replica, &format!("/api/orders/{id}/ws{query}"))).await
    }

    /// An `oee-api` process (the binary `bin`: tests pass
    /// `env!("CARGO_BIN_EXE_oee-api")`) on this engine's stores, serving on a
    /// free loopback port with `OEE_AUTH=off` and `settings` added; returns
    /// once it answers `/ready`. Killed when dropped.
    pub async fn api_process(&self, bin: &str, settings: &[(&str, &str)]) -> ApiProcess {
        let port = crate::stores::free_port();
        let s = &self.env.settings;
        let child = std::process::Command::new(bin)
            .env("DATABASE_URL", &s.database_url)
            .env("REDIS_URL", &s.redis_url)
            .env("OEE_NAMESPACE", &s.namespace)
            .env("OEE_JOB_PARTITIONS", s.job_partitions.to_string())
            .env("OEE_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("OEE_AUTH", "off")
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("oee-api starts");
        let process = ApiProcess { child, port };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let ready = format!("http://127.0.0.1:{port}/ready");
        while self.http.get(&ready).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
            assert!(tokio::time::Instant::now() < deadline, "oee-api on port {port} never got ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
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

/// An `oee-api` process started by [`Engine::api_process`]; killed when dropped.
#[derive(Debug)]
pub struct ApiProcess {
    child: std::process::Child,
    /// It serves on `127.0.0.1:port`.
    pub port: u16,
}

impl ApiProcess {
    /// SIGKILL, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        self.kill();
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
        crate::assert_gapless_from(&self.events, first);
        assert_eq!(self.close, Some(CloseCode::Normal), "closes with 1000");
    }
}

/// A WebSocket client connection, as `tokio_tungstenite::connect_async` opens it.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Follows an order's socket at `url` until it closes (bounded by [`PATIENCE`]).
pub async fn follow_url(url: &str) -> Followed {
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    follow_socket(socket).await
}

/// Reads an open follow socket until it closes (bounded by [`PATIENCE`]),
/// answering pings.
pub async fn follow_socket(mut socket: Socket) -> Followed {
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
