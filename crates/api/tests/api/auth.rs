//! Authentication with `OEE_AUTH=required`: every `/api` route, HTTP and
//! WebSocket, answers each kind of bad credential with its status and code
//! before doing anything; a revoked key stops working on every replica within
//! the cache bound; keys are managed over HTTP by admin keys.

use oee_api::auth::CACHE_TTL;
use oee_domain::{ApiKey, Scope, Scopes};
use oee_runtime::AuthMode;
use oee_store::{KeyStore, NewKey};
use oee_testkit::{Engine, PATIENCE};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORDER: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.1"}"#;
const SIM_TRADE: &str = r#"{"tokenIn":"SOL","tokenOut":"USDC","venue":"raydium","amountIn":"0.1"}"#;

async fn key(engine: &Engine, account: &str, scopes: &[Scope]) -> (ApiKey, uuid::Uuid) {
    let store = KeyStore::new(oee_store::pg::pool(&engine.env.settings.pg()).expect("pool"));
    let new = NewKey { account: account.into(), scopes: Scopes::new(scopes.iter().copied()), rate: None, burst: None };
    let (record, key) = oee_api::keys::create(&store, &new).await.expect("key");
    (key, record.key_id)
}

/// One request with `authorization` (if any): its status, code and `WWW-Authenticate`.
async fn call(engine: &Engine, method: &str, path: &str, authorization: Option<&str>) -> (u16, String, bool) {
    let url = engine.url(0, path);
    if path.ends_with("/ws") || (path == "/api/orders/execute" && method == "WS") {
        let mut request = url.replacen("http", "ws", 1).into_client_request().expect("request");
        if let Some(value) = authorization {
            request.headers_mut().insert("authorization", value.parse().expect("header"));
        }
        return match tokio_tungstenite::connect_async(request).await {
            Ok(_) => (101, String::new(), false),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body: Value =
                    serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap_or(Value::Null);
                let challenge = response.headers().contains_key("www-authenticate");
                (response.status().as_u16(), body["error"]["code"].as_str().unwrap_or_default().to_owned(), challenge)
            }
            Err(e) => panic!("{path}: {e}"),
        };
    }
    let mut request = match method {
        "POST" => engine.http.post(&url).header("content-type", "application/json").body(ORDER),
        "SIM" => engine.http.post(&url).header("content-type", "application/json").body(SIM_TRADE),
        _ => engine.http.get(&url),
    };
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("response");
    let status = response.status().as_u16();
    let challenge = response.headers().contains_key("www-authenticate");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned(), challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_each_bad_credential_with_its_status_and_code() {
    let engine = Engine::builder()
        .configure(|s| {
            s.auth = AuthMode::Required;
            s.auth_failure_burst = 1_000; // this test fails on purpose, often
        })
        .start()
        .await;
    let (read, _) = key(&engine, "desk-1", &[Scope::Read]).await;
    let (trade, _) = key(&engine, "desk-1", &[Scope::Trade]).await;
    let (admin, _) = key(&engine, "desk-1", &[Scope::Admin]).await;
    let (revoked, revoked_id) = key(&engine, "desk-1", &[Scope::Admin]).await;
    let store = KeyStore::new(oee_store::pg::pool(&engine.env.settings.pg()).expect("pool"));
    store.revoke(revoked_id, chrono::Utc::now()).await.expect("revoked");
    let unknown = ApiKey::from_random("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ").expect("well formed");
    let mut bad_checksum = trade.as_str().to_owned();
    let last = bad_checksum.pop().expect("a character");
    bad_checksum.push(if last == 'a' { 'b' } else { 'a' });

    let id = {
        let (status, body) = {
            let r = engine
                .http
                .post(engine.url(0, "/api/orders/execute"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", trade.as_str()))
                .body(ORDER)
                .send()
                .await
                .expect("submit");
            (r.status().as_u16(), r.json::<Value>().await.expect("body"))
        };
        assert_eq!(status, 202, "{body}");
        body["orderId"].as_str().expect("id").to_owned()
    };
    let order = format!("/api/orders/{id}");
    let follow = format!("/api/orders/{id}/ws");
    // (method, path, the scope it needs)
    let routes: [(&str, &str, Scope); 12] = [
        ("POST", "/api/orders/execute", Scope::Trade),
        ("WS", "/api/orders/execute", Scope::Trade),
        ("GET", "/api/orders", Scope::Read),
        ("GET", "/api/orders/active", Scope::Read),
        ("GET", &order, Scope::Read),
        ("GET", &follow, Scope::Read),
        ("GET", "/api/tokens", Scope::Read),
        ("GET", "/api/quote?tokenIn=SOL&tokenOut=USDC&amountIn=0.1", Scope::Read),
        ("GET", "/api/queue/stats", Scope::Admin),
        ("GET", "/api/activity", Scope::Admin),
        ("GET", "/api/admin/keys", Scope::Admin),
        ("SIM", "/api/admin/sim/trades", Scope::Admin),
    ];
    let bearer = |k: &str| format!("Bearer {k}");
    for (method, path, needed) in routes {
        let refused: [(Option<String>, &str); 6] = [
            (None, "no key"),
            (Some(format!("Basic {}", admin.as_str())), "another scheme"),
            (Some(bearer("oee_short")), "malformed"),
            (Some(bearer(&bad_checksum)), "bad checksum"),
            (Some(bearer(unknown.as_str())), "unknown"),
            (Some(bearer(revoked.as_str())), "revoked"),
        ];
        for (authorization, what) in refused {
            let (status, code, challenge) = call(&engine, method, path, authorization.as_deref()).await;
            assert_eq!((status, code.as_str(), challenge), (401, "UNAUTHENTICATED", true), "{method} {path}, {what}");
        }
        for (held, key) in [(Scope::Read, &read), (Scope::Trade, &trade), (Scope::Admin, &admin)] {
            let (status, code, _) = call(&engine, method, path, Some(&bearer(key.as_str()))).await;
            if Scopes::new([held]).allows(needed) {
                assert!(matches!(status, 101 | 200 | 202), "{method} {path} with {held}: {status} {code}");
            } else {
                assert_eq!((status, code.as_str()), (403, "FORBIDDEN"), "{method} {path} with {held}");
            }
        }
    }
    // The operational endpoints need no key.
    for path in ["/health", "/ready", "/metrics"] {
        assert_eq!(call(&engine, "GET", path, None).await.0, 200, "{path}");
    }
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_keys_are_managed_over_http_and_a_revoked_key_stops_on_every_replica_within_the_bound() {
    let engine = Engine::builder().apis(2).configure(|s| s.auth = AuthMode::Required).start().await;
    let (admin, _) = key(&engine, "ops", &[Scope::Admin]).await;
    let auth = format!("Bearer {}", admin.as_str());

    let created: Value = engine
        .http
        .post(engine.url(0, "/api/admin/keys"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(r#"{"account":"desk-9","scopes":["trade"],"rate":5}"#)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("body");
    let trade = format!("Bearer {}", created["key"].as_str().expect("key"));
    assert_eq!(created["scopes"], serde_json::json!(["trade"]));
    let key_id = created["keyId"].as_str().expect("keyId").to_owned();
    let listed = engine.http.get(engine.url(1, "/api/admin/keys")).header("authorization", &auth).send().await;
    let listed = listed.expect("list").text().await.expect("body");
    assert!(listed.contains(&key_id) && !listed.contains(created["key"].as_str().expect("key")), "{listed}");

    // The new key works on both replicas (and is now cached by both).
    let works = |replica: usize| {
        let request = engine.http.get(engine.url(replica, "/api/orders")).header("authorization", &trade);
        async move { request.send().await.expect("request").status().as_u16() }
    };
    assert_eq!((works(0).await, works(1).await), (200, 200));

    let revoked = engine
        .http
        .delete(engine.url(0, &format!("/api/admin/keys/{key_id}")))
        .header("authorization", &auth)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status().as_u16(), 204);
    let revoked_at = Instant::now();
    let deadline = revoked_at + PATIENCE;
    while works(0).await != 401 || works(1).await != 401 {
        assert!(Instant::now() < deadline, "the revoked key still works");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = revoked_at.elapsed();
    assert!(took <= CACHE_TTL + Duration::from_secs(1), "a revoked key worked for {took:?} (bound {CACHE_TTL:?})");
    let missing = engine
        .http
        .delete(engine.url(0, "/api/admin/keys/01a2b3c4-0000-7000-8000-000000000000"))
        .header("authorization", &auth)
        .send()
        .await
        .expect("revoke");
    assert_eq!(missing.status().as_u16(), 404);
    engine.stop().await;
}

/// An order belongs to the account of the key that submitted it: to any other
/// account it does not exist (404 on every route and socket, absent from lists);
/// idempotency keys are per account; `userId` defaults to the account's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_orders_do_not_exist() {
    let engine = Engine::builder().configure(|s| s.auth = AuthMode::Required).start().await;
    let (alice, _) = key(&engine, "alice", &[Scope::Trade]).await;
    let (bob, _) = key(&engine, "bob", &[Scope::Trade]).await;
    let submit = |key: &ApiKey, idempotency: &str| {
        let request = engine
            .http
            .post(engine.url(0, "/api/orders/execute"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", key.as_str()))
            .header("idempotency-key", idempotency.to_owned())
            .body(ORDER);
        async move {
            let response = request.send().await.expect("submit");
            assert_eq!(response.status().as_u16(), 202);
            response.json::<Value>().await.expect("body")["orderId"].as_str().expect("id").to_owned()
        }
    };
    // The same idempotency key in two accounts makes two orders.
    let (a, b) = (submit(&alice, "same-key").await, submit(&bob, "same-key").await);
    assert_ne!(a, b);

    let as_of = |key: &ApiKey, path: String| {
        let request = engine.http.get(engine.url(0, &path)).header("authorization", format!("Bearer {}", key.as_str()));
        async move {
            let response = request.send().await.expect("request");
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, own) = as_of(&alice, format!("/api/orders/{a}")).await;
    assert_eq!((status, own["userId"].as_str()), (200, Some("alice")), "{own}");
    let (status, body) = as_of(&bob, format!("/api/orders/{a}")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("ORDER_NOT_FOUND")));
    let (_, listed) = as_of(&bob, "/api/orders".to_owned()).await;
    let ids: Vec<&str> =
        listed["orders"].as_array().expect("orders").iter().filter_map(|o| o["orderId"].as_str()).collect();
    assert_eq!(ids, vec![b.as_str()], "bob lists only his own");
    let (_, active) = as_of(&alice, "/api/orders/active".to_owned()).await;
    assert!(!active["orderIds"].to_string().contains(&b), "{active}");
    let follow = format!("/api/orders/{a}/ws");
    let (status, code, _) = call(&engine, "GET", &follow, Some(&format!("Bearer {}", bob.as_str()))).await;
    assert_eq!((status, code.as_str()), (404, "ORDER_NOT_FOUND"), "no socket on another account's order");
    engine.stop().await;
}

/// A browser's WebSocket ticket: issued for a key, it opens one socket once,
/// with that key's account and scopes; used or expired, it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_ticket_opens_one_socket_once() {
    let engine = Engine::builder().configure(|s| s.auth = AuthMode::Required).start().await;
    let (trade, _) = key(&engine, "desk-1", &[Scope::Trade]).await;
    let (read, _) = key(&engine, "desk-1", &[Scope::Read]).await;
    let ticket = |key: Option<&ApiKey>| {
        let mut request = engine.http.post(engine.url(0, "/api/ws-tickets"));
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {}", key.as_str()));
        }
        async move {
            let response = request.send().await.expect("request");
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let open = |path: String| {
        let url = engine.url(0, &path).replacen("http", "ws", 1);
        async move {
            match tokio_tungstenite::connect_async(url).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(ticket(None).await.0, 401, "a ticket needs a key");

    let (status, issued) = ticket(Some(&trade)).await;
    assert_eq!(status, 201, "{issued}");
    assert!(issued["expiresAt"].is_string(), "{issued}");
    let t = issued["ticket"].as_str().expect("ticket").to_owned();
    assert_eq!(open(format!("/api/orders/execute?ticket={t}")).await, 101, "the ticket opens the submit socket");
    assert_eq!(open(format!("/api/orders/execute?ticket={t}")).await, 401, "once");

    let (_, issued) = ticket(Some(&read)).await;
    let t = issued["ticket"].as_str().expect("ticket");
    assert_eq!(open(format!("/api/orders/execute?ticket={t}")).await, 403, "a read key's ticket cannot trade");

    // A ticket left unused past its time is refused.
    let (_, issued) = ticket(Some(&read)).await;
    let t = issued["ticket"].as_str().expect("ticket");
    let bus = engine.env.bus().await.expect("bus");
    let expired: bool =
        fred::interfaces::KeysInterface::pexpire(bus.client(), bus.keys().ticket(t), 1, None).await.expect("expire");
    assert!(expired);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(open(format!("/api/orders/execute?ticket={t}")).await, 401, "expired");
    engine.stop().await;
}

/// Failed authentication is limited per client address: past the burst, the
/// address gets 429 before any lookup, while a key the process knows to be valid
/// keeps working; behind a trusted proxy the address is the one the proxy saw,
/// so one client's failures do not lock out another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_authentication_from_one_address_is_limited() {
    const BURST: u32 = 5;
    let engine = Engine::builder()
        .configure(|s| {
            s.auth = AuthMode::Required;
            s.auth_failure_rate = 1;
            s.auth_failure_burst = BURST;
            s.trusted_proxy_hops = 1;
        })
        .start()
        .await;
    let (good, _) = key(&engine, "desk-1", &[Scope::Read]).await;
    let unknown = ApiKey::from_random("YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY").expect("well formed");
    // The proxy appended the client's address; anything left of it is the client's own claim.
    let from = |client: &str, key: &ApiKey| {
        let request = engine
            .http
            .get(engine.url(0, "/api/orders"))
            .header("x-forwarded-for", format!("6.6.6.6, {client}"))
            .header("authorization", format!("Bearer {}", key.as_str()));
        async move {
            let response = request.send().await.expect("request");
            (response.status().as_u16(), response.headers().contains_key("retry-after"))
        }
    };
    assert_eq!(from("10.0.0.1", &good).await.0, 200, "the good key is known");
    let mut statuses = Vec::new();
    for _ in 0..BURST + 3 {
        statuses.push(from("10.0.0.1", &unknown).await);
    }
    assert!(statuses[..=BURST as usize].iter().all(|s| s.0 == 401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&(429, true)), "limited, with Retry-After: {statuses:?}");
    assert_eq!(from("10.0.0.1", &good).await.0, 200, "a known-good key still works from there");
    assert_eq!(from("10.0.0.2", &unknown).await.0, 401, "another client is not limited");
    engine.stop().await;
}
