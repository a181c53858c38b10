//! The trigger engine with real processes: the worker owning a pair's books is
//! killed with SIGKILL while thousands of limit orders rest and crossing moves
//! land; the next owner rebuilds the books from PostgreSQL and fires every
//! crossed order, once, and nothing else. Two workers share the pairs.

use crate::processes::{InProcess, Killed, count, spawn_worker};
use chrono::Utc;
use oee_domain::{Channel, TokenRegistry, format_units, parse_order};
use oee_router::{Ledger, Market, SwapLeg, Transaction, VenueError, plan};
use oee_store::{NewOrder, OrderStore, PgLedger};
use oee_testkit::TestEnv;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ORDERS: usize = 2_000;
/// Each order sells this much SOL (atoms: 0.01 SOL).
const AMOUNT: u64 = 10_000_000;
const LEASE: Duration = Duration::from_millis(1_500);

/// A test environment whose workers hold pairs under [`LEASE`], with its
/// database, its tokens and a pool of connections.
async fn short_leases() -> (TestEnv, tokio_postgres::Client, TokenRegistry, oee_store::PgPool) {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.trigger_lease = LEASE;
    env.settings.worker_concurrency = 50;
    let db = env.db().await.expect("db");
    let registry = env.settings.registry().expect("registry");
    let pg = oee_store::pg::pool(&env.settings.pg()).expect("pool");
    (env, db, registry, pg)
}

/// What `AMOUNT` SOL sells for on the pools as they stand, by the engine's own route.
async fn sol_sells_for(pg: &oee_store::PgPool, registry: &TokenRegistry) -> u64 {
    let body = format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"{}"}}"#, format_units(AMOUNT.into(), 9));
    let spec = parse_order(body.as_bytes(), registry, Channel::Http).expect("valid").spec;
    let now = Utc::now().timestamp();
    let pools = oee_store::chain::all_pools(pg).await.expect("pools");
    let markets: Vec<Result<Market, VenueError>> = pools
        .into_iter()
        .filter(|p| p.pairs(&spec.token_in.mint, &spec.token_out.mint))
        .map(|pool| Ok(Market { pool, now }))
        .collect();
    plan(&spec, markets).expect("a route").expected_out
}

/// Buys SOL with `usdc` atoms of USDC on every SOL/USDC pool: an outside trade,
/// landed without publishing it on `{ns}:pools` — as an append lost to a crash
/// between the commit and the publish would be, so the next owner must find
/// the moves in PostgreSQL.
async fn buy_sol(ledger: &PgLedger, pg: &oee_store::PgPool, registry: &TokenRegistry, usdc: u64) {
    let (sol, usdc_mint) =
        (&registry.by_symbol("SOL").expect("SOL").mint, &registry.by_symbol("USDC").expect("USDC").mint);
    for pool in oee_store::chain::all_pools(pg).await.expect("pools").into_iter().filter(|p| p.pairs(sol, usdc_mint)) {
        let tx = Transaction {
            id: format!("sim-{}", Uuid::now_v7()),
            legs: vec![SwapLeg { pool_id: pool.id.clone(), mint_in: usdc_mint.clone(), amount_in: usdc }],
            min_amount_out: 0,
            valid_until: i64::MAX,
            instructions: Vec::new(),
        };
        ledger.commit(&tx, Utc::now().timestamp()).await.expect("the outside trade lands");
    }
}

