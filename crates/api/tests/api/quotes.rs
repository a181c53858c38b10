//! Quotes and the token list: what can be traded, and a quote that is exactly
//! the route the worker would take; the submit's validation and codes; nothing
//! stored; the slot a route is planned at; keys; and a refusal rather than a
//! stale price while PostgreSQL is down.

use oee_domain::{Scope, Scopes};
use oee_runtime::AuthMode;
use oee_store::{KeyStore, NewKey};
use oee_testkit::stores::PrivatePostgres;
use oee_testkit::{Engine, PATIENCE};
use serde_json::Value;
use std::time::{Duration, Instant};

/// `GET path` on replica 0 with an optional API key: status, body, and whether
/// it carried `Retry-After`.
async fn get(engine: &Engine, path: &str, key: Option<&str>) -> (u16, Value, bool) {
    let mut request = engine.http.get(engine.url(0, path));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = request.send().await.expect("response");
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    (status, response.json().await.unwrap_or(Value::Null), retry_after)
}

async fn quote(engine: &Engine, query: &str) -> (u16, Value) {
    let (status, body, _) = get(engine, &format!("/api/quote?{query}"), None).await;
    (status, body)
}

/// The whole second of an RFC 3339 time, e.g. `2026-11-29T05:40:01`.
fn second(at: &Value) -> String {
    at.as_str().expect("a time").chars().take(19).collect()
}

/// Every registry token is listed with its mint and decimals, and every pair a
/// client can submit appears in both directions, SOL and WSOL alike, with both
/// venues; pairs no venue lists and a token against itself do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_lists_the_registry_and_every_pair_both_ways() {
    let engine = Engine::builder().without_worker().start().await;
    let (status, body, _) = get(&engine, "/api/tokens", None).await;
    assert_eq!(status, 200, "{body}");
    let symbols: Vec<&str> =
        body["tokens"].as_array().expect("tokens").iter().map(|t| t["symbol"].as_str().expect("symbol")).collect();
    assert_eq!(symbols, ["SOL", "WSOL", "USDC", "USDT", "BONK", "JUP", "RAY"]);
    assert_eq!(
        body["tokens"][2],
        serde_json::json!({"symbol": "USDC", "mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "decimals": 6})
    );

    let pairs: Vec<(String, String)> = body["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            assert_eq!(p["venues"], serde_json::json!(["meteora", "raydium"]), "{p}");
            (p["tokenIn"].as_str().expect("in").to_owned(), p["tokenOut"].as_str().expect("out").to_owned())
        })
        .collect();
    // SOL/USDC, SOL/USDT, BONK/SOL and RAY/SOL for SOL and WSOL each; USDC/USDT and JUP/USDC: both ways.
    assert_eq!(pairs.len(), (4 * 2 + 2) * 2, "{pairs:?}");
    for (a, b) in &pairs {
        assert!(pairs.contains(&(b.clone(), a.clone())), "{a}/{b} both ways");
        assert_ne!(a, b);
    }
    for (a, b) in [("SOL", "USDC"), ("WSOL", "USDC"), ("BONK", "WSOL"), ("RAY", "SOL"), ("JUP", "USDC")] {
        assert!(pairs.contains(&(a.to_owned(), b.to_owned())), "{a}/{b}");
    }
    assert!(!pairs.iter().any(|(a, b)| (a, b) == (&"SOL".to_owned(), &"WSOL".to_owned())), "the same token");
    assert!(!pairs.iter().any(|(a, b)| a == "BONK" && b == "USDC"), "not listed");
    let (status, again, _) = get(&engine, "/api/tokens", None).await;
    assert_eq!((status, &again), (200, &body), "the same order every time");
    engine.stop().await;
}

