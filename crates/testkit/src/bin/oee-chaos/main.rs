//! `oee-chaos`: a bounded, seeded chaos soak of the whole engine (run by
//! `scripts/chaos`, which adds a Prometheus and its alert report).
//!
//! Two `oee-api` and three `oee-worker` processes run against a Redis primary
//! and replica under three Sentinels and a PostgreSQL primary with a
//! synchronous standby. A careful client submits steadily and follows every
//! order on its socket. At seeded moments one fault is injected (see
//! [`faults::Fault`]), each kind at least once. At the end every accepted
//! order must be in the database with one terminal status, the ledger check
//! must pass, every follower must have received its order's whole log, and no
//! job may be left pending. Prints the faults with what each cost, writes them
//! as JSON for the alert report, and exits 1 if anything was wrong.
//!
//! ```text
//! oee-chaos [--seed N] [--duration-secs N] [--api-ports P,P] [--worker-ports P,P,P]
//!           [--out DIR] [--bin-dir DIR]
//! ```

#![allow(clippy::print_stdout, reason = "printing the soak's report is this program's job")]

mod engine;
mod faults;

use engine::{Common, Kind, Process};
use faults::{Fault, Schedule};
use oee_store::{Bus, RedisSettings};
use oee_testkit::load::{LoadPlan, LoadReport, SteadyLoad};
use oee_testkit::stores::{PrivatePostgres, Replication, SentinelRedis, free_port, redis_cli};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

const ORDER: &str = r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"5"}"#;
/// An order that fails at once (one atom of BONK buys less than a lamport:
/// `INSUFFICIENT_LIQUIDITY`). One in [`FAILING_EVERY`] is sent, so that the
/// dashboard's failure panels have data whether or not the venues' transient
/// failures exhaust an order's retries.
const FAILING: &str = r#"{"tokenIn":"BONK","tokenOut":"SOL","amountIn":"0.00001"}"#;
const FAILING_EVERY: usize = 50;
/// How long a fault with expected alerts holds back the next fault.
const ALERT_WINDOW: Duration = Duration::from_secs(15);
/// How long after the load stops every accepted order must be terminal.
const DRAIN: Duration = Duration::from_secs(180);

struct Args {
    seed: u64,
    duration: Duration,
    api_ports: Vec<u16>,
    worker_ports: Vec<u16>,
    out: PathBuf,
    bin_dir: Option<PathBuf>,
}

fn args() -> Args {
    let mut args = Args {
        seed: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(1),
        duration: Duration::from_secs(120),
        api_ports: Vec::new(),
        worker_ports: Vec::new(),
        out: std::env::temp_dir().join(format!("oee-chaos-{}", std::process::id())),
        bin_dir: None,
    };
    let mut it = std::env::args().skip(1);
    let ports = |v: String| -> Vec<u16> { v.split(',').map(|p| p.parse().expect("a port")).collect() };
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--seed" => args.seed = value.parse().expect("--seed N"),
            "--duration-secs" => args.duration = Duration::from_secs(value.parse().expect("--duration-secs N")),
            "--api-ports" => args.api_ports = ports(value),
            "--worker-ports" => args.worker_ports = ports(value),
            "--out" => args.out = PathBuf::from(value),
            "--bin-dir" => args.bin_dir = Some(PathBuf::from(value)),
            other => panic!("unknown flag {other}"),
        }
    }
    if args.api_ports.is_empty() {
        args.api_ports = (0..2).map(|_| free_port()).collect();
    }
    if args.worker_ports.is_empty() {
        args.worker_ports = (0..3).map(|_| free_port()).collect();
    }
    args
}

/// The stores: Redis under Sentinel; PostgreSQL on two fixed ports, one the
/// primary and the other its synchronous standby, roles swapping on failover.
struct Stores {
    redis: SentinelRedis,
    pg: [Option<PrivatePostgres>; 2],
    ports: [u16; 2],
    primary: usize,
}

impl Stores {
    fn primary(&self) -> &PrivatePostgres {
        self.pg[self.primary].as_ref().expect("a primary")
    }

    async fn db(&self) -> tokio_postgres::Client {
        self.primary().connect("oee").await
    }
}

/// One injected fault and what followed it.
struct Injected {
    at: Duration,
    unix: f64,
    fault: Fault,
    what: String,
    /// How long the fault's own actions took (a failover, a restart).
    handled_in: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    std::fs::create_dir_all(&args.out).expect("out dir");
    let logs = args.out.join("logs");
    std::fs::create_dir_all(&logs).expect("log dir");
    println!(
        "oee-chaos: seed {} for {} s; 2 APIs on {:?}, 3 workers (metrics on {:?}); output in {}",
        args.seed,
        args.duration.as_secs(),
        args.api_ports,
        args.worker_ports,
        args.out.display()
    );
    let wrong = run(&args, &logs).await;
    if wrong.is_empty() {
        println!("oee-chaos: PASS (seed {})", args.seed);
    } else {
        println!("oee-chaos: FAIL (seed {}; rerun with --seed {} to reproduce the schedule)", args.seed, args.seed);
        for w in &wrong {
            println!("  - {w}");
        }
        std::process::exit(1);
    }
}

