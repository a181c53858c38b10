//! The local cluster end to end. `scripts/cluster up` starts two API replicas and
//! two workers behind nginx, over this test's own database and Redis namespace.
//! Orders are submitted through the balancer and followed on WebSockets through
//! it; every order must stream whole, and both the submissions and the sockets
//! must have been served by both replicas. `scripts/cluster down` then has to
//! leave none of the processes it started.
//!
//! The binaries come from the target directory this test was built into
//! (`cargo build --workspace --bins` first; `scripts/test` does), or from
//! `OEE_BIN_DIR`.

use oee_testkit::TestEnv;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Bound on any one wait for the cluster's orders or sockets.
const PATIENCE: Duration = Duration::from_secs(30);
/// Bound on `scripts/cluster up`, which may have to install nginx first.
const UP_PATIENCE: Duration = Duration::from_secs(300);
/// Bound on `scripts/cluster down` (its own bound on a stop is 20 s per group).
const DOWN_PATIENCE: Duration = Duration::from_secs(90);
const APIS: u16 = 2;
const WORKERS: u16 = 2;
const ORDERS: usize = 20;
const INSTANCE: &str = "x-oee-instance";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A base port such that it and the `count - 1` after it are free on loopback.
/// Chosen below the kernel's ephemeral range, so that the outgoing connections of
/// tests running beside this one cannot take them in the meantime.
fn free_ports(count: u16) -> u16 {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut base = 20_000 + u16::try_from((seed ^ std::process::id()) % 10_000).unwrap_or(0);
    for _ in 0..200 {
        if (base..base + count).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
        base = 20_000 + (base - 20_000 + 37) % 10_000;
    }
    panic!("found no {count} free ports in a row");
}

/// The start time of process `pid` (field 22 of its stat), or `None` once it has
/// exited, zombies included. With the pid it names one process for good.
fn started_at(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    (fields.first() != Some(&"Z")).then(|| fields.get(19).map(|s| (*s).to_owned())).flatten()
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).ok().is_some_and(|stat| {
                stat.rsplit_once(") ").and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    == Some(pid.to_string().as_str())
            })
        })
        .collect()
}