/// A quote is the route the worker takes for the same order when nothing moved
/// in between: the building event's route, bound and all, equals the quote's.
/// (Prices depend on the second — outside trading, DLMM fees — so the quote and
/// the worker's routing must fall in the same second; another pair is tried if not.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_is_the_route_the_worker_takes_for_the_same_order() {
    let engine = Engine::start().await;
    let db = engine.env.db().await.expect("db");
    let mut compared = 0;
    for (token_in, token_out, amount) in [("SOL", "USDC", "1.5"), ("USDC", "USDT", "2500"), ("JUP", "USDC", "300")] {
        // Start early in a second, so the quote and the order can share it.
        while chrono::Utc::now().timestamp_subsec_millis() > 300 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (status, quoted) =
            quote(&engine, &format!("tokenIn={token_in}&tokenOut={token_out}&amountIn={amount}&slippageBps=75")).await;
        assert_eq!(status, 200, "{quoted}");
        let id = engine
            .accepted(&format!(
                r#"{{"tokenIn":"{token_in}","tokenOut":"{token_out}","amountIn":"{amount}","slippageBps":75}}"#
            ))
            .await;
        let order = engine.until_terminal(&id).await;
        assert_eq!(order["status"], "confirmed", "{order}");
        // The log itself: the order's own `events` are read beside its row, not with it.
        let events = engine.env.events(id.parse().expect("uuid")).await.expect("events");
        let routing = events.iter().find(|e| e["status"] == "routing").expect("routing");
        let building = events.iter().find(|e| e["status"] == "building").expect("building");
        let confirmed = events.iter().find(|e| e["status"] == "confirmed").expect("confirmed");
        // The worker priced the route between `routing` and `building`, and swapped before `confirmed`.
        if [routing, confirmed].iter().any(|e| second(&e["at"]) != second(&quoted["quotedAt"])) {
            continue;
        }
        compared += 1;
        assert_eq!(building["route"], quoted["route"], "{token_in}/{token_out}");
        assert_eq!(quoted["minAmountOut"], building["route"]["minAmountOut"]);
        assert_eq!(order["amountOut"], quoted["amountOut"], "nothing moved: it executed as quoted");
        assert_eq!(order["executedPrice"], quoted["price"]);
        assert_eq!((quoted["tokenIn"].as_str(), quoted["tokenOut"].as_str()), (Some(token_in), Some(token_out)));
        assert_eq!(quoted["amountIn"], amount);
        let impact = quoted["route"]["quotes"]
            .as_array()
            .expect("quotes")
            .iter()
            .find(|q| q["dex"] == quoted["route"]["dex"])
            .expect("the chosen venue's quote")["priceImpactBps"]
            .clone();
        assert_eq!(quoted["priceImpactBps"], impact, "a single venue's route has that venue's impact");
    }
    assert!(compared > 0, "no quote shared its second with the order's routing");
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(stored, 3, "only the submitted orders are stored");
    engine.stop().await;
}

/// An amount too large for either venue alone is quoted as a split, with the
/// legs' input-weighted price impact; an amount no venue can return anything
/// for is `INSUFFICIENT_LIQUIDITY`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_quote_is_split_and_a_hopeless_one_is_refused() {
    let engine = Engine::builder().without_worker().start().await;
    let (status, quoted) = quote(&engine, "tokenIn=USDC&tokenOut=SOL&amountIn=1000000&slippageBps=500").await;
    assert_eq!(status, 200, "{quoted}");
    let route = &quoted["route"];
    assert_eq!(route["dex"], "split", "{route}");
    let legs = route["legs"].as_array().expect("legs");
    assert_eq!(legs.len(), 2);
    let atoms = |v: &Value| oee_domain::parse_units(v.as_str().expect("amount"), 9).expect("amount");
    assert_eq!(legs.iter().map(|l| atoms(&l["amountOut"])).sum::<u64>(), atoms(&quoted["amountOut"]));
    let impacts: Vec<u64> = route["quotes"]
        .as_array()
        .expect("quotes")
        .iter()
        .map(|q| q["priceImpactBps"].as_u64().expect("bps"))
        .collect();
    let impact = quoted["priceImpactBps"].as_u64().expect("bps");
    assert!(
        impact > 0 && impact < impacts.iter().copied().max().expect("quotes"),
        "the legs move their pools less than the whole order moves either: {impact} vs {impacts:?}"
    );

    let (status, refused) = quote(&engine, "tokenIn=USDC&tokenOut=SOL&amountIn=0.000001").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("INSUFFICIENT_LIQUIDITY")), "{refused}");
    engine.stop().await;
}

