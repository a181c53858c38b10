//! Simulator control: an admin's outside trade lands on the simulated chain in
//! its own slot, is published on the pool-change stream and moves the pool, as
//! the next quote sees; bad requests are refused with their codes and change
//! nothing.

use oee_testkit::{Engine, PATIENCE};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn sim_trade(engine: &Engine, body: &Value) -> (u16, Value) {
    let response = engine.http.post(engine.url(0, "/api/admin/sim/trades")).json(body).send().await.expect("response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_trade_lands_in_its_own_slot_and_moves_the_price() {
    let engine = Engine::builder().without_worker().start().await;
    let query = "/api/quote?tokenIn=SOL&tokenOut=USDC&amountIn=1";
    let (_, before) = engine.get(0, query).await;
    let venue = before["route"]["dex"].as_str().expect("one venue").to_owned();

    // Sell a lot of SOL into the venue the quote chose.
    let (status, trade) =
        sim_trade(&engine, &json!({"tokenIn": "SOL", "tokenOut": "USDC", "venue": venue, "amountIn": "5000"})).await;
    assert_eq!(status, 200, "{trade}");
    let slot = trade["slot"].as_u64().expect("a slot");
    assert!(slot >= 1, "{trade}");
    assert!(trade["amountOut"].as_str().is_some_and(|a| a != "0"), "{trade}");
    assert!(trade["price"].as_str().is_some(), "{trade}");
    let bus = engine.env.bus().await.expect("bus");
    let changes = oee_store::PoolChanges::new(bus.client().clone(), bus.keys());
    let published = changes.read_after("0-0", 10, None).await.expect("read");
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].slot, slot);
    let pool_ids: Vec<&str> = published[0].pools.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(pool_ids, [format!("{venue}:SOL-USDC")], "the pool it moved");

    let deadline = Instant::now() + PATIENCE;
    let after = loop {
        let (status, after) = engine.get(0, query).await;
        assert_eq!(status, 200, "{after}");
        if after["slot"].as_u64() >= Some(slot) {
            break after;
        }
        assert!(Instant::now() < deadline, "the quote never saw the trade: {after}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let moved = |q: &Value| {
        q["route"]["quotes"].as_array().expect("quotes").iter().find(|x| x["dex"] == venue.as_str()).cloned()
    };
    let (was, now) = (moved(&before).expect("quoted"), moved(&after).expect("quoted"));
    let units = |v: &Value| oee_domain::parse_units(v["amountOut"].as_str().expect("out"), 6).expect("USDC");
    assert!(units(&now) < units(&was), "selling SOL made SOL cheaper on {venue}: {was} → {now}");

    for (body, code) in [
        (json!({"tokenIn": "SOL", "tokenOut": "USDC", "venue": "orca", "amountIn": "1"}), "INVALID_PARAMETER"),
        (json!({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1"}), "MISSING_FIELD"),
        (json!({"tokenIn": "SOL", "tokenOut": "DOGE", "venue": "raydium", "amountIn": "1"}), "UNKNOWN_TOKEN"),
        (json!({"tokenIn": "SOL", "tokenOut": "USDC", "venue": "raydium", "amountIn": "0"}), "INVALID_AMOUNT"),
        (json!({"tokenIn": "SOL", "tokenOut": "USDC", "venue": "raydium", "amountIn": "1", "x": 1}), "UNKNOWN_FIELD"),
        (json!({"tokenIn": "BONK", "tokenOut": "USDT", "venue": "raydium", "amountIn": "1"}), "NO_ROUTE"),
    ] {
        let (status, reply) = sim_trade(&engine, &body).await;
        assert_eq!(reply["error"]["code"], code, "{body}: {status} {reply}");
    }
    let db = engine.env.db().await.expect("db");
    let landed: i64 = db.query_one("SELECT count(*) FROM chain.transactions", &[]).await.expect("count").get(0);
    assert_eq!(landed, 1, "only the good trade landed");
    engine.stop().await;
}