async fn run(args: &Args, logs: &std::path::Path) -> Vec<String> {
    let redis = SentinelRedis::start();
    let first = PrivatePostgres::start();
    first.create_engine_database().await;
    let second = first.standby(Replication::Synchronous).await;
    let ports = [first.port, second.port];
    let mut stores = Stores { redis, pg: [Some(first), Some(second)], ports, primary: 0 };
    let common = Common {
        bin_dir: engine::bin_dir(args.bin_dir.as_deref()),
        log_dir: logs.to_path_buf(),
        database_url: format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/oee?target_session_attrs=read-write",
            ports[0], ports[1]
        ),
        redis_url: stores.redis.url(),
        namespace: format!("chaos-{}", args.seed),
    };
    let mut processes: Vec<Process> = Vec::new();
    for (i, port) in args.api_ports.iter().enumerate() {
        processes.push(Process::new(Kind::Api, format!("api-{}", i + 1), *port));
    }
    for (i, port) in args.worker_ports.iter().enumerate() {
        processes.push(Process::new(Kind::Worker, format!("worker-{}", i + 1), *port));
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http");
    for p in &mut processes {
        p.start(&common);
    }
    for p in &processes {
        assert!(p.wait_ready(&http, Duration::from_secs(60)).await, "{} never got ready", p.name);
    }
    let names: Vec<String> = processes.iter().map(|p| p.name.clone()).collect();
    let apis = args.api_ports.len();
    let schedule = Schedule::draw(
        args.seed,
        args.duration,
        // Short soaks fit every kind of fault in; long ones leave more time
        // between faults to see the engine settle.
        if args.duration >= Duration::from_secs(300) {
            (Duration::from_secs(15), Duration::from_secs(40))
        } else {
            (Duration::from_secs(6), Duration::from_secs(11))
        },
        Duration::from_secs(10),
        apis,
        args.worker_ports.len(),
    );
    println!("schedule:");
    for (at, fault) in &schedule.faults {
        println!("  {:>6.1} s  {}", at.as_secs_f64(), fault.describe(&names));
    }

    let probing = CancellationToken::new();
    let prober = tokio::spawn(probe(http.clone(), args.api_ports.clone(), probing.clone()));
    let plan = LoadPlan {
        apis: args.api_ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect(),
        bodies: (1..=FAILING_EVERY).map(|n| if n == FAILING_EVERY { FAILING } else { ORDER }.to_owned()).collect(),
        pause: Duration::from_millis(20),
        follow_every: 1,
    };
    let load = SteadyLoad::start(plan);
    let started = Instant::now();
    let mut injected = Vec::new();
    for (at, fault) in &schedule.faults {
        tokio::time::sleep_until((started + *at).into()).await;
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64();
        let what = fault.describe(&names);
        let t = Instant::now();
        println!("{:>6.1} s  {what}", (t - started).as_secs_f64());
        inject(*fault, &mut stores, &mut processes, &common, &http).await;
        let handled_in = t.elapsed();
        if !fault.expected_alerts().is_empty() {
            // The next fault waits until this one's alerts have had time to
            // fire: metrics are sampled every 5 s, scraped and evaluated every 1 s.
            tokio::time::sleep_until((t + ALERT_WINDOW).into()).await;
        }
        injected.push(Injected { at: t - started, unix, fault: *fault, what, handled_in });
    }
    tokio::time::sleep_until((started + args.duration).into()).await;
    let report = load.stop().await;
    let ended = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64();
    std::fs::write(args.out.join("load-ended"), format!("{ended:.3}\n")).expect("load-ended");
    let mut wrong = check(&stores, &common.namespace, report, &injected, started).await;
    probing.cancel();
    let _ = prober.await;

    write_faults(&args.out, &injected);
    for p in &mut processes {
        if p.running() && p.terminate(Duration::from_secs(15)).is_none() {
            wrong.push(format!("{} did not stop within 15 s of SIGTERM", p.name));
        }
    }
    drop(stores);
    wrong
}

