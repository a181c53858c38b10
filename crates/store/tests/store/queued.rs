//! An order as its job carries it reads back as the stored row does, for every
//! kind of order, whichever way it was inserted.

use chrono::{Duration, Utc};
use oee_store::orders::queued;
use oee_store::{NewOrder, OrderStore};
use oee_testkit::TestEnv;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_order_reads_back_as_its_stored_row() {
    let env = TestEnv::new().await.expect("env");
    let orders = OrderStore::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"));
    let later = oee_domain::format_time(Utc::now() + Duration::minutes(5));
    let bodies = [
        r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5"}"#.to_owned(),
        r#"{"tokenIn":"USDC","tokenOut":"BONK","amountIn":"0.000001","slippageBps":300,"userId":"desk-7"}"#.to_owned(),
        r#"{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"2","minAmountOut":"250.5"}"#.to_owned(),
        format!(r#"{{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"1","limitPrice":"140","expiresAt":"{later}"}}"#),
        r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"PEPE","amountIn":"1","maxPrice":"0.000001","minLiquidity":"100"}"#.to_owned(),
        r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"11111111111111111111111111111111","amountIn":"0.5"}"#.to_owned(),
        format!(r#"{{"type":"sniper","tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.5","expiresAt":"{later}"}}"#),
    ];
    // Every kind through the shared-commit insert, and each one alone too.
    let new_order = |body: &str, account: &str| env.new_order(body, account).expect("valid order");
    let shared: Vec<NewOrder> = bodies.iter().map(|b| new_order(b, "desk")).collect();
    orders.insert_new_many(&shared.iter().collect::<Vec<_>>()).await.expect("insert many");
    let alone: Vec<NewOrder> = bodies.iter().map(|b| new_order(b, "fund")).collect();
    for order in &alone {
        orders.insert(order, None).await.expect("insert");
    }
    for order in shared.iter().chain(&alone) {
        let stored = orders.get(order.id).await.expect("get").expect("stored");
        let carried = queued::decode(order.id, &queued::encode(order)).expect("decodes");
        assert_eq!(carried, stored, "{:?}", order.spec);
    }
    assert!(queued::decode(Uuid::now_v7(), "{not json").is_err());
    env.cleanup().await.expect("cleanup");
}
