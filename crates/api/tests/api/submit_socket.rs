//! Submitting and following on one WebSocket: `GET /api/orders/execute`.

use futures::{SinkExt, StreamExt};
use oee_testkit::{Engine, PATIENCE};
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_submitted_over_a_websocket_stream_their_events_on_it() {
    let engine = Engine::builder().apis(2).start().await;
    // Submit on replica 1 while the orders are executed by the worker.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(engine.ws_url(1, "/api/orders/execute")).await.expect("upgrade");
    let messages = [
        json!({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "clientRef": "a"}),
        json!({"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": 100, "clientRef": {"n": 2}, "idempotencyKey": "ws-1"}),
        json!({"tokenIn": "DOGE", "tokenOut": "USDC", "amountIn": "1", "clientRef": 3}),
        json!({"orderType": "market", "tokenIn": "RAY", "tokenOut": "SOL", "amount": "2"}),
        json!({"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": 100, "clientRef": "again", "idempotencyKey": "ws-1"}),
    ];
    for m in &messages {
        socket.send(Message::text(m.to_string())).await.expect("send");
    }
    socket.send(Message::text("not json")).await.expect("send");

    let mut replies = Vec::new();
    let mut events: HashMap<String, Vec<Value>> = HashMap::new();
    let outcome = tokio::time::timeout(PATIENCE, async {
        while let Some(message) = socket.next().await {
            let Message::Text(text) = message.expect("message") else { continue };
            let v: Value = serde_json::from_str(&text).expect("json");
            match v["type"].as_str() {
                Some(_) => replies.push(v),
                None => {
                    let id = v["orderId"].as_str().expect("orderId").to_owned();
                    assert!(replies.iter().any(|r| r["orderId"] == id.as_str()), "a reply precedes its events");
                    events.entry(id).or_default().push(v);
                }
            }
            let finished = events.values().filter(|e| e.last().is_some_and(|e| e["status"] == "confirmed")).count();
            if replies.len() == 6 && finished == 3 {
                break;
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "replies {replies:?}, events {events:?}");

    let kinds: Vec<(&str, Value)> =
        replies.iter().map(|r| (r["type"].as_str().expect("type"), r["clientRef"].clone())).collect();
    assert_eq!(
        kinds,
        [
            ("accepted", json!("a")),
            ("accepted", json!({"n": 2})),
            ("rejected", json!(3)),
            ("accepted", Value::Null),
            ("accepted", json!("again")),
            ("rejected", Value::Null),
        ]
    );
    assert_eq!(replies[2]["error"]["code"], "UNKNOWN_TOKEN");
    assert_eq!(replies[5]["error"]["code"], "INVALID_JSON");
    assert_eq!(replies[4]["orderId"], replies[1]["orderId"], "the idempotency key names one order");
    assert_eq!(events.len(), 3, "three distinct orders");
    for (id, e) in &events {
        let seqs: Vec<u64> = e.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5], "{id}: every event once, in order (a repeated key is not streamed twice)");
    }
    // The socket stays open for more.
    socket.send(Message::Ping(Vec::new().into())).await.expect("still open");
    socket.close(None).await.expect("close");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_beyond_the_limit_are_closed_with_a_clear_reason() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let engine = Engine::builder().without_worker().configure(move |s| s.max_sockets = 2).start().await;
    let id = engine.accepted(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await; // no worker: stays pending
    let url = engine.ws_url(0, &format!("/api/orders/{id}/ws"));
    let first_event = |text: &str| serde_json::from_str::<Value>(text).expect("json")["status"] == "pending";
    let mut open = Vec::new();
    for _ in 0..2 {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("upgrade");
        match socket.next().await {
            Some(Ok(Message::Text(text))) => assert!(first_event(&text)),
            other => panic!("expected the first event, got {other:?}"),
        }
        open.push(socket);
    }
    let (mut third, _) = tokio_tungstenite::connect_async(&url).await.expect("upgrade");
    match third.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Again);
            assert!(frame.reason.contains("maximum of sockets"), "{}", frame.reason);
        }
        other => panic!("expected a 1013 close, got {other:?}"),
    }
    // A socket that leaves makes room for another.
    let mut leaving = open.pop().expect("socket");
    leaving.close(None).await.expect("close");
    while leaving.next().await.is_some() {}
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (mut again, _) = tokio_tungstenite::connect_async(&url).await.expect("upgrade");
    match again.next().await {
        Some(Ok(Message::Text(text))) => assert!(first_event(&text)),
        other => panic!("expected the first event, got {other:?}"),
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_while_others_keep_their_pace() {
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    // A small kernel send buffer, so that what the client leaves unread fills it quickly.
    let engine = Engine::builder()
        .configure(move |s| {
            s.ws_send_timeout = Duration::from_millis(1_000);
            s.socket_send_buffer = 16_384;
        })
        .start()
        .await;
    // A client with a tiny receive buffer that submits many orders and never reads.
    let addr = engine.apis[0].addr;
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(4_096).expect("small buffer");
    let stream = tcp.connect(addr).await.expect("connect");
    let (mut slow, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/api/orders/execute"), stream).await.expect("upgrade");
    for n in 0..400 {
        let body = json!({"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": "1", "clientRef": n}).to_string();
        slow.send(Message::text(body)).await.expect("send");
    }
    // Meanwhile another client's order streams whole: the stuck socket holds
    // up nothing shared (the hub, the replica's fan-out). How fast it streams
    // is the benchmarks' business; a liveness bound far above any pace catches
    // a block without timing anything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = engine.accepted(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
    let other = tokio::time::timeout(Duration::from_secs(60), engine.follow(0, &id, None))
        .await
        .expect("the other client's order streams while the slow one is stuck");
    other.assert_complete_from(1);

    // The slow client, reading at last, finds it was cut off with 1013 before the end.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let mut received = 0;
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.next()).await {
            Err(_) => break "still open after 10 s of silence",
            Ok(None) | Ok(Some(Err(_))) => break "connection cut",
            Ok(Some(Ok(Message::Close(frame)))) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::Again), "closed as too slow");
                break "closed with 1013";
            }
            Ok(Some(Ok(Message::Text(_)))) => received += 1,
            Ok(Some(Ok(_))) => {}
        }
    };
    assert_ne!(ended, "still open after 10 s of silence", "the server cut the slow client off");
    assert!(received < 400 * 6, "the slow client did not get everything: {received}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_on_one_socket_is_answered_in_order_and_streamed_whole() {
    const ORDERS: usize = 400;
    let engine = Engine::start().await;
    let (socket, _) = tokio_tungstenite::connect_async(engine.ws_url(0, "/api/orders/execute")).await.expect("upgrade");
    let (mut tx, mut rx) = socket.split();
    // Far more orders at once than a socket queues frames: a client that reads
    // everything is never taken for a slow one.
    let sender = tokio::spawn(async move {
        for n in 0..ORDERS {
            let body = json!({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "0.01", "clientRef": n});
            tx.send(Message::text(body.to_string())).await.expect("send");
        }
        tx
    });
    let mut refs = Vec::new();
    let mut events: HashMap<String, Vec<u64>> = HashMap::new();
    let read = tokio::time::timeout(PATIENCE * 3, async {
        while let Some(message) = rx.next().await {
            match message.expect("message") {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(&text).expect("json");
                    if let Some(kind) = v["type"].as_str() {
                        assert_eq!(kind, "accepted", "{v}");
                        refs.push(v["clientRef"].as_u64().expect("clientRef"));
                        events.entry(v["orderId"].as_str().expect("id").to_owned()).or_default();
                    } else {
                        let id = v["orderId"].as_str().expect("orderId");
                        let seqs = events.get_mut(id).expect("the reply came before the order's first event");
                        seqs.push(v["seq"].as_u64().expect("seq"));
                    }
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
            let done = events.values().filter(|s| s.len() == 5).count();
            if refs.len() == ORDERS && done == ORDERS {
                break;
            }
        }
    })
    .await;
    let done = events.values().filter(|s| s.len() == 5).count();
    assert!(read.is_ok(), "{} replies, {done} orders complete", refs.len());
    assert_eq!(refs, (0..ORDERS as u64).collect::<Vec<_>>(), "replies in message order");
    for (id, seqs) in &events {
        assert_eq!(seqs, &[1, 2, 3, 4, 5], "order {id}: every event once, in order");
    }
    drop(sender.await.expect("sender"));
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_sent_before_the_client_hangs_up_are_stored_queued_and_executed() {
    const ORDERS: usize = 50;
    let engine = Engine::start().await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(engine.ws_url(0, "/api/orders/execute")).await.expect("upgrade");
    for n in 0..ORDERS {
        let body = json!({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "0.01", "clientRef": n});
        socket.send(Message::text(body.to_string())).await.expect("send");
    }
    // Gone without reading a single reply.
    socket.close(None).await.expect("close");
    drop(socket);
    // Every order the server read is stored and queued, so the worker executes it
    // now: none is left stored but unqueued, waiting for the sweeper (60 s).
    let db = engine.env.db().await.expect("db");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = db
            .query_one("SELECT count(*), count(*) FILTER (WHERE status = 'confirmed') FROM orders", &[])
            .await
            .expect("count");
        let (stored, confirmed): (i64, i64) = (row.get(0), row.get(1));
        if stored == ORDERS as i64 && confirmed == stored {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{stored} of {ORDERS} orders stored, {confirmed} confirmed after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    engine.stop().await;
}