/// Every 2 s, on each API: a readiness probe, as a kubelet makes them (the
/// readiness alerts count them), and a submission that must be refused (an
/// unknown token), as some clients always send.
async fn probe(http: reqwest::Client, ports: Vec<u16>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        for port in &ports {
            let _ = http.get(format!("http://127.0.0.1:{port}/ready")).send().await;
            let _ = http
                .post(format!("http://127.0.0.1:{port}/api/orders/execute"))
                .header("content-type", "application/json")
                .body(r#"{"tokenIn":"USDC","tokenOut":"NOPE","amountIn":"5"}"#)
                .send()
                .await;
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// Injects one fault and undoes it as operators (or their automation) would.
/// Stores and processes are driven by blocking calls: they run in
/// `block_in_place`, so the load and the followers keep the other thread.
async fn inject(fault: Fault, stores: &mut Stores, processes: &mut [Process], common: &Common, http: &reqwest::Client) {
    use tokio::task::block_in_place;
    match fault {
        Fault::KillApi(i) | Fault::KillWorker(i) | Fault::WorkerOutage(i) | Fault::ApiOutage(i) => {
            block_in_place(|| processes[i].kill());
            let down = match fault {
                Fault::KillApi(_) => Duration::from_secs(2),
                Fault::KillWorker(_) => Duration::from_secs(3),
                _ => faults::OUTAGE,
            };
            tokio::time::sleep(down).await;
            restart(&mut processes[i], common, http).await;
        }
        Fault::PoisonJob => {
            let settings = redis_settings(&stores.redis, &common.namespace);
            match oee_store::redis::client(&settings).await {
                Ok(client) => {
                    use fred::prelude::StreamsInterface;
                    let stream = settings.keys().stream(0);
                    let nobody = uuid::Uuid::now_v7().to_string();
                    let queued: Result<String, _> =
                        client.xadd(stream, false, None, "*", vec![("order", nobody.as_str())]).await;
                    if let Err(e) = queued {
                        println!("         could not queue the job: {e}");
                    }
                }
                Err(e) => println!("         could not reach Redis: {e}"),
            }
        }
        Fault::StopApi(i) | Fault::StopWorker(i) => {
            if let Some(code) = block_in_place(|| processes[i].terminate(Duration::from_secs(20))) {
                if code != 0 {
                    println!("         {} exited with {code} after SIGTERM", processes[i].name);
                }
            } else {
                println!("         {} did not exit within 20 s of SIGTERM; killed", processes[i].name);
            }
            restart(&mut processes[i], common, http).await;
        }
        Fault::Pause(i, d) => {
            processes[i].signal("STOP");
            tokio::time::sleep(d).await;
            processes[i].signal("CONT");
        }
        Fault::KillRedisPrimary => {
            let old = block_in_place(|| stores.redis.kill_primary());
            let took = block_in_place(|| stores.redis.wait_for_new_primary(old, Duration::from_secs(60)));
            println!("         sentinels promoted a new primary in {:.1} s", took.as_secs_f64());
            tokio::time::sleep(Duration::from_secs(2)).await;
            block_in_place(|| {
                stores.redis.restart(old);
                stores.redis.wait_until_replicated(Duration::from_secs(60));
            });
        }
        Fault::KillPostgresPrimary => {
            let (old, new) = (stores.primary, 1 - stores.primary);
            block_in_place(|| stores.pg[old].as_ref().expect("primary").kill9());
            tokio::time::sleep(Duration::from_secs(1)).await;
            block_in_place(|| stores.pg[new].as_ref().expect("standby").promote());
            stores.primary = new;
            // The dead primary is rebuilt as the new one's synchronous standby,
            // on its old port (the engine's host list stays right).
            block_in_place(|| drop(stores.pg[old].take()));
            let rebuilt = stores.primary().standby_at(stores.ports[old], Replication::Synchronous).await;
            stores.pg[old] = Some(rebuilt);
        }
        Fault::DropConnections => {
            block_in_place(|| {
                if let Some(port) = stores.redis.primary_port() {
                    redis_cli(port, &["CLIENT", "KILL", "TYPE", "normal"]);
                    redis_cli(port, &["CLIENT", "KILL", "TYPE", "pubsub"]);
                }
            });
            let db = stores.primary().connect("postgres").await;
            let _ = db
                .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'oee'", &[])
                .await;
        }
    }
}

async fn restart(process: &mut Process, common: &Common, http: &reqwest::Client) {
    process.start(common);
    if !process.wait_ready(http, Duration::from_secs(60)).await {
        println!("         {} did not get ready within 60 s of its restart", process.name);
    }
}

/// The end-of-soak checks; returns what is wrong.
async fn check(
    stores: &Stores,
    namespace: &str,
    report: LoadReport,
    injected: &[Injected],
    started: Instant,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let soak = started.elapsed();
    let accepted = report.accepted.len();
    println!(
        "load: {accepted} orders accepted in {:.0} s ({:.1}/s); {} requests refused with 503, {} cut; slowest answer {:.2} s",
        soak.as_secs_f64(),
        accepted as f64 / soak.as_secs_f64(),
        report.count(Some(503)),
        report.count(None),
        report.slowest().as_secs_f64()
    );
    if report.slowest() > Duration::from_secs(10) {
        wrong.push(format!("a request took {:?} to answer", report.slowest()));
    }
    if report.count(Some(500)) > 0 {
        wrong.push(format!("{} requests answered 500", report.count(Some(500))));
    }
    println!("faults:");
    for (n, f) in injected.iter().enumerate() {
        let until = injected.get(n + 1).map_or(soak, |next| next.at);
        let recovered = report.recovered_after(started + f.at);
        let refused = report
            .attempts
            .iter()
            .filter(|a| a.status != Some(202) && a.started >= started + f.at && a.started < started + until)
            .count();
        println!(
            "  {:>6.1} s  {:<52} handled in {:>5.1} s; next acceptance after {}; {refused} requests refused",
            f.at.as_secs_f64(),
            f.what,
            f.handled_in.as_secs_f64(),
            recovered.map_or("never".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()))
        );
    }

    // Every accepted order reaches a terminal status.
    let db = stores.db().await;
    let deadline = Instant::now() + DRAIN;
    let unfinished = loop {
        let open: i64 = db
            .query_one(
                "SELECT count(*) FROM orders WHERE status NOT IN ('confirmed', 'failed', 'cancelled', 'expired')",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        if open == 0 || Instant::now() > deadline {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if unfinished > 0 {
        wrong.push(format!("{unfinished} orders not terminal {DRAIN:?} after the load stopped"));
    }
    let rows = db.query("SELECT id::text, status FROM orders", &[]).await.expect("orders");
    let stored: HashMap<String, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let lost = report.accepted.iter().filter(|id| !stored.contains_key(*id)).count();
    if lost > 0 {
        wrong.push(format!("{lost} accepted orders are not in the database"));
    }
    if stored.len() != accepted {
        wrong.push(format!("{} orders stored for {accepted} acceptances", stored.len()));
    }
    let mut by_status: HashMap<&str, usize> = HashMap::new();
    for status in stored.values() {
        *by_status.entry(status.as_str()).or_default() += 1;
    }
    println!("orders by status: {by_status:?}");

    // Every follower received its order's whole log, as the database holds it.
    let mut incomplete = 0;
    let mut differing = 0;
    let followers = report.followers.len();
    for (id, follower) in report.followers {
        let Ok(followed) = follower.await else {
            incomplete += 1;
            continue;
        };
        let uuid: uuid::Uuid = id.parse().expect("uuid");
        let log = oee_testkit::order_log(&db, uuid).await.expect("events");
        if followed.events != log {
            differing += 1;
            if differing <= 3 {
                println!("  follower of {id} received {} events; the log holds {}", followed.events.len(), log.len());
            }
        }
    }
    println!("followers: {followers}, {incomplete} never finished, {differing} received other than the log");
    if incomplete + differing > 0 {
        wrong.push(format!("{incomplete} followers never finished and {differing} received other than the log"));
    }

    let violations = oee_testkit::ledger_violations(&db).await.expect("ledger");
    println!("ledger check: {} violations", violations.len());
    for v in violations.iter().take(10) {
        wrong.push(format!("ledger: {v}"));
    }

    // Nothing left pending on the job stream.
    let settings = redis_settings(&stores.redis, namespace);
    match oee_store::redis::client(&settings).await.map(|c| Bus::new(c, &settings)) {
        Ok(bus) => match bus.jobs.stats().await {
            Ok(stats) => {
                println!(
                    "job stream: {} entries, {} pending, lag {}, {} dead letters",
                    stats.length, stats.pending, stats.lag, stats.dead_letters
                );
                if stats.pending > 0 {
                    wrong.push(format!("{} jobs still pending", stats.pending));
                }
            }
            Err(e) => wrong.push(format!("could not read the job stream: {e}")),
        },
        Err(e) => wrong.push(format!("could not reach Redis: {e}")),
    }
    wrong
}

fn redis_settings(redis: &SentinelRedis, namespace: &str) -> RedisSettings {
    RedisSettings {
        url: redis.url(),
        namespace: namespace.to_owned(),
        partitions: engine::PARTITIONS,
        timeout: Duration::from_secs(5),
    }
}

fn write_faults(out: &std::path::Path, injected: &[Injected]) {
    let faults: Vec<serde_json::Value> = injected
        .iter()
        .map(|f| serde_json::json!({ "at": f.unix, "fault": f.what, "expect": f.fault.expected_alerts() }))
        .collect();
    let path = out.join("faults.json");
    std::fs::write(&path, serde_json::to_string_pretty(&faults).expect("json")).expect("faults.json");
    println!("faults written to {}", path.display());
}
