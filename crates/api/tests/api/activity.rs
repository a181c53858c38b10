//! `GET /api/activity`: throughput and latency over the last minutes, from the
//! system of record, so every replica gives the same figures.

use oee_testkit::Engine;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_counts_every_order_by_acceptance_and_times_the_ended_ones() {
    let engine = Engine::builder().apis(2).start().await;
    let (status, empty) = engine.get(0, "/api/activity").await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["bucketSeconds"], 5, "five minutes by default, in 60 buckets");
    assert_eq!(empty["buckets"].as_array().map(Vec::len), Some(60));
    let total = |body: &Value, field: &str| -> u64 {
        body["buckets"].as_array().expect("buckets").iter().map(|b| b[field].as_u64().expect("a count")).sum()
    };
    assert_eq!(total(&empty, "accepted"), 0);

    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(engine.accepted(&format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.{}"}}"#, i + 1)).await);
    }
    // One atom of BONK buys less than one lamport on either venue: it fails.
    let failing = engine.accepted(r#"{"tokenIn":"BONK","tokenOut":"SOL","amountIn":"0.00001"}"#).await;
    for id in ids.iter().chain([&failing]) {
        engine.until_terminal(id).await;
    }
    // Both replicas read the same record.
    for replica in 0..2 {
        let (status, body) = engine.get(replica, "/api/activity?minutes=1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["bucketSeconds"], 1);
        assert_eq!(total(&body, "accepted"), 13, "{body}");
        assert_eq!(total(&body, "confirmed"), 12, "{body}");
        assert_eq!(total(&body, "failed"), 1, "{body}");
        assert_eq!(total(&body, "inFlight"), 0, "{body}");
        let timed: Vec<&Value> =
            body["buckets"].as_array().expect("buckets").iter().filter(|b| b["accepted"] != 0).collect();
        assert!(!timed.is_empty());
        for bucket in timed {
            let (p50, p99) = (bucket["p50Ms"].as_u64().expect("p50"), bucket["p99Ms"].as_u64().expect("p99"));
            assert!(p50 <= p99, "{bucket}");
        }
    }
    for bad in ["0", "61", "x", "-1"] {
        let (status, body) = engine.get(0, &format!("/api/activity?minutes={bad}")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some("minutes")), "{bad}: {body}");
    }
    engine.stop().await;
}
