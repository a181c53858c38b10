//! Outages with real processes: the test runs a Redis of its own (append-only
//! persistence on), kills it mid-load and starts it again.

use oee_router::Latency;
use oee_testkit::Engine;
use oee_testkit::stores::{PrivatePostgres, PrivateRedis};
use std::time::{Duration, Instant};

const ORDER: &str = r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"5"}"#;

/// Submits until `accepted` holds `target` orders, waiting out 503s (a store
/// coming back), for at most `patience`.
async fn submit_until(engine: &Engine, accepted: &mut Vec<String>, target: usize, patience: Duration) {
    let deadline = Instant::now() + patience;
    while accepted.len() < target {
        let (status, body) = engine.submit(ORDER).await;
        match status {
            202 => accepted.push(body["orderId"].as_str().expect("id").to_owned()),
            503 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("unexpected {other}: {body}"),
        }
        assert!(Instant::now() < deadline, "submissions never recovered");
    }
}

/// Every accepted order confirmed with a gapless log, nothing else stored, one
/// swap each, and the shared ledger check.
async fn assert_every_accepted_order_confirmed_once(engine: &Engine, accepted: &[String], db: &tokio_postgres::Client) {
    for id in accepted {
        let order = engine.until_terminal(id).await;
        assert_eq!(order["status"], "confirmed", "{order}");
    }
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(stored, accepted.len() as i64, "refused submissions left nothing behind");
    let swaps: i64 = db.query_one("SELECT count(*) FROM chain.transactions", &[]).await.expect("count").get(0);
    assert_eq!(swaps, accepted.len() as i64, "one swap per order");
    let wrong = oee_testkit::ledger_violations(db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_load_loses_nothing_accepted() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let engine = Engine::builder()
        .configure(move |s| {
            s.redis_url = url.clone();
            s.store_timeout = Duration::from_millis(1_000);
            s.sweep_age = Duration::from_millis(1_000);
        })
        .start()
        .await;
    let mut accepted = Vec::new();
    for _ in 0..30 {
        accepted.push(engine.accepted(ORDER).await);
    }

    redis.kill();
    // While Redis is down: a prompt 503 naming it, and nothing left behind.
    let (status, ready) = engine.get(0, "/ready").await;
    assert_eq!((status, ready["redis"].as_str()), (503, Some("down")), "{ready}");
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = engine.submit(ORDER).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("UNAVAILABLE")), "{body}");
        assert!(started.elapsed() < Duration::from_secs(5), "answered in bounded time: {:?}", started.elapsed());
    }

    redis.spawn();
    // Back: submissions succeed again once the clients have reconnected.
    submit_until(&engine, &mut accepted, 45, Duration::from_secs(20)).await;
    let db = engine.env.db().await.expect("db");
    assert_every_accepted_order_confirmed_once(&engine, &accepted, &db).await;
    // No job of a refused submission reached Redis once it was back: the
    // refused orders were deleted, so each would be dead-lettered.
    let stats = engine.env.bus().await.expect("bus").jobs.stats().await.expect("stats");
    assert_eq!(stats.dead_letters, 0, "jobs of refused orders were queued after the outage");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_crash_mid_load_loses_nothing_accepted() {
    let pg = PrivatePostgres::start();
    let engine = pg
        .engine()
        .await
        .configure(|s| {
            s.venue_latency = Latency::Realistic;
            s.worker_concurrency = 32;
            s.store_timeout = Duration::from_millis(1_000);
            s.tx_validity = Duration::from_secs(3);
            s.reclaim_idle = Duration::from_millis(2_000);
            s.sweep_age = Duration::from_millis(1_000);
        })
        .start()
        .await;
    let mut accepted = Vec::new();
    for _ in 0..20 {
        accepted.push(engine.accepted(ORDER).await);
    }
    tokio::time::sleep(Duration::from_millis(800)).await; // orders in flight

    pg.crash();
    let (status, ready) = engine.get(0, "/ready").await;
    assert_eq!((status, ready["postgres"].as_str()), (503, Some("down")), "{ready}");
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = engine.submit(ORDER).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("UNAVAILABLE")), "{body}");
        assert!(started.elapsed() < Duration::from_secs(5), "answered in bounded time: {:?}", started.elapsed());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    pg.start_server();
    submit_until(&engine, &mut accepted, 30, Duration::from_secs(30)).await;
    let db = pg.connect("oee").await;
    assert_every_accepted_order_confirmed_once(&engine, &accepted, &db).await;
    engine.stop().await;
}

