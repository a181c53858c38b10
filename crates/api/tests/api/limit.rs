//! Limit orders through the whole engine (API, worker, trigger engine) over
//! real PostgreSQL and Redis: they rest `open`, fire when outside trades move
//! the market to their price and never fill below it, are cancelled with one
//! winner against their trigger, and expire.

use oee_domain::OrderStatus;
use oee_domain::parse_units;
use oee_testkit::{Engine, PATIENCE, ledger_violations, statuses};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const USDC: u8 = 6;

/// What 1 SOL sells for now, in USDC atoms (the best route).
async fn sol_price(engine: &Engine, amount: &str) -> u64 {
    let (status, quote) = engine.get(0, &format!("/api/quote?tokenIn=SOL&tokenOut=USDC&amountIn={amount}")).await;
    assert_eq!(status, 200, "{quote}");
    parse_units(quote["amountOut"].as_str().expect("amountOut"), USDC).expect("USDC")
}

/// One outside trade on `venue`.
async fn outside_trade(engine: &Engine, token_in: &str, token_out: &str, venue: &str, amount: &str) {
    let body = json!({"tokenIn": token_in, "tokenOut": token_out, "venue": venue, "amountIn": amount});
    let response = engine.http.post(engine.url(0, "/api/admin/sim/trades")).json(&body).send().await.expect("response");
    assert_eq!(response.status().as_u16(), 200, "{body}");
}

