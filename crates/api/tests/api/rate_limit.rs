//! Rate limits per key, shared by every replica (GCRA in Redis): driven at three
//! times its rate through two replicas, a key gets `rate·t + burst` orders in
//! and the rest a 429 with `Retry-After`; the submit socket says
//! `RATE_LIMITED` with `retryAfterMs` and stays open.

use futures::{SinkExt, StreamExt};
use oee_domain::{Scope, Scopes};
use oee_runtime::AuthMode;
use oee_store::{KeyStore, NewKey};
use oee_testkit::Engine;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORDER: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.1"}"#;
const RATE: u32 = 20;
const BURST: u32 = 10;
const SECONDS: u64 = 3;

async fn limited_key(engine: &Engine) -> String {
    let store = KeyStore::new(oee_store::pg::pool(&engine.env.settings.pg()).expect("pool"));
    let new =
        NewKey { account: "desk".into(), scopes: Scopes::new([Scope::Trade]), rate: Some(RATE), burst: Some(BURST) };
    let (_, key) = oee_api::keys::create(&store, &new).await.expect("key");
    key.as_str().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_driven_at_three_times_its_rate_through_two_replicas_gets_its_rate_and_burst() {
    let engine = Engine::builder().apis(2).without_worker().configure(|s| s.auth = AuthMode::Required).start().await;
    let key = limited_key(&engine).await;
    let auth = format!("Bearer {key}");
    // 3 × RATE in all: each replica gets 1.5 × RATE, evenly spaced.
    let per_replica = Duration::from_secs_f64(2.0 / (3.0 * f64::from(RATE)));
    let drive = |replica: usize| {
        let (http, url, auth) = (engine.http.clone(), engine.url(replica, "/api/orders/execute"), auth.clone());
        tokio::spawn(async move {
            let (mut admitted, mut limited) = (0u32, 0u32);
            let mut tick = tokio::time::interval(per_replica);
            let end = Instant::now() + Duration::from_secs(SECONDS);
            while Instant::now() < end {
                tick.tick().await;
                let response = http
                    .post(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(ORDER)
                    .send()
                    .await
                    .expect("response");
                let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                match response.status().as_u16() {
                    202 => {
                        admitted += 1;
                        assert_eq!(header("ratelimit-limit").as_deref(), Some("20"));
                        assert!(header("ratelimit-remaining").is_some() && header("ratelimit-reset").is_some());
                    }
                    429 => {
                        limited += 1;
                        let wait: u64 = header("retry-after").expect("Retry-After").parse().expect("whole seconds");
                        assert!(wait >= 1);
                        let body: Value = response.json().await.expect("body");
                        assert_eq!(body["error"]["code"], "RATE_LIMITED");
                    }
                    other => panic!("unexpected {other}"),
                }
            }
            (admitted, limited)
        })
    };
    let (a, b) = (drive(0), drive(1));
    let ((admitted_a, limited_a), (admitted_b, limited_b)) = (a.await.expect("a"), b.await.expect("b"));
    let admitted = admitted_a + admitted_b;
    let expected = RATE * u32::try_from(SECONDS).expect("small") + BURST;
    let tolerance = expected / 10;
    assert!(
        admitted.abs_diff(expected) <= tolerance + 1,
        "admitted {admitted} (expected {expected} ± 10%), limited {}",
        limited_a + limited_b
    );
    assert!(limited_a > 0 && limited_b > 0, "both replicas enforced the shared limit");
    let db = engine.env.db().await.expect("db");
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(stored, i64::from(admitted), "a limited submission stores nothing");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submit_socket_answers_rate_limited_with_retry_after_and_stays_open() {
    let engine = Engine::builder().without_worker().configure(|s| s.auth = AuthMode::Required).start().await;
    let key = limited_key(&engine).await;
    let mut request =
        engine.url(0, "/api/orders/execute").replacen("http", "ws", 1).into_client_request().expect("req");
    request.headers_mut().insert("authorization", format!("Bearer {key}").parse().expect("header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("opens");
    let burst = BURST + 5;
    for _ in 0..burst {
        socket.send(Message::text(ORDER)).await.expect("sent");
    }
    let (mut accepted, mut limited) = (0, 0);
    while accepted + limited < burst {
        let Some(Ok(Message::Text(text))) = socket.next().await else { panic!("the socket closed") };
        let reply: Value = serde_json::from_str(&text).expect("json");
        match reply["type"].as_str() {
            Some("accepted") => accepted += 1,
            Some("rejected") => {
                assert_eq!(reply["error"]["code"], "RATE_LIMITED", "{reply}");
                assert!(reply["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0), "{reply}");
                limited += 1;
            }
            _ => {} // the accepted orders' events
        }
    }
    assert!(limited > 0 && accepted >= BURST, "{accepted} accepted, {limited} limited");
    // Still open: after waiting, the next order is accepted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    socket.send(Message::text(ORDER)).await.expect("sent");
    loop {
        let Some(Ok(Message::Text(text))) = socket.next().await else { panic!("the socket closed") };
        let reply: Value = serde_json::from_str(&text).expect("json");
        if reply["type"] == "accepted" {
            break;
        }
        assert_ne!(reply["type"], "rejected", "{reply}");
    }
    engine.stop().await;
}
