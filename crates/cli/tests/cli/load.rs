//! `oee-bench load` against a real engine: one `oee-api` (requiring API keys)
//! and one `oee-worker` started from the target directory, over this test's own
//! database and Redis namespace. A small open-loop run over each transport must see every order
//! confirmed and every stream whole, and write a report that says so.
//!
//! The engine's binaries come from the target directory this test was built
//! into (`cargo build --workspace --bins` first; `scripts/test` does), or from
//! `OEE_BIN_DIR`.

use oee_testkit::TestEnv;
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ORDERS: u64 = 60;

/// A free port below the ephemeral range, so outgoing connections of tests
/// running beside this one cannot take it before the API binds it.
fn free_port() -> u16 {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut port = 20_000 + u16::try_from((seed ^ std::process::id()) % 10_000).unwrap_or(0);
    for _ in 0..500 {
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
        port = 20_000 + (port - 20_000 + 61) % 10_000;
    }
    panic!("no free port found");
}

/// Child processes, killed when the test ends however it ends.
struct Engine(Vec<Child>);

impl Drop for Engine {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start(bin: &Path, env: &TestEnv, extra: &[(&str, String)]) -> Child {
    let s = &env.settings;
    let mut command = Command::new(bin);
    command
        .env("DATABASE_URL", &s.database_url)
        .env("REDIS_URL", &s.redis_url)
        .env("OEE_NAMESPACE", &s.namespace)
        .env("OEE_JOB_PARTITIONS", s.job_partitions.to_string())
        .env("OEE_VENUE_LATENCY", "instant")
        .env("OEE_VENUE_FAILURE_RATE", "0")
        .env("OEE_SIM_TICK_MS", s.sim_tick.as_millis().to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, value) in extra {
        command.env(key, value);
    }
    command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("{base}/ready")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the API at {base} did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `oee-bench load` with `args`; its exit code and JSON report.
fn bench(args: &[&str], json: &Path) -> (Option<i32>, Option<Value>) {
    let output = Command::new(env!("CARGO_BIN_EXE_oee-bench"))
        .arg("load")
        .args(args)
        .arg("--json")
        .arg(json)
        .arg("--quiet")
        .output()
        .expect("oee-bench runs");
    let report = std::fs::read_to_string(json).ok().and_then(|text| serde_json::from_str(&text).ok());
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stdout));
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    (output.status.code(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_is_confirmed_and_every_stream_is_whole() {
    let env = TestEnv::new().await.expect("a test environment");
    let dir = oee_testkit::engine_bin_dir();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let engine = Engine(vec![
        start(&dir.join("oee-api"), &env, &[("OEE_HTTP_ADDR", format!("127.0.0.1:{port}"))]),
        start(
            &dir.join("oee-worker"),
            &env,
            &[("OEE_METRICS_ADDR", "127.0.0.1:0".to_owned()), ("OEE_WORKER_CONCURRENCY", "32".to_owned())],
        ),
    ]);
    wait_ready(&base).await;
    // The engine requires keys (the default): the generator presents one whose
    // limit does not bind.
    let created = Command::new(dir.join("oee-api"))
        .args(["keys", "create", "--account", "bench", "--rate", "1000000", "--burst", "1000000"])
        .env("DATABASE_URL", &env.settings.database_url)
        .output()
        .expect("oee-api keys create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let created: Value = serde_json::from_slice(&created.stdout).expect("one JSON line");
    let key = created["key"].as_str().expect("key").to_owned();
    let scratch = std::env::temp_dir().join(format!("oee-bench-load-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch directory");

    let count = ORDERS.to_string();
    for transport in ["http", "ws"] {
        let json = scratch.join(format!("{transport}.json"));
        let (code, report) = bench(
            &[
                "--url",
                &base,
                "--key",
                &key,
                "--transport",
                transport,
                "--connections",
                "2",
                "--rate",
                "100",
                "--count",
                &count,
            ],
            &json,
        );
        assert_eq!(code, Some(0), "{transport}: oee-bench failed");
        let report = report.unwrap_or_else(|| panic!("{transport}: no JSON report"));
        assert_eq!(report["config"]["transport"], transport);
        assert_eq!(report["orders"]["sent"], ORDERS, "{transport}: {report}");
        assert_eq!(report["orders"]["accepted"], ORDERS, "{transport}: {report}");
        assert_eq!(report["orders"]["confirmed"], ORDERS, "{transport}: {report}");
        assert_eq!(report["orders"]["followed"], ORDERS, "{transport}: {report}");
        assert_eq!(report["events"]["clean"], true, "{transport}: {report}");
        // pending, routing, building, submitted, confirmed
        assert_eq!(report["events"]["received"], 5 * ORDERS, "{transport}: {report}");
        assert_eq!(report["latencyMs"]["accept"]["count"], ORDERS);
        assert_eq!(report["latencyMs"]["submitToConfirmed"]["count"], ORDERS);
        assert_eq!(report["run"]["drainTimedOut"], false);
    }

    // A sample: every fourth order followed, the rest only submitted.
    let json = scratch.join("sample.json");
    let (code, report) =
        bench(&["--url", &base, "--key", &key, "--concurrency", "8", "--count", "40", "--follow", "0.25"], &json);
    assert_eq!(code, Some(0));
    let report = report.expect("a JSON report");
    assert_eq!(report["orders"]["accepted"], 40);
    assert_eq!(report["orders"]["followed"], 10);
    assert_eq!(report["orders"]["confirmed"], 10);

    // Nothing listens here: every submission fails, and the run still completes.
    let json = scratch.join("refused.json");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (code, report) = bench(&["--url", &dead, "--rate", "50", "--count", "5", "--timeout", "5"], &json);
    assert_eq!(code, Some(0));
    let report = report.expect("a JSON report");
    assert_eq!(report["orders"]["submitErrors"], 5);
    assert_eq!(report["orders"]["accepted"], 0);

    // Usage errors exit with 2 and write nothing.
    let json = scratch.join("usage.json");
    assert_eq!(bench(&["--url", &base, "--count", "5"], &json), (Some(2), None));

    drop(engine);
    let _ = std::fs::remove_dir_all(&scratch);
    env.cleanup().await.expect("cleanup");
}
