//! The simulated chain's pool rows: states written before migration V3 (JSON
//! text) are still read, and rewritten in the compact form when next moved.

use chrono::Utc;
use oee_domain::TokenRegistry;
use oee_router::{Ledger, SwapLeg, Transaction};
use oee_store::PgLedger;
use oee_testkit::TestEnv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_stored_as_json_reads_the_same_and_is_rewritten_compactly() {
    let env = TestEnv::new().await.expect("env");
    let registry = TokenRegistry::default();
    let seeds = oee_router::seed_pools(&registry, Utc::now().timestamp());
    let ledger = PgLedger::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"));
    ledger.seed(seeds.clone()).await.expect("seed");
    let db = env.db().await.expect("db");
    let format = |id: &'static str| {
        let db = &db;
        async move {
            let row = db.query_one("SELECT get_byte(state, 0) FROM chain.pools WHERE id = $1", &[&id]).await;
            row.expect("pool").get::<_, i32>(0)
        }
    };
    assert_eq!(format("meteora:SOL-USDC").await, 3, "seeded in the compact form");

    // What migration V3 leaves of a state written before it: its JSON text.
    let pool = seeds.iter().find(|p| p.id == "meteora:SOL-USDC").expect("pool").clone();
    let json = serde_json::to_string(&pool).expect("json");
    db.execute("UPDATE chain.pools SET state = convert_to($2, 'UTF8') WHERE id = $1", &[&pool.id, &json])
        .await
        .expect("store as JSON");
    assert_eq!(format("meteora:SOL-USDC").await, i32::from(b'{'));
    let read = ledger.pools(std::slice::from_ref(&pool.id)).await.expect("read");
    assert_eq!(read, std::slice::from_ref(&pool), "a JSON state reads as the same pool");

    // A swap through it lands against that state and writes it back compactly.
    let sol = registry.by_symbol("SOL").expect("sol").mint.clone();
    let tx = Transaction {
        id: "after-v3".into(),
        legs: vec![SwapLeg { pool_id: pool.id.clone(), mint_in: sol, amount_in: 1_000_000_000 }],
        min_amount_out: 0,
        valid_until: i64::MAX,
        instructions: Vec::new(),
    };
    let landed = ledger.commit(&tx, Utc::now().timestamp()).await.expect("lands");
    assert!(landed.receipt.amount_out() > 0);
    assert_eq!(format("meteora:SOL-USDC").await, 3, "rewritten in the compact form");
    let after = ledger.pools(std::slice::from_ref(&pool.id)).await.expect("read");
    assert_eq!(after, landed.pools, "what was written is what the swap left");
    assert_ne!(after, [pool], "the swap moved the pool");
    env.cleanup().await.expect("cleanup");
}

