//! The worker against real Postgres and Redis, driven step by step.

use chrono::Utc;
use oee_domain::{Channel, TokenRegistry, parse_order};
use oee_router::Latency;
use oee_router::transaction_id;
use oee_store::{NewOrder, OrderStore, StoreError};
use oee_testkit::{TestEnv, assert_gapless_from, start_worker};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// Stores and queues an order as the API does.
async fn submit(env: &TestEnv, body: &str) -> Uuid {
    env.queue_order(body).await.expect("order queued")
}

/// The order's events, in seq order.
async fn events(env: &TestEnv, id: Uuid) -> Vec<Value> {
    env.events(id).await.expect("events")
}

fn statuses(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["status"].as_str().expect("status")).collect()
}

async fn pending_jobs(env: &TestEnv) -> u64 {
    env.bus().await.expect("bus").jobs.stats().await.expect("stats").pending
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_until_idle_executes_every_queued_order() -> Result<(), StoreError> {
    let env = TestEnv::new().await.expect("env");
    let mut ids = Vec::new();
    for amount in ["0.5", "1", "2.25"] {
        ids.push(submit(&env, &format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"{amount}"}}"#)).await);
    }
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    assert_eq!(worker.run_until_idle().await?, 3);
    for id in &ids {
        let e = events(&env, *id).await;
        assert_gapless_from(&e, 1);
        assert_eq!(statuses(&e), ["pending", "routing", "building", "submitted", "confirmed"]);
    }
    assert_eq!(pending_jobs(&env).await, 0, "every job acknowledged");
    assert!(env.bus().await.expect("bus").active.members().await?.is_empty(), "active set emptied");
    assert_eq!(worker.run_until_idle().await?, 0, "nothing left");
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_and_no_swap_lands_twice() -> Result<(), StoreError> {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.venue_failure_rate = 1.0;
    let mut ids = Vec::new();
    for _ in 0..24 {
        ids.push(submit(&env, r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"25"}"#).await);
    }
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    worker.run_until_idle().await?;
    let router = worker.executor().router();
    let (mut confirmed, mut failed) = (0, 0);
    for id in ids {
        let e = events(&env, id).await;
        assert_gapless_from(&e, 1);
        let routing: Vec<&Value> = e.iter().filter(|e| e["status"] == "routing").collect();
        assert!(routing.len() <= 3, "at most three attempts");
        for (n, r) in routing.iter().enumerate() {
            assert_eq!(r["attempt"], n as u64 + 1);
            assert_eq!(r.get("lastError").is_some(), n > 0, "a retry says why: {r}");
        }
        let mut landed = Vec::new();
        for attempt in 1..=3 {
            if let Some(done) = router.landed(&transaction_id(id, attempt)).await.expect("ledger") {
                landed.push(done);
            }
        }
        let last = e.last().expect("terminal");
        match last["status"].as_str() {
            Some("failed") => {
                failed += 1;
                assert_eq!(last["error"]["code"], "RETRIES_EXHAUSTED", "{last}");
                assert_eq!(last["attempts"], 3);
                assert!(landed.is_empty(), "a failed order has no landed swap");
            }
            Some("confirmed") => {
                // Injected "timeout after landing": the retry found the swap had landed.
                confirmed += 1;
                assert_eq!(landed.len(), 1, "exactly one swap landed");
                assert_eq!(last["txHash"], landed[0].tx_id.as_str());
            }
            other => panic!("not terminal: {other:?}"),
        }
    }
    assert!(failed > 0, "with every swap failing, most orders give up");
    assert_eq!(confirmed + failed, 24);
    assert_eq!(pending_jobs(&env).await, 0);
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_fails_at_once() -> Result<(), StoreError> {
    let env = TestEnv::new().await.expect("env");
    // One atom of BONK buys less than one lamport on either venue.
    let id = submit(&env, r#"{"tokenIn":"BONK","tokenOut":"SOL","amountIn":"0.00001"}"#).await;
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    worker.run_until_idle().await?;
    let e = events(&env, id).await;
    assert_gapless_from(&e, 1);
    assert_eq!(statuses(&e), ["pending", "routing", "failed"]);
    assert_eq!(e[2]["error"]["code"], "INSUFFICIENT_LIQUIDITY");
    assert_eq!(e[2]["attempts"], 1);
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_finished_order_is_not_executed_again() -> Result<(), StoreError> {
    let env = TestEnv::new().await.expect("env");
    let id = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    worker.run_until_idle().await?;
    let before = events(&env, id).await;
    env.bus().await.expect("bus").enqueue(id).await?;
    assert_eq!(worker.run_until_idle().await?, 1);
    assert_eq!(events(&env, id).await, before, "nothing was added");
    assert_eq!(pending_jobs(&env).await, 0, "the duplicate job was acknowledged");
    env.cleanup().await.expect("cleanup");
    Ok(())
}

/// A job carries its order as queued; the worker trusts it only until its
/// first write says the order moved on, then reads the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_queued_order_is_out_of_date_goes_on_from_the_stored_one() -> Result<(), StoreError> {
    let env = TestEnv::new().await.expect("env");
    let bus = env.bus().await.expect("bus");
    let orders = OrderStore::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"));
    let order = env.new_order(r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#, "anonymous").expect("valid");
    orders.insert(&order, None).await?;
    bus.enqueue_new(&order).await?;
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    assert_eq!(worker.run_until_idle().await?, 1);
    let before = events(&env, order.id).await;
    assert_eq!(statuses(&before).last(), Some(&"confirmed"));
    // The same job again: it says `pending`, the order is confirmed.
    bus.enqueue_new(&order).await?;
    // And one whose order was never stored (an API that took it back).
    let never = NewOrder { id: Uuid::now_v7(), ..order.clone() };
    bus.enqueue_new(&never).await?;
    assert_eq!(worker.run_until_idle().await?, 2);
    assert_eq!(events(&env, order.id).await, before, "nothing was added");
    let stats = bus.jobs.stats().await?;
    assert_eq!((stats.pending, stats.dead_letters), (0, 1), "both acknowledged, the orphan dead-lettered: {stats:?}");
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_naming_no_order_is_dead_lettered_without_blocking_others() -> Result<(), StoreError> {
    let env = TestEnv::new().await.expect("env");
    let bus = env.bus().await.expect("bus");
    bus.enqueue(Uuid::now_v7()).await?; // no such order stored
    let good = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    assert_eq!(worker.run_until_idle().await?, 2);
    let stats = bus.jobs.stats().await?;
    assert_eq!((stats.pending, stats.dead_letters), (0, 1), "{stats:?}");
    assert_eq!(statuses(&events(&env, good).await).last(), Some(&"confirmed"), "the good order went through");
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_the_configured_concurrency_is_in_flight() -> Result<(), StoreError> {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.worker_concurrency = 2;
    env.settings.venue_latency = Latency::Realistic;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await);
    }
    let running = start_worker(&env.settings).await;
    let db = env.db().await.expect("db");
    let (mut most, mut finished) = (0i64, 0i64);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while finished < 5 && tokio::time::Instant::now() < deadline {
        let row = db
            .query_one(
                "SELECT count(*) FILTER (WHERE status IN ('routing','building','submitted')),
                        count(*) FILTER (WHERE status IN ('confirmed','failed')) FROM orders",
                &[],
            )
            .await
            .expect("count");
        most = most.max(row.get(0));
        finished = row.get(1);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    running.stop().await;
    assert_eq!(finished, 5, "all orders finished");
    assert_eq!(most, 2, "two in flight at a time, never more");
    for id in ids {
        assert_gapless_from(&events(&env, id).await, 1);
    }
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tight_slippage_bound_fails_rather_than_fill_worse_during_heavy_trading() -> Result<(), StoreError> {
    use oee_router::{Ledger, SwapLeg, Transaction};
    let mut env = TestEnv::new().await.expect("env");
    env.settings.venue_latency = Latency::Realistic;
    let registry = TokenRegistry::default();
    let sol = registry.by_symbol("SOL").expect("sol").mint.clone();
    // The worker seeds the shared chain; start it first.
    let running = start_worker(&env.settings).await;
    let id = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"2","slippageBps":1}"#).await;

    // Other traders sell SOL into both SOL/USDC pools the whole time the order is in
    // flight (quote ~200 ms, swap 2–3 s later), moving the price against it.
    let ledger = oee_store::PgLedger::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"));
    let mut trades = 0u32;
    let until = tokio::time::Instant::now() + Duration::from_millis(3_600);
    while tokio::time::Instant::now() < until {
        trades += 1;
        let tx = Transaction {
            id: format!("others-{trades}"),
            legs: ["raydium:SOL-USDC", "meteora:SOL-USDC"]
                .into_iter()
                .map(|pool| SwapLeg { pool_id: pool.into(), mint_in: sol.clone(), amount_in: 20_000_000_000 })
                .collect(),
            min_amount_out: 0,
            valid_until: i64::MAX,
            instructions: Vec::new(),
        };
        ledger.commit(&tx, Utc::now().timestamp()).await.expect("others trade");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let last = loop {
        let e = events(&env, id).await;
        if e.last().is_some_and(|e| matches!(e["status"].as_str(), Some("confirmed" | "failed"))) {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "order did not finish: {e:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    running.stop().await;
    assert_gapless_from(&last, 1);
    let terminal = last.last().expect("terminal");
    assert_eq!(terminal["status"], "failed", "{terminal}");
    assert_eq!(terminal["error"]["code"], "SLIPPAGE_EXCEEDED", "{terminal}");
    assert_eq!(terminal["attempts"], 1, "slippage is permanent: no retry");
    assert_eq!(ledger.receipt(&oee_router::transaction_id(id, 1)).await.expect("ledger"), None, "nothing landed");
    assert!(trades > 20, "the pool was busy: {trades} trades");
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_swaps_on_the_shared_chain_equal_applying_them_one_by_one() {
    use oee_router::{Ledger, SwapLeg, Transaction};
    let env = TestEnv::new().await.expect("env");
    let registry = TokenRegistry::default();
    let (sol, usdc) =
        (registry.by_symbol("SOL").expect("sol").mint.clone(), registry.by_symbol("USDC").expect("usdc").mint.clone());
    let t0 = Utc::now().timestamp();
    let seeds = oee_router::seed_pools(&registry, t0);
    // Sixteen "workers" over two ledgers (two processes' commit batches) swap on both
    // SOL/USDC pools at once. Every fifth swap asks for more than any pool can give
    // and must fail alone, and every swap is sent twice: it lands once.
    let ledgers = [(); 2].map(|()| {
        std::sync::Arc::new(oee_store::PgLedger::new(oee_store::pg::pool(&env.settings.pg()).expect("pool")))
    });
    let ledger = ledgers[0].clone();
    ledger.seed(seeds.clone()).await.expect("seed");
    let mut tasks = Vec::new();
    for worker in 0..16u64 {
        let ledger = ledgers[usize::from(worker % 2 == 1)].clone();
        let (sol, usdc) = (sol.clone(), usdc.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..8u64 {
                let selling = (worker + n) % 3 != 0;
                let (mint_in, amount_in) = if selling {
                    (sol.clone(), 500_000_000 + n * 10_000_000)
                } else {
                    (usdc.clone(), 80_000_000 + worker * 1_000_000)
                };
                let pool = if (worker + n) % 2 == 0 { "raydium:SOL-USDC" } else { "meteora:SOL-USDC" };
                let impossible = (worker * 8 + n) % 5 == 0;
                let tx = Transaction {
                    id: format!("w{worker}-{n}"),
                    legs: vec![SwapLeg { pool_id: pool.into(), mint_in, amount_in }],
                    min_amount_out: if impossible { u64::MAX } else { 0 },
                    valid_until: i64::MAX,
                    instructions: Vec::new(),
                };
                let (first, again) = tokio::join!(
                    ledger.commit(&tx, Utc::now().timestamp()),
                    ledger.commit(&tx, Utc::now().timestamp())
                );
                if impossible {
                    assert!(matches!(first, Err(oee_router::VenueError::SlippageExceeded { .. })), "{first:?}");
                    assert!(matches!(again, Err(oee_router::VenueError::SlippageExceeded { .. })), "{again:?}");
                } else {
                    let (first, again) = (first.expect("lands"), again.expect("lands"));
                    assert_eq!(first.receipt, again.receipt, "sent twice, landed once");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("join");
    }
    // Replay every receipt, in slot order, on the starting pools.
    let db = env.db().await.expect("db");
    let receipts: Vec<oee_router::Receipt> = db
        .query("SELECT receipt::text FROM chain.transactions ORDER BY slot", &[])
        .await
        .expect("receipts")
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).expect("receipt"))
        .collect();
    assert_eq!(receipts.len(), 128 - 26, "every swap but the impossible ones landed, once");
    let replay = oee_router::chain::replay(seeds, &receipts).expect("replays");
    let ids: Vec<String> = replay.iter().map(|p| p.id.clone()).collect();
    let live = ledger.pools(&ids).await.expect("pools");
    for pool in &replay {
        assert_eq!(live.iter().find(|p| p.id == pool.id), Some(pool), "{} ends in the same state", pool.id);
    }
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_whose_job_was_lost_are_swept_back_into_the_queue() -> Result<(), StoreError> {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.sweep_age = Duration::from_millis(500);
    let running = start_worker(&env.settings).await;
    // Stored but never queued, as if the API died between its two writes…
    let registry = TokenRegistry::default();
    let orders = OrderStore::new(oee_store::pg::pool(&env.settings.pg()).expect("pool"));
    let mut ids = Vec::new();
    for amount in ["1", "2", "3"] {
        let body = format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"{amount}"}}"#);
        let spec = parse_order(body.as_bytes(), &registry, Channel::Http).expect("valid").spec;
        let id = Uuid::now_v7();
        orders
            .insert(&NewOrder { id, account: "anonymous".into(), spec, at: Utc::now(), expires_at: None }, None)
            .await?;
        ids.push(id);
    }
    // …and Redis losing its data under a running worker (stream, group and set gone).
    let bus = env.bus().await.expect("bus");
    for p in bus.keys().all_partitions() {
        let keys = vec![bus.keys().stream(p), bus.keys().active(p)];
        let _: i64 = fred::interfaces::KeysInterface::del(bus.client(), keys).await.map_err(StoreError::from)?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for id in &ids {
        loop {
            let e = events(&env, *id).await;
            if e.last().is_some_and(|e| e["status"] == "confirmed") {
                assert_gapless_from(&e, 1);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "order {id} was never swept back: {e:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    running.stop().await;
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_delivered_too_many_times_is_dead_lettered_and_its_order_failed() -> Result<(), StoreError> {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.reclaim_idle = Duration::from_millis(1_000);
    env.settings.max_deliveries = 3;
    let id = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
    let bus = env.bus().await.expect("bus");
    bus.jobs.ensure_group().await?;
    // Consumers that take the job and never finish it (crashing, say), again and again.
    let redis = env.settings.redis();
    let ghost = oee_store::redis::stream_reader(&redis, bus.client().clone(), "ghost-0".to_owned()).await?;
    assert_eq!(ghost.read(1, Duration::from_millis(10)).await?.len(), 1);
    let partition = bus.keys().partition_of(id);
    for n in 1..=3 {
        let (jobs, _) = bus.jobs.reclaim(partition, &format!("ghost-{n}"), Duration::ZERO, "0-0", 10).await?;
        assert_eq!(jobs.len(), 1);
    }
    let pending = bus.jobs.stats().await?;
    assert_eq!(pending.pending, 1);

    let running = start_worker(&env.settings).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let e = loop {
        let e = events(&env, id).await;
        if e.last().is_some_and(|e| e["status"] == "failed") {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "never dead-lettered: {e:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    running.stop().await;
    assert_gapless_from(&e, 1);
    assert_eq!(statuses(&e), ["pending", "failed"], "nothing was executed");
    assert_eq!(e[1]["error"]["code"], "DEAD_LETTERED");
    let stats = bus.jobs.stats().await?;
    assert_eq!((stats.pending, stats.dead_letters), (0, 1), "{stats:?}");
    assert!(bus.active.members().await?.is_empty());
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimming_the_stream_removes_only_jobs_every_worker_is_done_with() -> Result<(), StoreError> {
    let mut env = TestEnv::new().await.expect("env");
    // One partition, so which jobs stay is plain (each partition trims alike).
    env.settings.job_partitions = 1;
    let bus = env.bus().await.expect("bus");
    let worker = oee_worker::build(&env.settings).await.expect("worker");
    for _ in 0..5 {
        submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
    }
    assert_eq!(worker.run_until_idle().await?, 5);
    // Two more: one delivered but not acknowledged (its reader "died"), one never delivered.
    let held = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"2"}"#).await;
    let reader =
        oee_store::redis::stream_reader(&env.settings.redis(), bus.client().clone(), "stalled".to_owned()).await?;
    let taken = reader.read(1, Duration::from_millis(10)).await?;
    assert_eq!(taken.iter().map(|j| j.order_id).collect::<Vec<_>>(), [Some(held)]);
    let waiting = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"3"}"#).await;

    let removed = bus.jobs.trim_acknowledged().await?;
    assert_eq!(removed, 5, "the five acknowledged jobs go");
    let stats = bus.jobs.stats().await?;
    assert_eq!((stats.length, stats.pending, stats.lag), (2, 1, 1), "{stats:?}");
    assert_eq!(bus.jobs.trim_acknowledged().await?, 0, "the pending job holds the line");

    // Both remaining jobs still run: the undelivered one now, the held one once reclaimed.
    assert_eq!(worker.run_until_idle().await?, 1);
    assert_eq!(statuses(&events(&env, waiting).await).last(), Some(&"confirmed"));
    assert_eq!(statuses(&events(&env, held).await).last(), Some(&"pending"), "still held by the stalled reader");
    env.cleanup().await.expect("cleanup");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_is_on_record_while_slow_quotes_are_on_their_way() -> Result<(), StoreError> {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.venue_latency = Latency::Realistic; // quotes take ~200 ms
    env.settings.venue_failure_rate = 0.0;
    let running = start_worker(&env.settings).await;
    let id = submit(&env, r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1"}"#).await;
    // The coalescing window (5 ms) runs out long before the quotes come back:
    // `routing` must be committed on its own, with `building` not yet there.
    let db = env.db().await.expect("db");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let row = db.query_one("SELECT status, last_seq FROM orders WHERE id = $1", &[&id]).await.expect("order");
        let state: (String, i32) = (row.get(0), row.get(1));
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if matches!(state.0.as_str(), "confirmed" | "failed") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the order did not finish: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
    assert!(seen.contains(&("routing".to_owned(), 2)), "routing was never on record alone: {seen:?}");
    let e = events(&env, id).await;
    assert_gapless_from(&e, 1);
    assert_eq!(statuses(&e), ["pending", "routing", "building", "submitted", "confirmed"]);
    env.cleanup().await.expect("cleanup");
    Ok(())
}