/// Waits for `child` at most `bound`; kills it if it takes longer.
fn wait_bounded(child: &mut Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + bound;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A cluster started by the script. Dropping it runs `scripts/cluster down`, so
/// a failing test stops its processes too.
struct Cluster {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
    base: String,
    /// Every process started, by name, with its start time; nginx's workers as
    /// `nginx-worker-<pid>`.
    processes: BTreeMap<String, (u32, String)>,
    stopped: bool,
}

impl Cluster {
    /// Runs `scripts/cluster up --api APIS --workers WORKERS --port <port>` over
    /// `env`'s database and namespace, with realistic venues that sometimes fail.
    /// Blocks (the script runs for seconds), as do `down` and the guard.
    fn up(env: &TestEnv, port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("oee-cluster-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("run directory");
        let s = &env.settings;
        let vars = vec![
            ("OEE_CLUSTER_DIR", dir.display().to_string()),
            ("OEE_BIN_DIR", oee_testkit::engine_bin_dir().display().to_string()),
            ("DATABASE_URL", s.database_url.clone()),
            ("REDIS_URL", s.redis_url.clone()),
            ("OEE_NAMESPACE", s.namespace.clone()),
            ("OEE_JOB_PARTITIONS", s.job_partitions.to_string()),
            // Swaps take 2–3 s, so sockets join orders in flight and one worker
            // cannot take them all (concurrency 10, 20 orders); one swap in ten
            // fails and is retried.
            ("OEE_VENUE_LATENCY", "realistic".to_owned()),
            ("OEE_VENUE_FAILURE_RATE", "0.1".to_owned()),
            ("OEE_RETRY_BASE_MS", "50".to_owned()),
            ("OEE_WORKER_CONCURRENCY", "10".to_owned()),
            ("OEE_SHUTDOWN_GRACE_MS", "5000".to_owned()),
            ("OEE_CLUSTER_READY_TIMEOUT", "60".to_owned()),
            // Plain lines for the log tails a failure prints.
            ("LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ];
        let mut cluster = Self {
            dir,
            env: vars,
            base: format!("http://127.0.0.1:{port}"),
            processes: BTreeMap::new(),
            stopped: false,
        };
        let args = ["up", "--api", &APIS.to_string(), "--workers", &WORKERS.to_string(), "--port", &port.to_string()];
        let (ok, output) = cluster.script(&args, UP_PATIENCE);
        assert!(ok, "scripts/cluster up failed:\n{output}");
        cluster.processes = cluster.recorded();
        assert_eq!(cluster.processes.len(), usize::from(APIS + WORKERS) + 1, "{:?}", cluster.processes);
        if let Some((nginx, _)) = cluster.processes.get("nginx").cloned() {
            for worker in children(nginx) {
                let started = started_at(worker).expect("nginx worker");
                cluster.processes.insert(format!("nginx-worker-{worker}"), (worker, started));
            }
        }
        cluster
    }

    /// Runs `scripts/cluster <args>` to its end (at most `bound`); whether it
    /// succeeded, and what it printed.
    fn script(&self, args: &[&str], bound: Duration) -> (bool, String) {
        let out = self.dir.join(format!("script-{}.out", args[0]));
        let file = std::fs::File::create(&out).expect("script output file");
        let mut child = Command::new(workspace().join("scripts/cluster"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("output file"))
            .stderr(file)
            .spawn()
            .expect("scripts/cluster runs");
        let status = wait_bounded(&mut child, bound);
        let output = std::fs::read_to_string(&out).unwrap_or_default();
        match status {
            Some(status) => (status.success(), output),
            None => (false, format!("{output}\n(killed after {bound:?})")),
        }
    }

    /// The processes the script's pid files name: "pid start-time port binary".
    fn recorded(&self) -> BTreeMap<String, (u32, String)> {
        let mut found = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir).expect("run directory").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pid") {
                let name = path.file_stem().and_then(|s| s.to_str()).expect("name").to_owned();
                let text = std::fs::read_to_string(&path).expect("pid file");
                let mut fields = text.split_whitespace();
                let pid = fields.next().and_then(|p| p.parse().ok()).expect("pid");
                let started = fields.next().expect("start time").to_owned();
                found.insert(name, (pid, started));
            }
        }
        found
    }

    /// The last lines of every log in the run directory, for a failure report.
    fn log_tails(&self) -> String {
        let mut report = String::new();
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "log")).collect())
            .unwrap_or_default();
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            report.push_str(&format!("--- {}\n", log.display()));
            for line in &lines[lines.len().saturating_sub(15)..] {
                report.push_str(&format!("    {line}\n"));
            }
        }
        report
    }

    /// Runs `scripts/cluster down`; returns its output and the processes that
    /// survived it, which are then killed so that a broken script leaves nothing
    /// behind either.
    fn stop(&mut self) -> (bool, String, Vec<String>) {
        self.stopped = true;
        let (ok, output) = self.script(&["down"], DOWN_PATIENCE);
        let mut survivors = Vec::new();
        for (name, (pid, started)) in &self.processes {
            if started_at(*pid).as_ref() == Some(started) {
                survivors.push(format!("{name} (pid {pid})"));
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        (ok, output, survivors)
    }

    /// Stops the cluster, checks that nothing it started is left, and removes
    /// its run directory. A second `down` must find nothing to do.
    fn down(mut self) {
        let (ok, output, survivors) = self.stop();
        assert!(ok, "scripts/cluster down failed:\n{output}");
        assert!(survivors.is_empty(), "still running after down: {survivors:?}\n{output}");
        let (again, output) = self.script(&["down"], DOWN_PATIENCE);
        assert!(again && output.contains("no cluster running"), "a second down: {output}");
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if std::thread::panicking() {
            eprintln!("cluster logs (kept in {}):\n{}", self.dir.display(), self.log_tails());
        }
        let (_, output, survivors) = self.stop();
        if !survivors.is_empty() {
            eprintln!("still running after scripts/cluster down: {survivors:?}\n{output}");
        }
    }
}

/// Polls `probe` until it yields a value; fails after `PATIENCE`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, probe: impl Fn() -> F) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The sum of a Prometheus counter over all its label sets, if it is there.
fn counter(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_behind_nginx_spreads_orders_and_sockets_over_its_replicas() {
    let env = TestEnv::new().await.expect("test environment");
    let port = free_ports(1 + APIS + WORKERS);
    let cluster = tokio::task::block_in_place(|| Cluster::up(&env, port));
    let http = reqwest::Client::builder().timeout(PATIENCE).build().expect("client");
    let replicas: BTreeSet<String> = (1..=APIS).map(|i| format!("api-{i}")).collect();

    // Submit every order first. Requests interleaved with socket handshakes could
    // fall into step with the round-robin (every POST on one replica, every
    // socket on the other); in two runs of their own, each kind alternates.
    let mut orders = Vec::new();
    let mut accepted_by = BTreeMap::<String, usize>::new();
    for i in 0..ORDERS {
        let body = format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.{}","userId":"cluster"}}"#, i + 1);
        let resp = http
            .post(cluster.url("/api/orders/execute"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST through the balancer");
        let instance = resp.headers().get(INSTANCE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let status = resp.status().as_u16();
        let reply: Value = resp.json().await.expect("JSON reply");
        assert_eq!(status, 202, "{reply}");
        let instance = instance.unwrap_or_else(|| panic!("no {INSTANCE} header on the POST reply"));
        *accepted_by.entry(instance.clone()).or_default() += 1;
        orders.push((reply["orderId"].as_str().expect("orderId").to_owned(), instance));
    }

    // Then one socket per order, handshakes one after another, each for the
    // order after the one accepted just before: with the rotation the replica
    // following an order is, as a rule, not the one that accepted it.
    let mut followers = Vec::new();
    for k in 0..ORDERS {
        let (id, accepted) = orders[(k + 1) % ORDERS].clone();
        let url = format!("ws://127.0.0.1:{port}/api/orders/{id}/ws");
        let (socket, response) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .unwrap_or_else(|_| panic!("no handshake for {url} in {PATIENCE:?}"))
            .unwrap_or_else(|e| panic!("socket through the balancer: {e}"));
        let served = response
            .headers()
            .get(INSTANCE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {INSTANCE} header on the 101 reply"));
        followers.push((
            id,
            accepted,
            served,
            tokio::spawn(async move {
                let f = oee_testkit::follow_socket(socket).await;
                (f.events, f.close)
            }),
        ));
    }

    let mut followed_on = BTreeMap::<String, usize>::new();
    let mut crossed = 0;
    let mut statuses = BTreeMap::<String, usize>::new();
    for (id, accepted, served, follower) in followers {
        let (events, close) = follower.await.expect("follower task");
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{id}: gap or duplicate: {events:?}");
        let terminal: Vec<&str> = events
            .iter()
            .filter_map(|e| e["status"].as_str())
            .filter(|s| matches!(*s, "confirmed" | "failed"))
            .collect();
        assert_eq!(terminal.len(), 1, "{id}: exactly one terminal event: {events:?}");
        let last = events.last().and_then(|e| e["status"].as_str()).unwrap_or_default().to_owned();
        assert!(matches!(last.as_str(), "confirmed" | "failed"), "{id}: the terminal event is last: {events:?}");
        assert_eq!(close, Some(CloseCode::Normal), "{id}: closes with 1000");
        assert!(events.iter().all(|e| e["orderId"] == id.as_str()), "{id}: only its own events");
        *statuses.entry(last).or_default() += 1;
        *followed_on.entry(served.clone()).or_default() += 1;
        crossed += usize::from(served != accepted);
    }

    // Both replicas took submissions and served sockets, and orders were
    // followed on a replica other than the one that took them.
    let posted: BTreeSet<String> = accepted_by.keys().cloned().collect();
    let socketed: BTreeSet<String> = followed_on.keys().cloned().collect();
    assert_eq!(posted, replicas, "replicas that accepted orders: {accepted_by:?}");
    assert_eq!(socketed, replicas, "replicas that served sockets: {followed_on:?}");
    assert!(crossed > 0, "no order was followed on a replica other than the one that accepted it");

    // Every order is terminal in the log too; nothing is left queued, and the
    // two workers are the group's two consumers.
    let db = env.db().await.expect("database");
    let wrong = oee_testkit::ledger_violations(&db).await.expect("ledger check");
    assert!(wrong.is_empty(), "{wrong:#?}");
    let stats = eventually("no job pending and two consumers", || async {
        let stats: Value = http.get(cluster.url("/api/queue/stats")).send().await.ok()?.json().await.ok()?;
        let consumers = stats["consumers"].as_array()?.len();
        (stats["pending"] == 0 && consumers == usize::from(WORKERS)).then_some(stats)
    })
    .await;
    assert_eq!(stats["lag"], 0, "{stats}");
    // A worker's consumer name starts with its instance name.
    let mut names: Vec<&str> =
        stats["consumers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    for (j, name) in (1..=WORKERS).zip(&names) {
        assert!(name.starts_with(&format!("worker-{j}-")), "consumers {names:?}");
    }

    // Each worker finished some of the orders, and together all of them once,
    // by the workers' own metrics, reached through the balancer.
    let finished = eventually("the workers' metrics to count every order", || async {
        let mut per_worker = Vec::new();
        for j in 1..=WORKERS {
            let url = cluster.url(&format!("/replicas/worker-{j}/metrics"));
            let text = http.get(url).send().await.ok()?.text().await.ok()?;
            per_worker.push(counter(&text, "oee_orders_finished_total")?);
        }
        (per_worker.iter().sum::<f64>() >= ORDERS as f64).then_some(per_worker)
    })
    .await;
    assert!(finished.iter().all(|n| *n > 0.0), "a worker finished no order: {finished:?}");
    assert_eq!(finished.iter().sum::<f64>(), ORDERS as f64, "each order finished once: {finished:?}");

    tokio::task::block_in_place(|| cluster.down());
    env.cleanup().await.expect("cleanup");
    eprintln!(
        "accepted by {accepted_by:?}, followed on {followed_on:?}, {crossed} followed elsewhere, \
         outcomes {statuses:?}, finished per worker {finished:?}"
    );
}