/// Every bad quote is refused as the same order would be on submit, with its
/// status, code and field; parameters a quote does not take are refused by
/// name; the submit's aliases work; and no quote stores anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_quote_is_refused_with_its_code_and_nothing_is_stored() {
    let engine = Engine::builder().without_worker().start().await;
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        ("tokenOut=USDC&amountIn=1", 400, "MISSING_FIELD", Some("tokenIn")),
        ("tokenIn=SOL&amountIn=1", 400, "MISSING_FIELD", Some("tokenOut")),
        ("tokenIn=SOL&tokenOut=USDC", 400, "MISSING_FIELD", Some("amountIn")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=abc", 400, "INVALID_AMOUNT", Some("amountIn")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=0", 400, "INVALID_AMOUNT", Some("amountIn")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=-1", 400, "INVALID_AMOUNT", Some("amountIn")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=", 400, "INVALID_AMOUNT", Some("amountIn")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=0.0000000001", 400, "TOO_MANY_DECIMALS", Some("amountIn")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=18446744074", 400, "AMOUNT_TOO_LARGE", Some("amountIn")),
        ("tokenIn=DOGE&tokenOut=USDC&amountIn=1", 400, "UNKNOWN_TOKEN", Some("tokenIn")),
        ("tokenIn=SOL&tokenOut=&amountIn=1", 400, "UNKNOWN_TOKEN", Some("tokenOut")),
        ("tokenIn=SOL&tokenOut=wsol&amountIn=1", 400, "SAME_TOKEN", Some("tokenOut")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&slippageBps=0", 400, "INVALID_SLIPPAGE", Some("slippageBps")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&slippageBps=5001", 400, "INVALID_SLIPPAGE", Some("slippageBps")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&slippageBps=12.5", 400, "INVALID_SLIPPAGE", Some("slippageBps")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&slippageBps=5e1", 400, "INVALID_SLIPPAGE", Some("slippageBps")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&slippageBps=", 400, "INVALID_SLIPPAGE", Some("slippageBps")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&slippage=0.9", 400, "INVALID_SLIPPAGE", Some("slippage")),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&userId=alice", 400, "UNKNOWN_FIELD", None),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&type=market", 400, "UNKNOWN_FIELD", None),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&tokenIn=USDT", 400, "DUPLICATE_FIELD", None),
        ("tokenIn=SOL&tokenOut=USDC&amountIn=1&amount=1", 400, "DUPLICATE_FIELD", Some("amount")),
        ("tokenIn=BONK&tokenOut=USDC&amountIn=1", 422, "NO_ROUTE", None),
    ];
    for (query, status, code, field) in cases {
        let (got, body) = quote(&engine, query).await;
        assert_eq!(
            (got, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (*status, Some(*code), *field),
            "{query}: {body}"
        );
    }
    // The submit's aliases (`slippage` a fraction), and a symbol in any case or a mint.
    let (status, canonical) = quote(&engine, "tokenIn=SOL&tokenOut=USDC&amountIn=1.5&slippageBps=50").await;
    assert_eq!(status, 200, "{canonical}");
    let (status, aliased) =
        quote(&engine, "tokenIn=sol&tokenOut=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v&amount=1.50&slippage=0.005")
            .await;
    assert_eq!(status, 200, "{aliased}");
    assert_eq!((aliased["tokenIn"].as_str(), aliased["tokenOut"].as_str()), (Some("SOL"), Some("USDC")));
    assert_eq!(aliased["amountIn"], canonical["amountIn"]);
    let usdc = |v: &Value| oee_domain::parse_units(v.as_str().expect("amount"), 6).expect("amount");
    for q in [&canonical, &aliased] {
        assert_eq!(usdc(&q["minAmountOut"]), usdc(&q["amountOut"]) * 9_950 / 10_000, "50 bps either way: {q}");
    }

    let db = engine.env.db().await.expect("db");
    for table in ["orders", "order_events"] {
        let rows: i64 = db.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("count").get(0);
        assert_eq!(rows, 0, "a quote stores nothing in {table}");
    }
    engine.stop().await;
}