/// Follows a socket until the order ends or the connection dies; returns what it
/// saw and whether it ended normally (a close frame).
async fn follow_until_cut(url: &str) -> (Vec<serde_json::Value>, bool) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    let mut events = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(20), socket.next()).await {
        match message {
            Ok(Message::Text(text)) => events.push(serde_json::from_str(&text).expect("json")),
            Ok(Message::Close(_)) => return (events, true),
            Ok(_) => {}
            Err(_) => return (events, false),
        }
    }
    (events, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_api_replica_reconnect_elsewhere_and_miss_nothing() {
    let engine = Engine::builder().realistic_venues().start().await;
    // Replica A is a real process, so it can be killed with SIGKILL.
    let mut api_a = engine.api_process(env!("CARGO_BIN_EXE_oee-api"), &[]).await;
    let port = api_a.port;
    let mut followers = Vec::new();
    for _ in 0..8 {
        let id = engine.accepted(ORDER).await;
        let url = format!("ws://127.0.0.1:{port}/api/orders/{id}/ws");
        followers.push((id, tokio::spawn(async move { follow_until_cut(&url).await })));
    }
    tokio::time::sleep(Duration::from_millis(700)).await; // mid-flight: routing or building seen
    api_a.kill();
    for (id, follower) in followers {
        let (mut events, ended) = follower.await.expect("follower");
        assert!(!ended, "replica A died before the order finished");
        let last = events.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0);
        // Reconnect to the surviving replica from the last seq seen.
        let url = engine.ws_url(0, &format!("/api/orders/{id}/ws?fromSeq={last}"));
        let rest = oee_testkit::follow_url(&url).await;
        events.extend(rest.events.iter().cloned());
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap, no duplicate for {id}");
        assert_eq!(events.last().map(|e| e["status"].clone()), Some("confirmed".into()), "{events:?}");
        assert_eq!(rest.close, Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal));
    }
    let db = engine.env.db().await.expect("db");
    let wrong = oee_testkit::ledger_violations(&db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_open_across_a_redis_restart_still_get_every_event() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let engine = Engine::builder()
        .configure(move |s| {
            s.redis_url = url.clone();
            s.venue_latency = Latency::Realistic;
            s.store_timeout = Duration::from_millis(1_000);
        })
        .start()
        .await;
    let mut followers = Vec::new();
    for _ in 0..5 {
        let id = engine.accepted(ORDER).await;
        let ws = engine.ws_url(0, &format!("/api/orders/{id}/ws"));
        followers.push(tokio::spawn(async move { oee_testkit::follow_url(&ws).await }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Redis goes away while the orders are in flight: publishes are lost, the
    // subscriber reconnects, and the sockets must fill the gap from the log.
    redis.kill();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    redis.spawn();
    for follower in followers {
        let followed = follower.await.expect("follower");
        followed.assert_complete_from(1);
        assert_eq!(followed.statuses(), ["pending", "routing", "building", "submitted", "confirmed"]);
    }
    engine.stop().await;
}

/// How much later than the store's return in-flight orders may finish: a few
/// attempts' worth of realistic latency, far below the reclaim window the
/// blip tests keep (`BLIP_RECLAIM_IDLE_MS`), so only the worker taking its own
/// jobs up again can meet it.
const BLIP_BOUND: Duration = Duration::from_secs(30);
const BLIP_RECLAIM_IDLE_MS: u64 = 120_000;
/// How long a blip keeps the store down: long enough that steps of the orders
/// in flight fail on it, not just wait for it.
const BLIP: Duration = Duration::from_secs(3);

/// Submits ten orders to an engine with realistic venues and waits until at
/// least five are mid-flight (past `pending`, not terminal).
async fn ten_orders_in_flight(engine: &Engine) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(engine.accepted(ORDER).await);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut in_flight = 0;
        for id in &ids {
            let (_, order) = engine.get(0, &format!("/api/orders/{id}")).await;
            in_flight += usize::from(matches!(order["status"].as_str(), Some("routing" | "building" | "submitted")));
        }
        if in_flight >= 5 {
            return ids;
        }
        assert!(Instant::now() < deadline, "orders never got in flight");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every order ends within [`BLIP_BOUND`] of `back` (when the store answered
/// again), confirmed, with one swap each, and every job is acknowledged.
async fn assert_finished_soon_after(engine: &Engine, ids: &[String], back: Instant, db: &tokio_postgres::Client) {
    for id in ids {
        let order = engine.until_terminal(id).await;
        assert_eq!(order["status"], "confirmed", "{order}");
    }
    let late = back.elapsed();
    assert!(late < BLIP_BOUND, "in-flight orders finished {late:?} after the store returned");
    let bus = engine.env.bus().await.expect("bus");
    while bus.jobs.stats().await.map_or(true, |s| s.pending > 0) {
        assert!(back.elapsed() < BLIP_BOUND, "jobs left unacknowledged {:?} after the store returned", back.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wrong = oee_testkit::ledger_violations(db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A PostgreSQL crash-and-restart while orders are mid-flight delays them by
/// seconds, not by the reclaim window: the worker keeps the jobs whose steps
/// failed and takes them up again once the store answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_in_flight_through_a_postgres_blip_finish_seconds_after_it() {
    let pg = PrivatePostgres::start();
    let engine = pg
        .engine()
        .await
        .configure(|s| {
            s.venue_latency = Latency::Realistic;
            s.venue_failure_rate = 0.0;
            s.store_timeout = Duration::from_millis(1_000);
            s.tx_validity = Duration::from_secs(3);
            s.reclaim_idle = Duration::from_millis(BLIP_RECLAIM_IDLE_MS);
        })
        .start()
        .await;
    let ids = ten_orders_in_flight(&engine).await;

    pg.crash();
    tokio::time::sleep(BLIP).await;
    pg.start_server();
    let back = Instant::now();

    let db = pg.connect("oee").await;
    assert_finished_soon_after(&engine, &ids, back, &db).await;
    engine.stop().await;
}

/// The same for Redis killed and restarted (its append-only file keeps the
/// jobs): jobs whose reads or acknowledgements died with the connection are
/// taken up again by the worker that holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_in_flight_through_a_redis_blip_finish_seconds_after_it() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let engine = Engine::builder()
        .configure(move |s| {
            s.redis_url = url.clone();
            s.venue_latency = Latency::Realistic;
            s.venue_failure_rate = 0.0;
            s.store_timeout = Duration::from_millis(1_000);
            s.tx_validity = Duration::from_secs(3);
            s.reclaim_idle = Duration::from_millis(BLIP_RECLAIM_IDLE_MS);
        })
        .start()
        .await;
    let ids = ten_orders_in_flight(&engine).await;

    redis.kill();
    tokio::time::sleep(BLIP).await;
    redis.spawn();
    let back = Instant::now();

    let db = engine.env.db().await.expect("db");
    assert_finished_soon_after(&engine, &ids, back, &db).await;
    engine.stop().await;
}
