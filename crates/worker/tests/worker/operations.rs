//! The worker's operations endpoint: metrics that follow the work, and probes.

use oee_testkit::{TestEnv, metric};
use oee_worker::ops;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn submit(env: &TestEnv, body: &str) -> Uuid {
    env.queue_order(body).await.expect("order queued")
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, String) {
    let response = http.get(url).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

fn value(text: &str, series: &str) -> f64 {
    metric(text, series).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_work_and_probes_answer() {
    let env = TestEnv::new().await.expect("env");
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    let stop = CancellationToken::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = ops::serve(listener, ops::Probe::new(&worker, stop.clone(), Duration::from_secs(2))).expect("serve");
    let endpoint = server.handle();
    tokio::spawn(server);
    let http = reqwest::Client::new();
    let (_, before) = get(&http, &format!("{base}/metrics")).await;

    env.bus().await.expect("bus").enqueue(Uuid::now_v7()).await.expect("a job naming no order");
    for amount in ["1", "2"] {
        submit(&env, &format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"{amount}"}}"#)).await;
    }
    assert_eq!(worker.run_until_idle().await.expect("run"), 3);
    let sampler = tokio::spawn(ops::sample_queue(worker.bus().clone(), stop.clone()));

    let (status, after) = get(&http, &format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(delta(r#"oee_orders_finished_total{status="confirmed",code=""}"#), 2.0, "{after}");
    assert_eq!(delta(r#"oee_order_duration_seconds_count{status="confirmed"}"#), 2.0, "{after}");
    assert_eq!(delta("oee_queue_wait_seconds_count"), 2.0);
    assert_eq!(delta("oee_routing_duration_seconds_count"), 2.0);
    assert_eq!(delta("oee_execution_duration_seconds_count"), 2.0);
    assert_eq!(delta(r#"oee_dead_letters_total{reason="no_order"}"#), 1.0, "{after}");
    assert_eq!(value(&after, "oee_jobs_in_flight"), 0.0);

    // The sampler reads the stream at once: three entries, none pending, one dead letter.
    let mut sampled = String::new();
    for _ in 0..40 {
        sampled = get(&http, &format!("{base}/metrics")).await.1;
        if value(&sampled, "oee_dead_letter_length") == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(value(&sampled, "oee_stream_length"), 3.0, "{sampled}");
    assert_eq!(value(&sampled, "oee_stream_pending"), 0.0);
    assert_eq!(value(&sampled, "oee_stream_lag"), 0.0);
    assert_eq!(value(&sampled, "oee_dead_letter_length"), 1.0);

    assert_eq!(get(&http, &format!("{base}/health")).await.0, 200);
    let (status, body) = get(&http, &format!("{base}/ready")).await;
    assert_eq!(status, 200, "{body}");
    stop.cancel();
    let (status, body) = get(&http, &format!("{base}/ready")).await;
    assert_eq!((status, body.contains("stopping")), (503, true), "a stopping worker is not ready: {body}");
    sampler.await.expect("the sampler ends with the stop");
    endpoint.stop(true).await;
    env.cleanup().await.expect("cleanup");
}

#[test]
fn metrics_list_prints_every_series_name_once_without_any_store() {
    // No configuration, database or Redis: an unreachable store must not matter.
    let output = Command::new(env!("CARGO_BIN_EXE_oee-worker"))
        .args(["metrics", "--list"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .output()
        .expect("oee-worker runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let names: Vec<&str> = text.lines().collect();
    for known in ["oee_orders_finished_total", "oee_order_duration_seconds_bucket", "oee_stream_lag"] {
        assert!(names.contains(&known), "{known} missing:\n{text}");
    }
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "a name listed twice:\n{text}");
    assert_eq!(names, oee_worker::metrics::METRICS.series_names(), "the binary lists its registry");
}

/// A second worker started with the defaults on one host used to stop with only
/// "Address already in use"; it must say which variable gives it its own address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_metrics_address_stops_the_worker_naming_the_variable() {
    let env = TestEnv::new().await.expect("env");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let s = &env.settings;
    let mut child = Command::new(env!("CARGO_BIN_EXE_oee-worker"))
        .env("DATABASE_URL", &s.database_url)
        .env("REDIS_URL", &s.redis_url)
        .env("OEE_NAMESPACE", &s.namespace)
        .env("OEE_JOB_PARTITIONS", s.job_partitions.to_string())
        .env("OEE_METRICS_ADDR", addr.to_string())
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("oee-worker starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("oee-worker kept running on a taken OEE_METRICS_ADDR");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("read");
    assert!(!status.success());
    assert!(stderr.contains(&format!("binding {addr}: ")), "{stderr}");
    assert!(
        stderr.contains("OEE_METRICS_ADDR is the address oee-worker serves /metrics, /health and /ready"),
        "{stderr}"
    );
    assert!(stderr.contains("e.g. OEE_METRICS_ADDR=127.0.0.1:"), "{stderr}");
    drop(taken);
    env.cleanup().await.expect("cleanup");
}

/// A process configured with another `OEE_JOB_PARTITIONS` than the rest of its
/// namespace would queue jobs and publish events under names nobody reads: it
/// refuses to start, saying how to change the count. The first process records
/// the count; one with the same count starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_another_partition_count_than_its_namespace_refuses_to_start() {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.job_partitions = 2;
    oee_worker::build(&env.settings).await.expect("the first worker records the count");
    oee_worker::build(&env.settings).await.expect("one with the same count starts");
    env.settings.job_partitions = 3;
    let refused = oee_worker::build(&env.settings).await.expect_err("another count is refused");
    let message = format!("{refused:#}");
    assert!(message.contains("OEE_JOB_PARTITIONS is 3, but namespace"), "{message}");
    assert!(message.contains("laid out for 2 partitions"), "{message}");
    assert!(message.contains(":partitions 3)"), "says how to change it: {message}");
    env.cleanup().await.expect("cleanup");
}
