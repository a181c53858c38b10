//! Sniper orders and token launches through the whole engine (API, worker,
//! trigger engine) over real PostgreSQL and Redis: a sniper rests `open` for a
//! token that does not exist yet, fires on the launch's own slot when the new
//! pool is deep enough and cheap enough, never before the pool's open time,
//! and never pays more than its `maxPrice`.

use oee_domain::OrderStatus;
use oee_domain::{format_time, parse_units};
use oee_testkit::{Engine, ledger_violations, statuses};
use serde_json::{Value, json};
use std::time::Duration;

/// PEPE has 6 decimals in these launches.
const PEPE: u8 = 6;

async fn post(engine: &Engine, path: &str, body: &Value) -> (u16, Value) {
    let response = engine.http.post(engine.url(0, path)).json(body).send().await.expect("response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Launches `symbol` against SOL on `venue`: `base` of it and `quote` SOL.
async fn launch(engine: &Engine, extra: Value) -> Value {
    let mut body = json!({"symbol": "PEPE", "decimals": PEPE, "quoteToken": "SOL", "venue": "raydium",
        "baseAmount": "1000000000", "quoteAmount": "500"});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, launched) = post(engine, "/api/admin/sim/launches", &body).await;
    assert_eq!(status, 201, "{body}: {launched}");
    launched
}

fn sniper(token_out: &str, extra: Value) -> String {
    let mut body = json!({"type": "sniper", "tokenIn": "SOL", "tokenOut": token_out, "amountIn": "1"});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    body.to_string()
}

fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc 3339")
}

/// The launch prices PEPE at 0.0000005 SOL (500 SOL for a billion): a sniper
/// allowing twice that fires on the launch's slot; one allowing less, one
/// asking for more liquidity than the pool has, stay open; one that expires
/// first ends `expired`. Then the token trades like any listed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sniper_fires_on_the_launch_slot_within_its_price_and_liquidity() {
    let engine = Engine::start().await;
    let soon = format_time(chrono::Utc::now() + chrono::TimeDelta::milliseconds(1_500));
    let fires = engine.accepted(&sniper("pepe", json!({"maxPrice": "0.000001", "minLiquidity": "100"}))).await;
    let too_cheap = engine.accepted(&sniper("PEPE", json!({"maxPrice": "0.0000004"}))).await;
    let too_shallow = engine.accepted(&sniper("PEPE", json!({"minLiquidity": "1000"}))).await;
    let expires = engine.accepted(&sniper("PEPE", json!({"expiresAt": soon}))).await;
    let open = engine.until_status(&fires, OrderStatus::Open).await;
    assert_eq!((open["tokenOut"].as_str(), open["maxPrice"].as_str()), (Some("PEPE"), Some("0.000001")));
    assert_eq!((open["minLiquidity"].as_str(), open["slippageBps"].as_u64()), (Some("100"), Some(50)));
    let event = &open["events"][1];
    assert_eq!((event["status"].as_str(), event["maxPrice"].as_str()), (Some("open"), Some("0.000001")));
    assert_eq!(event["minAmountOut"], Value::Null, "no minimum before the token's decimals are known");
    for id in [&too_cheap, &too_shallow] {
        engine.until_status(id, OrderStatus::Open).await;
    }
    let done = engine.until_terminal(&expires).await;
    assert_eq!(statuses(&done), ["pending", "open", "expired"]);

    let launched = launch(&engine, json!({})).await;
    let slot = launched["slot"].as_u64().expect("slot");
    let done = engine.until_terminal(&fires).await;
    assert_eq!(done["status"], "confirmed", "{done}");
    assert_eq!(statuses(&done), ["pending", "open", "routing", "building", "submitted", "confirmed"]);
    assert_eq!(done["events"][2]["trigger"]["slot"], slot, "fired on the launch's own slot: {done}");
    assert_eq!(done["tokenOut"], "PEPE", "the order names the token it found");
    let swap =
        done["events"][4]["instructions"].as_array().expect("instructions").iter().find(|i| i["instruction"] == "swap");
    assert_eq!(swap.map(|i| &i["pool"]), Some(&launched["pool"]), "{done}");
    let out = parse_units(done["amountOut"].as_str().expect("amountOut"), PEPE).expect("PEPE");
    // At most 0.000001 SOL per PEPE: at least 1,000,000 PEPE for 1 SOL.
    assert!(out >= 1_000_000 * 10u64.pow(u32::from(PEPE)), "paid more than its maxPrice: {out}");

    // Neither of the others may fire on this pool, whatever time passes.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for id in [&too_cheap, &too_shallow] {
        assert_eq!(engine.order(id).await["status"], "open", "{id}");
    }
    // The token is listed now, and trades like any other.
    let (_, tokens) = engine.get(0, "/api/tokens").await;
    assert!(tokens["tokens"].as_array().expect("tokens").iter().any(|t| t["mint"] == launched["mint"]), "{tokens}");
    let (_, launches) = engine.get(0, "/api/launches").await;
    assert_eq!(launches["launches"][0]["pool"], launched["pool"], "{launches}");
    assert_eq!(launches["launches"][0]["quoteToken"], "SOL", "{launches}");
    let market = engine.accepted(r#"{"tokenIn":"SOL","tokenOut":"PEPE","amountIn":"0.5","slippageBps":100}"#).await;
    assert_eq!(engine.until_terminal(&market).await["status"], "confirmed");
    // A sniper that has not fired is cancelled like a limit order.
    let response =
        engine.http.delete(engine.url(0, &format!("/api/orders/{too_cheap}"))).send().await.expect("response");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(statuses(&engine.order(&too_cheap).await), ["pending", "open", "cancelled"]);

    let db = engine.env.db().await.expect("db");
    assert_eq!(ledger_violations(&db).await.expect("check"), Vec::<String>::new());
    engine.stop().await;
}