/// Both routes need a key with the `read` scope when keys are required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_and_tokens_need_a_read_key() {
    let engine = Engine::builder().without_worker().configure(|s| s.auth = AuthMode::Required).start().await;
    let store = KeyStore::new(oee_store::pg::pool(&engine.env.settings.pg()).expect("pool"));
    let new = NewKey { account: "desk".into(), scopes: Scopes::new([Scope::Read]), rate: None, burst: None };
    let (_, key) = oee_api::keys::create(&store, &new).await.expect("key");
    for path in ["/api/tokens", "/api/quote?tokenIn=SOL&tokenOut=USDC&amountIn=1"] {
        let response = engine.http.get(engine.url(0, path)).send().await.expect("response");
        assert_eq!(response.status().as_u16(), 401, "{path}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body: Value = response.json().await.expect("body");
        assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
        let (status, body, _) = get(&engine, path, Some(key.as_str())).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    engine.stop().await;
}

/// A landed swap raises the slot a quote of its pair reports, within a refresh
/// or two, and the quote then prices the moved pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quote_slot_rises_after_a_swap_lands() {
    let engine = Engine::start().await;
    let query = "tokenIn=SOL&tokenOut=USDC&amountIn=1";
    let (status, before) = quote(&engine, query).await;
    assert_eq!((status, before["slot"].as_u64()), (200, Some(0)), "{before}");
    let id = engine.accepted(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"2000"}"#).await;
    assert_eq!(engine.until_terminal(&id).await["status"], "confirmed");
    let deadline = Instant::now() + PATIENCE;
    let after = loop {
        let (status, after) = quote(&engine, query).await;
        assert_eq!(status, 200, "{after}");
        if after["slot"].as_u64() > Some(0) {
            break after;
        }
        assert!(Instant::now() < deadline, "the slot never rose: {after}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let db = engine.env.db().await.expect("db");
    let landed: i64 = db.query_one("SELECT max(slot) FROM chain.transactions", &[]).await.expect("slot").get(0);
    assert_eq!(after["slot"].as_i64(), Some(landed), "the route as of the swap's slot");
    // Selling 2,000 SOL into the pool left less USDC per SOL (nothing else moves a pool here).
    let units = |q: &Value| oee_domain::parse_units(q["amountOut"].as_str().expect("out"), 6).expect("USDC");
    assert!(units(&after) < units(&before), "the moved pool prices SOL lower: {before} → {after}");
    engine.stop().await;
}

/// While PostgreSQL is down the snapshot cannot be refreshed: once it is older
/// than the bound, quotes are refused with 503 `UNAVAILABLE` and `Retry-After`
/// rather than priced on old states, promptly; they resume when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_are_refused_rather_than_stale_while_postgres_is_down() {
    let pg = PrivatePostgres::start();
    let engine = pg
        .engine()
        .await
        .without_worker()
        .configure(|s| {
            s.quote_refresh = Duration::from_millis(50);
            s.store_timeout = Duration::from_millis(500);
        })
        .start()
        .await;
    let query = "tokenIn=SOL&tokenOut=USDC&amountIn=1";
    assert_eq!(quote(&engine, query).await.0, 200);

    pg.crash();
    let max_age = engine.env.settings.quote_max_age();
    tokio::time::sleep(max_age + Duration::from_millis(300)).await;
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body, retry_after) = get(&engine, &format!("/api/quote?{query}"), None).await;
        assert_eq!((status, body["error"]["code"].as_str(), retry_after), (503, Some("UNAVAILABLE"), true), "{body}");
        assert!(started.elapsed() < Duration::from_millis(200), "refused at once: {:?}", started.elapsed());
    }
    // The token list needs no store.
    assert_eq!(get(&engine, "/api/tokens", None).await.0, 200);

    pg.start_server();
    let deadline = Instant::now() + PATIENCE;
    while quote(&engine, query).await.0 != 200 {
        assert!(Instant::now() < deadline, "quotes never resumed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.stop().await;
}
