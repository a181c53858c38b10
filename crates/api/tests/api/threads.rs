//! `oee-api` with several HTTP threads. Each thread starts its own Redis
//! clients, hub and PostgreSQL pool (`AppState::start`), so an order submitted
//! through one thread and followed from a socket that another thread holds is
//! heard live only if each thread's own subscription works.

use oee_testkit::Engine;

const ORDER: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.5"}"#;
const ORDERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_a_socket_on_another_http_thread() {
    // Swaps take seconds: every socket opens while its order is in flight.
    let engine = Engine::builder().realistic_venues().start().await;
    let api = engine.api_process(env!("CARGO_BIN_EXE_oee-api"), &[("OEE_HTTP_WORKERS", "2")]).await;
    let port = api.port;
    let base = format!("http://127.0.0.1:{port}");
    // A connection of its own for every request and socket: actix deals new
    // connections to its threads in turn, so each order's submission and its
    // socket land on different threads.
    let mut followers = Vec::new();
    for _ in 0..ORDERS {
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
        let reply = http
            .post(format!("{base}/api/orders/execute"))
            .header("content-type", "application/json")
            .body(ORDER)
            .send()
            .await
            .expect("submits");
        assert_eq!(reply.status().as_u16(), 202);
        let reply: serde_json::Value = reply.json().await.expect("json");
        let id = reply["orderId"].as_str().expect("orderId").to_owned();
        let url = format!("ws://127.0.0.1:{port}/api/orders/{id}/ws");
        followers.push(tokio::spawn(async move { oee_testkit::follow_url(&url).await }));
    }
    for follower in followers {
        let followed = follower.await.expect("follower");
        let seqs = followed.seqs();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gapless: {:?}", followed.events);
        assert_eq!(
            followed.events.last().map(|e| e["status"].clone()),
            Some("confirmed".into()),
            "{:?}",
            followed.events
        );
    }
    // What the sockets heard live came through the threads' own subscribers
    // (a follower whose subscription fails reads the log instead): at least
    // each order's terminal event.
    let exposition = reqwest::get(format!("{base}/metrics")).await.expect("scrape").text().await.expect("text");
    let live = oee_testkit::metric(&exposition, "oee_pubsub_delay_seconds_count").unwrap_or(0.0);
    assert!(live >= ORDERS as f64, "{live} events came through pub/sub for {ORDERS} orders");
    engine.stop().await;
}
