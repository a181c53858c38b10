//! `GET /metrics` and the replica header, against a running engine.

use futures::{SinkExt, StreamExt};
use oee_testkit::Engine;
use oee_testkit::metric;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const SOL_USDC: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}"#;

async fn scrape(engine: &Engine) -> String {
    // As Prometheus asks: OpenMetrics.
    let response = engine
        .http
        .get(engine.url(0, "/metrics"))
        .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    // As anyone else asks: Prometheus text, as the contract names it.
    let plain = engine.http.get(engine.url(0, "/metrics")).send().await.expect("scrape");
    assert_eq!(plain.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.expect("body")
}

fn value(text: &str, series: &str) -> f64 {
    metric(text, series).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_orders_rejections_requests_sockets_and_fan_out() {
    let engine = Engine::builder().configure(move |s| s.instance = "api-under-test".to_owned()).start().await;
    let before = scrape(&engine).await;

    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(engine.accepted(SOL_USDC).await);
    }
    let (status, _) = engine.submit(r#"{"tokenIn":"SOL","tokenOut":"NOPE","amountIn":"1"}"#).await;
    assert_eq!(status, 400);
    for id in &ids {
        engine.follow(0, id, None).await.assert_complete_from(1);
    }

    // The sockets close after the terminal event; their gauge follows shortly.
    let mut after = scrape(&engine).await;
    for _ in 0..50 {
        if value(&after, r#"oee_ws_sockets_open{kind="follow"}"#) == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(&engine).await;
    }
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(delta(r#"oee_orders_accepted_total{channel="http"}"#), 3.0, "{after}");
    assert_eq!(delta(r#"oee_orders_rejected_total{code="UNKNOWN_TOKEN"}"#), 1.0, "{after}");
    assert_eq!(delta(r#"oee_http_requests_total{method="POST",route="/api/orders/execute",status="202"}"#), 3.0);
    assert_eq!(delta(r#"oee_http_requests_total{method="POST",route="/api/orders/execute",status="400"}"#), 1.0);
    assert_eq!(delta("oee_accept_duration_seconds_count"), 4.0, "every submission is timed");
    assert!(delta("oee_accept_duration_seconds_sum") > 0.0);
    // Three orders of five events each reached their followers (live or, for
    // orders that finished before their socket opened, from the log).
    assert!(delta("oee_ws_events_sent_total") >= 15.0, "{after}");
    assert_eq!(value(&after, r#"oee_ws_sockets_open{kind="follow"}"#), 0.0, "{after}");
    assert!(value(&after, "process_resident_memory_bytes") > 0.0);

    // An order submitted on the submit socket is followed from before it is
    // queued: every event after `pending` crosses pub/sub, and is timed doing so.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(engine.ws_url(0, "/api/orders/execute")).await.expect("upgrade");
    socket.send(Message::text(SOL_USDC)).await.expect("send");
    let mut seen = 0;
    while seen < 6 {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => seen += 1, // the reply, then five events
            Ok(Some(Ok(_))) => {}
            other => panic!("the submit socket ended early: {other:?}"),
        }
    }
    let live = scrape(&engine).await;
    let crossed = value(&live, "oee_pubsub_delay_seconds_count") - value(&after, "oee_pubsub_delay_seconds_count");
    assert_eq!(crossed, 4.0, "routing, building, submitted and confirmed came live: {live}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_names_the_replica_that_answered() {
    let engine = Engine::builder().without_worker().configure(move |s| s.instance = "api-7".to_owned()).start().await;
    for path in ["/health", "/api/orders/not-an-id", "/no/such/route"] {
        let response = engine.http.get(engine.url(0, path)).send().await.expect("request");
        assert_eq!(response.headers()["x-oee-instance"], "api-7", "{path}");
    }
    let id = engine.accepted(SOL_USDC).await;
    let (_, upgrade) =
        tokio_tungstenite::connect_async(engine.ws_url(0, &format!("/api/orders/{id}/ws"))).await.expect("upgrade");
    assert_eq!(upgrade.status(), 101);
    assert_eq!(upgrade.headers()["x-oee-instance"], "api-7", "the upgrade names its replica too");
    engine.stop().await;
}

#[test]
fn metrics_list_prints_every_series_name_once_without_any_store() {
    // No configuration, database or Redis: an unreachable store must not matter.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_oee-api"))
        .args(["metrics", "--list"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .output()
        .expect("oee-api runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let names: Vec<&str> = text.lines().collect();
    for known in ["oee_orders_accepted_total", "oee_accept_duration_seconds_bucket", "oee_ws_sockets_open"] {
        assert!(names.contains(&known), "{known} missing:\n{text}");
    }
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "a name listed twice:\n{text}");
    assert_eq!(names, oee_api::metrics::METRICS.series_names(), "the binary lists its registry");

    let bare = std::process::Command::new(env!("CARGO_BIN_EXE_oee-api")).arg("metrics").output().expect("runs");
    assert!(!bare.status.success(), "`metrics` alone is a usage error");
    assert!(String::from_utf8_lossy(&bare.stderr).contains("--list"));
}