/// A landed swap raises each pool it moved to its own slot, stored beside the
/// state: what the API's quotes report their route as of. Pools it did not
/// touch keep theirs, and a later swap raises the pool again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landed_swap_raises_the_slot_of_the_pools_it_moved() {
    let env = TestEnv::new().await.expect("env");
    let registry = TokenRegistry::default();
    let pg = oee_store::pg::pool(&env.settings.pg()).expect("pool");
    let ledger = PgLedger::new(pg.clone());
    ledger.seed(oee_router::seed_pools(&registry, Utc::now().timestamp())).await.expect("seed");
    let seeded = oee_store::chain::all_pools(&pg).await.expect("all pools");
    assert_eq!(seeded.len(), 12, "both venues' pools for every listed pair");
    assert!(seeded.iter().all(|p| p.slot == 0), "unchanged since seeded");

    let sol = registry.by_symbol("SOL").expect("sol").mint.clone();
    let swap = |id: &str, pool: &str| Transaction {
        id: id.into(),
        legs: vec![SwapLeg { pool_id: pool.into(), mint_in: sol.clone(), amount_in: 1_000_000_000 }],
        min_amount_out: 0,
        valid_until: i64::MAX,
        instructions: Vec::new(),
    };
    let first = ledger.commit(&swap("one", "raydium:SOL-USDC"), Utc::now().timestamp()).await.expect("lands");
    assert!(first.receipt.slot > 0);
    assert_eq!(first.pools.iter().map(|p| p.slot).collect::<Vec<_>>(), [first.receipt.slot]);
    let slot_of = |pools: &[oee_router::Pool], id: &str| pools.iter().find(|p| p.id == id).expect("pool").slot;
    let now = oee_store::chain::all_pools(&pg).await.expect("all pools");
    assert_eq!(slot_of(&now, "raydium:SOL-USDC"), first.receipt.slot, "raised to the swap's slot");
    assert_eq!(slot_of(&now, "meteora:SOL-USDC"), 0, "an untouched pool keeps its slot");

    let second = ledger.commit(&swap("two", "raydium:SOL-USDC"), Utc::now().timestamp()).await.expect("lands");
    assert!(second.receipt.slot > first.receipt.slot);
    let read = ledger.pools(&["raydium:SOL-USDC".to_owned()]).await.expect("read");
    assert_eq!(read[0].slot, second.receipt.slot, "raised again");
    assert_eq!(read, second.pools, "what the swap left, slot included");
    env.cleanup().await.expect("cleanup");
}

/// A batch lands in two pipelined flights (BEGIN, locks and the landed check;
/// then receipts, pools and COMMIT) on a connection taken from the pool. When a
/// write of the second flight fails, nothing of the batch stays — no receipt,
/// the pool unmoved — and the connection goes back to the pool outside any
/// transaction: with a pool of one, the next swap lands on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_write_fails_leaves_nothing_and_its_connection_usable() {
    let env = TestEnv::new().await.expect("env");
    let registry = TokenRegistry::default();
    let pg = oee_store::pg::pool(&oee_store::PgSettings { pool_size: 1, ..env.settings.pg() }).expect("pool");
    let ledger = PgLedger::new(pg.clone());
    ledger.seed(oee_router::seed_pools(&registry, Utc::now().timestamp())).await.expect("seed");
    let db = env.db().await.expect("db");
    // The pool update (after the receipt's insert, before COMMIT) fails.
    db.batch_execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
         CREATE TRIGGER refuse BEFORE UPDATE ON chain.pools FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .await
    .expect("trigger");
    let sol = registry.by_symbol("SOL").expect("sol").mint.clone();
    let swap = |id: &str| Transaction {
        id: id.into(),
        legs: vec![SwapLeg { pool_id: "raydium:SOL-USDC".into(), mint_in: sol.clone(), amount_in: 1_000_000_000 }],
        min_amount_out: 0,
        valid_until: i64::MAX,
        instructions: Vec::new(),
    };
    let before = ledger.pools(&["raydium:SOL-USDC".to_owned()]).await.expect("read");
    let refused = ledger.commit(&swap("refused"), Utc::now().timestamp()).await;
    assert!(refused.is_err(), "the failed write is reported: {refused:?}");
    let receipts: i64 =
        db.query_one("SELECT count(*) FROM chain.transactions WHERE id = 'refused'", &[]).await.expect("count").get(0);
    assert_eq!(receipts, 0, "the receipt inserted before the failure was rolled back");
    assert_eq!(ledger.pools(&["raydium:SOL-USDC".to_owned()]).await.expect("read"), before, "the pool unmoved");

    db.batch_execute("DROP TRIGGER refuse ON chain.pools").await.expect("drop trigger");
    let landed = ledger.commit(&swap("after"), Utc::now().timestamp()).await.expect("lands on the same connection");
    assert!(landed.receipt.amount_out() > 0);
    let status = pg.status();
    assert_eq!(status.max_size, 1, "one connection, so the swap above used the one the failure left");
    env.cleanup().await.expect("cleanup");
}
