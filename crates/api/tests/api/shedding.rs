//! Overload shedding: past `OEE_MAX_QUEUE_LAG` jobs waiting for a worker, new
//! orders are refused with 503 `OVERLOADED` and `Retry-After`, nothing stored;
//! once workers catch up, orders are accepted again.

use oee_testkit::{Engine, PATIENCE};
use std::time::{Duration, Instant};

const ORDER: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.1"}"#;
const LIMIT: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_shed_past_the_lag_bound_and_accepted_again_once_workers_catch_up() {
    // No worker: every accepted order stays in the queue, so the lag only grows.
    let mut engine = Engine::builder().without_worker().configure(|s| s.max_queue_lag = LIMIT).start().await;
    let url = engine.url(0, "/api/orders/execute");
    let http = engine.http.clone();
    let submit = || http.post(&url).header("content-type", "application/json").body(ORDER).send();

    let mut accepted = 0;
    let deadline = Instant::now() + PATIENCE;
    let shed = loop {
        let response = submit().await.expect("request");
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => break response,
            other => panic!("unexpected {other}"),
        }
        assert!(Instant::now() < deadline, "never shed after {accepted} orders");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(accepted > LIMIT, "shed only past the bound: {accepted} accepted");
    assert_eq!(shed.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: serde_json::Value = shed.json().await.expect("body");
    assert_eq!(body["error"]["code"], "OVERLOADED", "{body}");
    let db = engine.env.db().await.expect("db");
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(stored, i64::try_from(accepted).expect("few"), "a shed order leaves nothing behind");

    // A worker drains the queue; submissions are accepted again.
    engine.start_worker().await;
    let deadline = Instant::now() + PATIENCE;
    while submit().await.expect("request").status().as_u16() != 202 {
        assert!(Instant::now() < deadline, "still shedding after the queue drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.stop().await;
}