/// A pool launched with a future open time, like Raydium's `open_time`: the
/// sniper (naming the token by its mint) waits for it, and fires then, on
/// the launch's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sniper_waits_for_the_pools_open_time() {
    let engine = Engine::start().await;
    let mint = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr";
    let id = engine.accepted(&sniper(mint, json!({"slippageBps": 300}))).await;
    let open = engine.until_status(&id, OrderStatus::Open).await;
    assert_eq!(open["tokenOut"], mint);
    let open_at = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
    let launched = launch(&engine, json!({"mint": mint, "venue": "meteora", "openAt": format_time(open_at)})).await;
    assert_eq!(launched["mint"], mint);
    // Until then the pool fills nothing: not a quote, not the sniper.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, quote) = engine.get(0, "/api/quote?tokenIn=SOL&tokenOut=PEPE&amountIn=1").await;
    assert_eq!((status, quote["error"]["code"].as_str()), (422, Some("INSUFFICIENT_LIQUIDITY")), "{quote}");
    let done = engine.until_terminal(&id).await;
    assert_eq!(done["status"], "confirmed", "{done}");
    let routing = &done["events"][2];
    assert_eq!(routing["trigger"]["slot"], launched["slot"], "{routing}");
    // The chain's clock counts whole seconds: the first at or after openAt.
    let opened = chrono::DateTime::from_timestamp(open_at.timestamp(), 0).expect("time");
    assert!(time(&routing["at"]) >= opened, "fired at {} before the pool opened at {opened}", routing["at"]);
    let db = engine.env.db().await.expect("db");
    assert_eq!(ledger_violations(&db).await.expect("check"), Vec::<String>::new());
    engine.stop().await;
}

/// Bad sniper orders and bad launches get their codes and leave nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_snipers_and_launches_are_refused_and_leave_nothing_behind() {
    let engine = Engine::builder().without_worker().start().await;
    for (body, code, field) in [
        (sniper("PEPE", json!({"maxPrice": "0"})), "INVALID_PRICE", "maxPrice"),
        (sniper("PEPE", json!({"limitPrice": "1"})), "FIELD_NOT_ALLOWED", "limitPrice"),
        (sniper("PEPE", json!({"minLiquidity": "much"})), "INVALID_AMOUNT", "minLiquidity"),
        (sniper("no such token!", json!({})), "UNKNOWN_TOKEN", "tokenOut"),
        (sniper("SOL", json!({})), "SAME_TOKEN", "tokenOut"),
        (
            json!({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1", "maxPrice": "1"}).to_string(),
            "FIELD_NOT_ALLOWED",
            "maxPrice",
        ),
    ] {
        let (status, reply) = engine.submit(&body).await;
        assert_eq!(
            (status, reply["error"]["code"].as_str(), reply["error"]["field"].as_str()),
            (400, Some(code), Some(field)),
            "{body}: {reply}"
        );
    }
    let base = json!({"symbol": "PEPE", "decimals": 6, "quoteToken": "SOL", "venue": "raydium",
        "baseAmount": "1000", "quoteAmount": "5"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, status, code) in [
        (with("symbol", json!("no good")), 400, "INVALID_PARAMETER"),
        (with("decimals", json!(19)), 400, "INVALID_PARAMETER"),
        (with("quoteToken", json!("DOGE")), 400, "UNKNOWN_TOKEN"),
        (with("venue", json!("orca")), 400, "INVALID_PARAMETER"),
        (with("baseAmount", json!("0")), 400, "INVALID_AMOUNT"),
        (with("quoteAmount", json!("0.0000000001")), 400, "TOO_MANY_DECIMALS"),
        (with("openAt", json!("tomorrow")), 400, "INVALID_PARAMETER"),
        (with("openAt", json!("2099-01-01T00:00:00Z")), 400, "INVALID_PARAMETER"),
        (with("mint", json!("0OIl")), 400, "INVALID_PARAMETER"),
        (with("colour", json!("green")), 400, "UNKNOWN_FIELD"),
        (with("symbol", json!("usdc")), 409, "TOKEN_EXISTS"),
    ] {
        let (got, reply) = post(&engine, "/api/admin/sim/launches", &body).await;
        assert_eq!((got, reply["error"]["code"].as_str()), (status, Some(code)), "{body}: {reply}");
    }
    let db = engine.env.db().await.expect("db");
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    let tokens: i64 = db.query_one("SELECT count(*) FROM chain.tokens", &[]).await.expect("count").get(0);
    assert_eq!((stored, tokens), (0, 0));
    // The first launch of a name wins; a second is refused, with nothing written.
    let (status, _) = post(&engine, "/api/admin/sim/launches", &base).await;
    assert_eq!(status, 201);
    let (status, reply) = post(&engine, "/api/admin/sim/launches", &with("venue", json!("meteora"))).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (409, Some("TOKEN_EXISTS")), "{reply}");
    // A launched pool's id names its mints (a listed one's, its symbols).
    let orphans = "SELECT count(*) FROM chain.pools p
        WHERE length(p.id) > 40 AND NOT EXISTS (SELECT 1 FROM chain.tokens t WHERE t.pool_id = p.id)";
    let orphans: i64 = db.query_one(orphans, &[]).await.expect("count").get(0);
    assert_eq!(orphans, 0, "the refused launch left no pool");
    engine.stop().await;
}