/// Buys SOL on both venues until `amount` SOL sells for at least `target` USDC atoms.
async fn push_sol_up_to(engine: &Engine, amount: &str, target: u64) {
    let deadline = Instant::now() + PATIENCE;
    while sol_price(engine, amount).await < target {
        for venue in ["raydium", "meteora"] {
            outside_trade(engine, "USDC", "SOL", venue, "200000").await;
        }
        assert!(Instant::now() < deadline, "the price never reached {target}");
        // The API re-reads the pools every OEE_QUOTE_REFRESH_MS.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn cancel(engine: &Engine, id: &str) -> (u16, Value) {
    let response = engine.http.delete(engine.url(0, &format!("/api/orders/{id}"))).send().await.expect("response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn limit_body(amount: &str, min_atoms: u64, extra: Value) -> String {
    let mut body = json!({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": amount,
        "minAmountOut": oee_domain::format_units(u128::from(min_atoms), USDC)});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_order_rests_until_outside_trades_reach_its_price_then_fills_at_least_its_minimum() {
    let engine = Engine::start().await;
    let now = sol_price(&engine, "1").await;
    // 3% above the market: it must wait.
    let min = now + now * 3 / 100;
    let id = engine.accepted(&limit_body("1", min, json!({}))).await;
    let open = engine.until_status(&id, OrderStatus::Open).await;
    assert_eq!(open["minAmountOut"], oee_domain::format_units(u128::from(min), USDC));
    assert_eq!(open["slippageBps"], Value::Null);
    assert!(open["expiresAt"].as_str().is_some(), "{open}");
    let event = &open["events"][1];
    assert_eq!(
        (event["status"].as_str(), event["minAmountOut"].as_str()),
        (Some("open"), open["minAmountOut"].as_str())
    );
    // Resting is not lost work: it stays in the active set.
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert!(active["orderIds"].as_array().expect("ids").iter().any(|x| x == id.as_str()), "{active}");

    push_sol_up_to(&engine, "1", min).await;
    let done = engine.until_terminal(&id).await;
    assert_eq!(done["status"], "confirmed", "{done}");
    assert_eq!(statuses(&done), ["pending", "open", "routing", "building", "submitted", "confirmed"]);
    let routing = &done["events"][2];
    assert!(routing["trigger"]["slot"].as_u64().is_some_and(|s| s > 0), "{routing}");
    assert!(routing["trigger"]["price"].as_str().is_some(), "{routing}");
    let out = parse_units(done["amountOut"].as_str().expect("amountOut"), USDC).expect("USDC");
    assert!(out >= min, "filled {out} below its minimum {min}");
    assert_eq!(done["route"]["minAmountOut"], done["minAmountOut"], "the chain was told the order's own minimum");
    let db = engine.env.db().await.expect("db");
    assert_eq!(ledger_violations(&db).await.expect("check"), Vec::<String>::new());
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_order_is_cancelled_once_and_nothing_else_can_be() {
    let engine = Engine::start().await;
    let now = sol_price(&engine, "1").await;
    let min = now + now / 10;
    let id = engine.accepted(&limit_body("1", min, json!({}))).await;
    engine.until_status(&id, OrderStatus::Open).await;
    let follower = tokio::spawn({
        let url = engine.ws_url(0, &format!("/api/orders/{id}/ws"));
        async move { oee_testkit::follow_url(&url).await }
    });

    let (status, cancelled) = cancel(&engine, &id).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(statuses(&cancelled), ["pending", "open", "cancelled"]);
    let (status, again) = cancel(&engine, &id).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("NOT_CANCELLABLE")), "{again}");
    let followed = follower.await.expect("follower");
    followed.assert_complete_from(1);
    assert_eq!(followed.statuses(), ["pending", "open", "cancelled"]);
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert_eq!(active["count"], 0, "{active}");

    // A market order is never open: not cancellable, before or after it ends.
    let market = engine.accepted(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.1"}"#).await;
    engine.until_terminal(&market).await;
    let (status, refused) = cancel(&engine, &market).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("NOT_CANCELLABLE")), "{refused}");
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(cancel(&engine, &unknown.to_string()).await.0, 404);
    assert_eq!(cancel(&engine, "not-an-id").await.1["error"]["code"], "INVALID_ORDER_ID");
    // The cancelled order never fires, however far the market goes.
    push_sol_up_to(&engine, "1", min).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(engine.order(&id).await["status"], "cancelled");
    let db = engine.env.db().await.expect("db");
    assert_eq!(ledger_violations(&db).await.expect("check"), Vec::<String>::new());
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_order_expires_at_its_time_never_before() {
    let engine = Engine::start().await;
    let now = sol_price(&engine, "1").await;
    let expires_at = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1_500);
    let body = limit_body("1", now * 2, json!({"expiresAt": oee_domain::format_time(expires_at)}));
    let id = engine.accepted(&body).await;
    let done = engine.until_terminal(&id).await;
    assert_eq!(done["status"], "expired", "{done}");
    assert_eq!(statuses(&done), ["pending", "open", "expired"]);
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc 3339");
    let expired = at(&done["events"][2]["at"]);
    let due = at(&done["expiresAt"]);
    assert!(expired >= due, "expired at {expired}, before its time {due}");
    // The bound (docs/ORDER_TYPES.md): the owner's poll plus one evaluation; far
    // more here only on a stalled machine.
    assert!(expired - due < chrono::TimeDelta::seconds(5), "expired at {expired}, long after {due}");
    let (_, active) = engine.get(0, "/api/orders/active").await;
    assert_eq!(active["count"], 0, "{active}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_limit_orders_are_refused_and_leave_nothing_behind() {
    let engine = Engine::builder().without_worker().start().await;
    let past = oee_domain::format_time(chrono::Utc::now() - chrono::TimeDelta::seconds(1));
    let far = oee_domain::format_time(chrono::Utc::now() + chrono::TimeDelta::days(31));
    for (body, code, field) in [
        (
            json!({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1"}),
            "MISSING_FIELD",
            "limitPrice",
        ),
        (
            json!({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "limitPrice": "150", "slippageBps": 50}),
            "FIELD_NOT_ALLOWED",
            "slippageBps",
        ),
        (
            json!({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "limitPrice": "150", "expiresAt": past}),
            "INVALID_EXPIRY",
            "expiresAt",
        ),
        (
            json!({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "limitPrice": "150", "expiresAt": far}),
            "INVALID_EXPIRY",
            "expiresAt",
        ),
        (
            json!({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "limitPrice": "x"}),
            "INVALID_PRICE",
            "limitPrice",
        ),
        (
            json!({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "limitPrice": "150"}),
            "FIELD_NOT_ALLOWED",
            "limitPrice",
        ),
    ] {
        let (status, reply) = engine.submit(&body.to_string()).await;
        assert_eq!(
            (status, reply["error"]["code"].as_str(), reply["error"]["field"].as_str()),
            (400, Some(code), Some(field)),
            "{body}: {reply}"
        );
    }
    let db = engine.env.db().await.expect("db");
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(stored, 0);
    engine.stop().await;
}

/// Cancels racing triggers: each order ends exactly one way, and the caller is
/// told which — 200 for the cancels that won, 409 for those that lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_cancels_racing_their_triggers_each_have_one_winner() {
    const ORDERS: usize = 100;
    let engine = Engine::start().await;
    let now = sol_price(&engine, "0.01").await;
    let min = now + now / 100;
    let mut ids = Vec::new();
    for _ in 0..ORDERS {
        ids.push(engine.accepted(&limit_body("0.01", min, json!({}))).await);
    }
    for id in &ids {
        engine.until_status(id, OrderStatus::Open).await;
    }
    // The market crosses them all while every one is being cancelled.
    let cancels = futures::future::join_all(ids.iter().map(|id| cancel(&engine, id)));
    let (answers, ()) = tokio::join!(cancels, push_sol_up_to(&engine, "0.01", min));
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for (id, (status, reply)) in ids.iter().zip(answers) {
        let done = engine.until_terminal(id).await;
        let ended = done["status"].as_str().expect("status").to_owned();
        match status {
            200 => assert_eq!(ended, "cancelled", "{reply}"),
            409 => {
                assert_eq!(reply["error"]["code"], "NOT_CANCELLABLE");
                assert_ne!(ended, "cancelled", "a refused cancel cancelled nothing: {done}");
                assert_eq!(statuses(&done)[2], "routing", "{done}");
            }
            other => panic!("cancel answered {other}: {reply}"),
        }
        *outcomes.entry(ended).or_default() += 1;
    }
    assert_eq!(outcomes.values().sum::<usize>(), ORDERS, "{outcomes:?}");
    let db = engine.env.db().await.expect("db");
    assert_eq!(ledger_violations(&db).await.expect("check"), Vec::<String>::new());
    engine.stop().await;
}
