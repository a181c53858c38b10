//! The whole pipeline: HTTP → Postgres → stream → worker → Postgres → pub/sub → WebSocket.

use oee_testkit::{Engine, follow_url};
use serde_json::Value;
use std::time::Duration;

const SOL_USDC: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_streams_from_pending_to_confirmed() {
    let engine = Engine::start().await;
    let (status, reply) = engine.submit(SOL_USDC).await;
    assert_eq!(status, 202, "{reply}");
    let id = reply["orderId"].as_str().expect("orderId").to_owned();
    assert_eq!(reply["status"], "pending");
    assert_eq!(reply["statusUrl"], format!("/api/orders/{id}"));
    assert_eq!(reply["wsUrl"], format!("/api/orders/{id}/ws"));
    assert_eq!(uuid::Uuid::parse_str(&id).expect("uuid").get_version_num(), 7);

    let followed = engine.follow(0, &id, None).await;
    followed.assert_complete_from(1);
    assert_eq!(followed.statuses(), ["pending", "routing", "building", "submitted", "confirmed"]);
    let confirmed = &followed.events[4];
    assert!(confirmed["txHash"].as_str().is_some_and(|h| h.len() > 80), "{confirmed}");
    assert_eq!(confirmed["txHash"], followed.events[3]["txHash"]);
    assert!(matches!(confirmed["dex"].as_str(), Some("raydium" | "meteora")));
    assert!(confirmed["executedPrice"].as_str().is_some() && confirmed["amountOut"].as_str().is_some());
    for event in &followed.events {
        assert_eq!(event["orderId"], id.as_str());
        assert!(event["at"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24), "{event}");
    }
    let building = &followed.events[2];
    assert_eq!(building["route"]["quotes"].as_array().map(Vec::len), Some(2));
    assert_eq!(building["route"]["dex"], confirmed["dex"]);
    assert_eq!(building["route"]["wrapSol"], true);
    let instructions: Vec<&str> = followed.events[3]["instructions"]
        .as_array()
        .expect("submitted lists the transaction's instructions")
        .iter()
        .map(|i| i["instruction"].as_str().expect("name"))
        .collect();
    assert_eq!(instructions.first(), Some(&"setComputeUnitLimit"));
    assert!(instructions.contains(&"wrapSol") && instructions.contains(&"swap"), "{instructions:?}");
    assert!(!instructions.contains(&"unwrapSol"), "USDC out needs no unwrap");

    // The stored order tells the same story.
    let (status, order) = engine.get(0, &format!("/api/orders/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(order["events"], Value::Array(followed.events.clone()));
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["attempts"], 1);
    assert_eq!(order["amountIn"], "1.5");
    assert_eq!(order["tokenIn"], "SOL");
    assert_eq!(order["slippageBps"], 50);
    assert_eq!(order["userId"], "anonymous");
    assert_eq!(order["type"], "market");
    assert_eq!(order["txHash"], confirmed["txHash"]);
    assert_eq!(order["amountOut"], confirmed["amountOut"]);
    assert_eq!(order["executedPrice"], confirmed["executedPrice"]);
    assert_eq!(order["route"], building["route"]);
    assert_eq!(order["error"], Value::Null);

    // Done orders leave the active set.
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert_eq!(active["count"], 0, "{active}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_seq_replays_only_what_follows_it() {
    let engine = Engine::start().await;
    let id = engine.accepted(SOL_USDC).await;
    engine.until_terminal(&id).await;

    let whole = engine.follow(0, &id, Some(0)).await;
    whole.assert_complete_from(1);
    let tail = engine.follow(0, &id, Some(3)).await;
    tail.assert_complete_from(4);
    assert_eq!(tail.events, whole.events[3..]);
    // A client that saw everything is told so at once.
    let nothing = engine.follow(0, &id, Some(5)).await;
    assert!(nothing.events.is_empty());
    assert_eq!(nothing.close, Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal));
    // Past the end, or not a number: refused before upgrading.
    let (status, body) = engine.get(0, &format!("/api/orders/{id}/ws?fromSeq=9")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_PARAMETER")));
    let (status, _) = engine.get(0, &format!("/api/orders/{id}/ws?fromSeq=-1")).await;
    assert_eq!(status, 400);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_joining_mid_flight_see_no_gap_and_no_duplicate() {
    // Realistic venue latency keeps orders in flight for ~2.5 s while followers arrive.
    let engine = Engine::builder().realistic_venues().start().await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(engine.accepted(SOL_USDC).await);
    }
    let mut followers = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for delay_ms in [0u64, 150, 400, 900, 1_600, 2_300] {
            let url = engine.ws_url(0, &format!("/api/orders/{id}/ws"));
            followers.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay_ms + 37 * i as u64)).await;
                follow_url(&url).await
            }));
        }
    }
    for follower in followers {
        let followed = follower.await.expect("follower task");
        followed.assert_complete_from(1);
        assert_eq!(followed.statuses().first(), Some(&"pending"));
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_on_another_replica_sees_every_event() {
    let engine = Engine::builder().apis(2).realistic_venues().start().await;
    let mut runs = Vec::new();
    for n in 0..4 {
        // Submitted to replica 0, followed on replica 1 while in flight.
        let (status, reply) = engine.submit_to(0, SOL_USDC, None).await;
        assert_eq!(status, 202);
        let id = reply["orderId"].as_str().expect("id").to_owned();
        let url = engine.ws_url(1, &format!("/api/orders/{id}/ws"));
        runs.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300 * n)).await;
            follow_url(&url).await
        }));
    }
    for run in runs {
        let followed = run.await.expect("follower");
        followed.assert_complete_from(1);
        assert_eq!(followed.statuses(), ["pending", "routing", "building", "submitted", "confirmed"]);
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_orders_across_replicas_each_stream_completely() {
    let engine = Engine::builder().apis(2).start().await;
    let mut runs = Vec::new();
    for n in 0..40usize {
        let (status, reply) = engine.submit_to(n % 2, SOL_USDC, None).await;
        assert_eq!(status, 202);
        let id = reply["orderId"].as_str().expect("id").to_owned();
        let url = engine.ws_url((n + 1) % 2, &format!("/api/orders/{id}/ws"));
        runs.push(tokio::spawn(async move { follow_url(&url).await }));
    }
    for run in runs {
        run.await.expect("follower").assert_complete_from(1);
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_earlier_implementations_request_shapes_are_accepted() {
    let engine = Engine::start().await;
    let cases = [
        (r#"{"type":"market","tokenIn":"SOL","tokenOut":"USDC","amountIn":100,"userId":"user123"}"#, "100", 50),
        (r#"{"type":"market","tokenIn":"SOL","tokenOut":"USDC","amount":10}"#, "10", 50),
        (r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1.5,"slippageBps":50}"#, "1.5", 50),
        (r#"{"orderType":"market","tokenIn":"SOL","tokenOut":"USDC","amount":100,"slippage":0.05}"#, "100", 500),
    ];
    for (body, amount, bps) in cases {
        let id = engine.accepted(body).await;
        let order = engine.until_terminal(&id).await;
        assert_eq!(order["amountIn"], amount, "{body}");
        assert_eq!(order["slippageBps"], bps, "{body}");
        assert_eq!(order["status"], "confirmed", "{order}");
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_pair_executes_in_both_directions() {
    let engine = Engine::start().await;
    let pairs = [
        ("SOL", "USDC", "2"),
        ("SOL", "USDT", "2"),
        ("USDC", "USDT", "100"),
        ("BONK", "SOL", "5000000"),
        ("JUP", "USDC", "50"),
        ("RAY", "SOL", "20"),
    ];
    let mut ids = Vec::new();
    for (a, b, amount) in pairs {
        ids.push((
            a,
            b,
            engine.accepted(&format!(r#"{{"tokenIn":"{a}","tokenOut":"{b}","amountIn":"{amount}"}}"#)).await,
        ));
        let back = engine.until_terminal(&ids.last().expect("id").2).await;
        let out = back["amountOut"].as_str().expect("amountOut").to_owned();
        ids.push((b, a, engine.accepted(&format!(r#"{{"tokenIn":"{b}","tokenOut":"{a}","amountIn":"{out}"}}"#)).await));
    }
    for (a, b, id) in ids {
        let order = engine.until_terminal(&id).await;
        assert_eq!(order["status"], "confirmed", "{a}->{b}: {order}");
        assert_eq!(order["route"]["unwrapSol"], b == "SOL");
        assert_eq!(order["route"]["wrapSol"], a == "SOL");
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_paged_newest_first_and_filtered() {
    let engine = Engine::start().await;
    let mut alice = Vec::new();
    for _ in 0..5 {
        alice.push(engine.accepted(r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"10","userId":"alice"}"#).await);
    }
    let bob = engine.accepted(r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"10","userId":"bob"}"#).await;
    for id in alice.iter().chain([&bob]) {
        engine.until_terminal(id).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/orders?userId=alice&limit=2&before={c}"),
            None => "/api/orders?userId=alice&limit=2".to_owned(),
        };
        let (status, page) = engine.get(0, &path).await;
        assert_eq!(status, 200, "{page}");
        let orders = page["orders"].as_array().expect("orders");
        assert!(orders.len() <= 2);
        for o in orders {
            assert_eq!(o["userId"], "alice");
            assert!(o.get("events").is_none(), "pages carry orders without events");
            seen.push(o["orderId"].as_str().expect("id").to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let newest_first: Vec<String> = alice.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let (_, confirmed) = engine.get(0, "/api/orders?status=confirmed&limit=200").await;
    assert_eq!(confirmed["orders"].as_array().map(Vec::len), Some(6));
    let (_, pending) = engine.get(0, "/api/orders?status=pending").await;
    assert_eq!(pending["orders"].as_array().map(Vec::len), Some(0));
    for bad in ["limit=0", "limit=201", "limit=x", "status=done", "before=nope"] {
        let (status, body) = engine.get(0, &format!("/api/orders?{bad}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_PARAMETER")), "{bad}");
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_orders_are_active_until_a_worker_finishes_them() {
    let mut engine = Engine::builder().without_worker().start().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(engine.accepted(SOL_USDC).await);
    }
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert_eq!(active["count"], 3);
    let mut listed: Vec<String> =
        active["orderIds"].as_array().expect("ids").iter().map(|v| v.as_str().expect("id").to_owned()).collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let (status, stats) = engine.get(0, "/api/queue/stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["length"], 3, "{stats}");
    assert_eq!(stats["lag"], 3, "{stats}");
    assert_eq!(stats["pending"], 0, "{stats}");
    assert_eq!(stats["deadLetters"], 0, "{stats}");
    assert!(stats["stream"].as_str().is_some_and(|s| s.ends_with(":orders")));

    engine.start_worker().await;
    for id in &ids {
        assert_eq!(engine.until_terminal(id).await["status"], "confirmed");
    }
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert_eq!(active["count"], 0);
    let (_, stats) = engine.get(0, "/api/queue/stats").await;
    assert_eq!((stats["lag"].as_u64(), stats["pending"].as_u64()), (Some(0), Some(0)), "{stats}");
    assert_eq!(stats["consumers"].as_array().map(Vec::len), Some(1), "{stats}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_names_one_order() {
    let engine = Engine::builder().without_worker().start().await;
    let (first_status, first) = engine.submit_to(0, SOL_USDC, Some("key-1")).await;
    assert_eq!(first_status, 202);
    // The same order written differently is the same request.
    let same = r#"{"type":"market","tokenIn":"sol","tokenOut":"USDC","amount":1.50,"slippageBps":50}"#;
    let (again_status, again) = engine.submit_to(0, same, Some("key-1")).await;
    assert_eq!(again_status, 200);
    assert_eq!(again["orderId"], first["orderId"]);
    let (conflict, body) =
        engine.submit_to(0, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"2"}"#, Some("key-1")).await;
    assert_eq!((conflict, body["error"]["code"].as_str()), (409, Some("IDEMPOTENCY_CONFLICT")));
    let (bad, body) = engine.submit_to(0, SOL_USDC, Some(&"k".repeat(256))).await;
    assert_eq!((bad, body["error"]["code"].as_str()), (400, Some("INVALID_IDEMPOTENCY_KEY")));
    let (_, stats) = engine.get(0, "/api/queue/stats").await;
    assert_eq!(stats["length"], 1, "one order queued: {stats}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let engine = Engine::builder().without_worker().start().await;
    let (status, body) = engine.get(0, "/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = engine.get(0, "/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["postgres"].as_str(), body["redis"].as_str()), (Some("up"), Some("up")));
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_submissions_with_one_key_make_one_order() {
    let engine = Engine::builder().apis(2).without_worker().start().await;
    let mut sends = Vec::new();
    for n in 0..50usize {
        let (http, url) = (engine.http.clone(), engine.url(n % 2, "/api/orders/execute"));
        sends.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("content-type", "application/json")
                .header("idempotency-key", "one-key")
                .body(SOL_USDC)
                .send()
                .await
                .expect("send");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for send in sends {
        let (status, reply) = send.await.expect("task");
        assert!(status == 202 || status == 200, "{status}: {reply}");
        created += usize::from(status == 202);
        ids.insert(reply["orderId"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 1, "one order for one key: {ids:?}");
    assert_eq!(created, 1, "exactly one request created it");
    let db = engine.env.db().await.expect("db");
    let orders: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(orders, 1);
    let (_, stats) = engine.get(0, "/api/queue/stats").await;
    assert_eq!(stats["length"], 1, "queued once: {stats}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_replica_fails_readiness_then_closes_sockets_with_a_frame() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let engine = Engine::builder().without_worker().start().await;
    let id = engine.accepted(SOL_USDC).await; // no worker: it stays pending
    let url = engine.ws_url(0, &format!("/api/orders/{id}/ws"));
    let follower = tokio::spawn(async move { follow_url(&url).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopper = engine.apis[0].stopper.clone();
    let stopping = tokio::spawn(async move { stopper.stop(Duration::from_millis(800)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Still serving during the drain delay, sockets included, but no longer ready.
    let (status, body) = engine.get(0, "/ready").await;
    assert_eq!((status, body["status"].as_str()), (503, Some("stopping")));
    assert_eq!(engine.get(0, "/health").await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!follower.is_finished(), "sockets stay open until the drain delay is over");
    let followed = follower.await.expect("follower");
    assert_eq!(followed.statuses(), ["pending"]);
    assert_eq!(followed.close, Some(CloseCode::Away), "closed with 1001, not cut");
    stopping.await.expect("stopped");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_followed_on_two_replicas_at_once_streams_whole_on_both() {
    let engine = Engine::builder().apis(2).realistic_venues().start().await;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let id = engine.accepted(SOL_USDC).await;
        for replica in 0..2 {
            for _ in 0..2 {
                let url = engine.ws_url(replica, &format!("/api/orders/{id}/ws"));
                runs.push(tokio::spawn(async move { follow_url(&url).await }));
            }
        }
    }
    for run in runs {
        let followed = run.await.expect("follower");
        followed.assert_complete_from(1);
        assert_eq!(followed.statuses(), ["pending", "routing", "building", "submitted", "confirmed"]);
    }
    engine.stop().await;
}

/// An order read while it moves always agrees with its own history: the last
/// event listed is the order's status, and its `seq` the count of events
/// (reading the row and the log at once could show a terminal order whose
/// log lags it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_read_mid_flight_agrees_with_its_events() {
    // Queued before any worker runs, so the first pass reads every order in
    // flight; the worker then moves them while the reads go on.
    let mut engine = Engine::builder().without_worker().realistic_venues().start().await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(engine.accepted(SOL_USDC).await);
    }
    let mut in_flight = 0;
    let mut done = 0;
    let mut first_pass = true;
    while done < ids.len() {
        done = 0;
        for id in &ids {
            let (status, order) = engine.get(0, &format!("/api/orders/{id}")).await;
            assert_eq!(status, 200, "{order}");
            let events = order["events"].as_array().expect("events");
            let last = events.last().expect("at least pending");
            assert_eq!(last["status"], order["status"], "the row and its log agree: {order}");
            assert_eq!(last["seq"].as_u64(), Some(events.len() as u64), "{order}");
            if matches!(order["status"].as_str(), Some("confirmed" | "failed")) {
                done += 1;
            } else {
                in_flight += 1;
            }
        }
        if first_pass {
            first_pass = false;
            engine.start_worker().await;
        }
    }
    assert!(in_flight >= ids.len(), "read while in flight: {in_flight} reads");
    engine.stop().await;
}