/// kill -9 the owner of SOL/USDC with 2,000 orders resting; the market crosses
/// about a third of them while nobody owns the pair; the next owner takes over
/// after the lease, rebuilds, and fires each crossed order exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owners_crossed_orders_fire_once_each_under_the_next_owner_and_none_is_lost() {
    let (env, db, registry, pg) = short_leases().await;
    let ledger = PgLedger::new(pg.clone());
    let mut first = Killed(spawn_worker(&env));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(&db, "SELECT count(*) FROM chain.pools").await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the worker never seeded the chain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Minimums from 0.05% to 8% above what the order gets now.
    let now = sol_sells_for(&pg, &registry).await;
    let orders = OrderStore::new(pg.clone());
    let bus = env.bus().await.expect("bus");
    let mut mins = HashMap::new();
    let mut batch = Vec::new();
    for i in 0..ORDERS {
        let min = now + now * (1 + (i as u64 % 160)) / 2_000;
        let body = format!(
            r#"{{"type":"limit","tokenIn":"SOL","tokenOut":"USDC","amountIn":"0.01","minAmountOut":"{}"}}"#,
            format_units(min.into(), 6)
        );
        let spec = parse_order(body.as_bytes(), &registry, Channel::Http).expect("valid").spec;
        let at = Utc::now();
        let id = Uuid::now_v7();
        mins.insert(id, min);
        batch.push(NewOrder {
            id,
            account: "anonymous".into(),
            spec,
            at,
            expires_at: Some(at + chrono::TimeDelta::hours(1)),
        });
    }
    for chunk in batch.chunks(500) {
        orders.insert_new_many(&chunk.iter().collect::<Vec<_>>()).await.expect("stored");
        futures::future::try_join_all(chunk.iter().map(|o| bus.enqueue(o.id))).await.expect("queued");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT count(*) FROM orders WHERE status = 'open'").await < ORDERS as i64 {
        assert!(tokio::time::Instant::now() < deadline, "the orders never all opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&db, "SELECT count(*) FROM order_events WHERE payload::text LIKE '%\"trigger\"%'").await, 0);

    // The only worker owns every pair. Kill it; move the market while nobody owns SOL/USDC.
    first.0.kill().expect("SIGKILL");
    first.0.wait().expect("reaped");
    let target = now + now * 3 / 100; // +3%: about a third of the orders
    while sol_sells_for(&pg, &registry).await < target {
        buy_sol(&ledger, &pg, &registry, 20_000_000_000).await;
    }
    let crossed_at = sol_sells_for(&pg, &registry).await;

    // The next owner: after the lease expires it takes the pair over and fires.
    let second = InProcess::start(&env).await;
    let settled =
        "SELECT count(*) FROM orders WHERE status NOT IN ('open', 'confirmed', 'failed', 'expired', 'cancelled')";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let fired = count(&db, "SELECT count(*) FROM orders WHERE status <> 'open' OR attempts > 0").await;
        if fired > 0 && count(&db, settled).await == 0 {
            // Give the books one more evaluation: nothing else may fire.
            tokio::time::sleep(Duration::from_millis(500)).await;
            if count(&db, settled).await == 0 {
                break;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "the next owner never fired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.stop().await;

    // Every order crossed when the owner took over fired; none above the market did.
    let rows = db
        .query(
            "SELECT o.id, o.status, o.amount_out::text,
                    (SELECT count(*) FROM order_events e WHERE e.order_id = o.id AND e.payload::text LIKE '%\"trigger\"%'),
                    (SELECT count(*) FROM order_events e WHERE e.order_id = o.id AND e.status = 'open')
             FROM orders o",
            &[],
        )
        .await
        .expect("orders");
    let (mut fired, mut crossed) = (0, 0);
    for row in &rows {
        let id: Uuid = row.get(0);
        let status: String = row.get(1);
        let (triggers, opens): (i64, i64) = (row.get(3), row.get(4));
        let min = mins[&id];
        assert!(triggers <= opens, "{id}: {triggers} triggers for {opens} openings");
        if let Some(out) = row.get::<_, Option<&str>>(2) {
            assert!(out.parse::<u64>().expect("atoms") >= min, "{id} filled {out} below its minimum {min}");
        }
        // Orders whose minimum lies within 1% of the crossing price are left out
        // of the two claims: the fills of the others move the price, and so does
        // the pools' simulated outside trading.
        if min <= crossed_at - crossed_at / 100 {
            crossed += 1;
            assert!(triggers >= 1, "{id} (min {min}) was crossed at {crossed_at} and never fired: {status}");
        }
        if min > crossed_at + crossed_at / 100 {
            assert_eq!(triggers, 0, "{id} (min {min}) fired though the market ({crossed_at}) never reached it");
        }
        fired += usize::from(triggers > 0);
    }
    assert!(crossed > ORDERS / 5 && fired >= crossed, "crossed {crossed}, fired {fired}");
    let wrong = oee_testkit::ledger_violations(&db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
    env.cleanup().await.expect("cleanup");
}

/// Two workers share the partitions (the pairs and the snipers): each holds
/// about half, and when one stops the other takes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_the_pairs_and_one_takes_all_when_the_other_stops() {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.trigger_lease = LEASE;
    let listing = oee_router::Listing::new(&env.settings.registry().expect("registry"));
    let mut leases: Vec<String> =
        listing.pairs().iter().map(|p| format!("trigger:{}:{}", p.mint_base, p.mint_quote)).collect();
    leases.push("trigger:snipers".to_owned());
    let pairs = leases.len();
    let bus = env.bus().await.expect("bus");
    let holders = || async {
        let mut held: HashMap<String, usize> = HashMap::new();
        for name in &leases {
            if let Some(holder) = bus.locks.holder(name).await.expect("holder") {
                *held.entry(holder).or_default() += 1;
            }
        }
        held
    };
    let start = || async {
        let worker = Arc::new(oee_worker::build(&env.settings).await.expect("worker"));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (worker, stop) = (worker.clone(), stop.clone());
            async move { worker.run(stop).await }
        });
        (stop, task)
    };
    let (stop_a, task_a) = start().await;
    let (stop_b, task_b) = start().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let held = holders().await;
        let total: usize = held.values().sum();
        if held.len() == 2 && total == pairs && held.values().all(|n| *n <= pairs.div_ceil(2)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the pairs were never shared: {held:?} of {pairs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A clean stop releases its pairs; the other takes them all.
    stop_a.cancel();
    task_a.await.expect("join").expect("ran");
    loop {
        let held = holders().await;
        if held.len() == 1 && held.values().sum::<usize>() == pairs {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the pairs were never taken over: {held:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_b.cancel();
    task_b.await.expect("join").expect("ran");
    env.cleanup().await.expect("cleanup");
}

/// kill -9 the worker holding the sniper partition with hundreds of snipers
/// resting for a token that does not exist; the token launches while nobody
/// holds the partition (and its publish is lost: the launch is only in
/// PostgreSQL); the next owner rebuilds the partition and fires each sniper
/// once, on the launch's slot, and every one fills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sniper_owners_orders_fire_once_each_on_the_launch_under_the_next_owner() {
    const SNIPERS: usize = 300;
    let (env, db, registry, pg) = short_leases().await;
    let mut first = Killed(spawn_worker(&env));
    let orders = OrderStore::new(pg.clone());
    let bus = env.bus().await.expect("bus");
    let body = r#"{"type":"sniper","tokenIn":"SOL","tokenOut":"KILLME","amountIn":"0.01","maxPrice":"0.001","slippageBps":500}"#;
    let spec = parse_order(body.as_bytes(), &registry, Channel::Http).expect("valid").spec;
    let batch: Vec<NewOrder> = (0..SNIPERS)
        .map(|_| {
            let at = Utc::now();
            let expires_at = Some(at + chrono::TimeDelta::hours(1));
            NewOrder { id: Uuid::now_v7(), account: "anonymous".into(), spec: spec.clone(), at, expires_at }
        })
        .collect();
    orders.insert_new_many(&batch.iter().collect::<Vec<_>>()).await.expect("stored");
    futures::future::try_join_all(batch.iter().map(|o| bus.enqueue(o.id))).await.expect("queued");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT count(*) FROM orders WHERE status = 'open'").await < SNIPERS as i64 {
        assert!(tokio::time::Instant::now() < deadline, "the snipers never all opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.0.kill().expect("SIGKILL");
    first.0.wait().expect("reaped");

    // The launch: 1,000 SOL against a billion KILLME (0.000001 SOL each).
    let sol = registry.by_symbol("SOL").expect("SOL");
    let token = oee_domain::Token::stored("KILLME".into(), "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin".into(), 6);
    let now = Utc::now().timestamp();
    let pool =
        oee_router::market::launch_pool(oee_domain::Dex::Raydium, &token, sol, 10u64.pow(15), 10u64.pow(12), None, now)
            .expect("a pool");
    let launched = oee_store::chain::launch(&pg, &token, &pool, None).await.expect("launch").expect("a new token");

    let second = InProcess::start(&env).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while count(&db, "SELECT count(*) FROM orders WHERE status = 'confirmed'").await < SNIPERS as i64 {
        let stuck = count(&db, "SELECT count(*) FROM orders WHERE status = 'failed'").await;
        assert_eq!(stuck, 0, "a sniper failed");
        assert!(tokio::time::Instant::now() < deadline, "the next owner never filled every sniper");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.stop().await;

    let rows = db
        .query(
            "SELECT o.token_out, (SELECT array_agg((e.payload::json -> 'trigger' ->> 'slot')::bigint)
                 FROM order_events e WHERE e.order_id = o.id AND e.payload::text LIKE '%\"trigger\"%')
             FROM orders o",
            &[],
        )
        .await
        .expect("orders");
    for row in &rows {
        assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("KILLME"), "the token was filled in");
        let triggers: Vec<i64> = row.get(1);
        assert_eq!(triggers, [i64::try_from(launched.slot).expect("slot")], "one trigger, on the launch's slot");
    }
    let wrong = oee_testkit::ledger_violations(&db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
    env.cleanup().await.expect("cleanup");
}
