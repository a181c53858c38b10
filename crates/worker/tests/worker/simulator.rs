//! The market simulator: outside trades on every pool, landed as transactions
//! and published; one driver at a time under its lease, another taking over
//! when the driver stops or dies.

use fred::prelude::KeysInterface;
use oee_router::Pool;
use oee_store::{PoolChange, PoolChanges};
use oee_testkit::{Engine, PATIENCE, TestEnv};
use oee_worker::simulator::LEASE;
use oee_worker::{Consumer, Tick};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A test environment whose workers run the simulator with `tick`.
async fn env_with_simulator(tick: Duration) -> TestEnv {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.sim_tick = tick;
    env.settings.sim_seed = Some(7);
    env
}

async fn worker(env: &TestEnv) -> Consumer {
    oee_worker::build(&env.settings).await.expect("worker")
}

async fn pools(env: &TestEnv) -> Vec<Pool> {
    let pg = oee_store::pg::pool(&env.settings.pg()).expect("pool");
    oee_store::chain::all_pools(&pg).await.expect("all pools")
}

async fn changes(env: &TestEnv) -> Vec<PoolChange> {
    let bus = env.bus().await.expect("bus");
    PoolChanges::new(bus.client().clone(), bus.keys()).read_after("0-0", 100_000, None).await.expect("read")
}

/// The ids of every outside trade landed, in slot order.
async fn sim_trades(env: &TestEnv) -> Vec<String> {
    let db = env.db().await.expect("db");
    let rows = db.query("SELECT id FROM chain.transactions WHERE id LIKE 'sim-%' ORDER BY slot", &[]).await;
    rows.expect("transactions").iter().map(|r| r.get(0)).collect()
}

/// Waits (bounded) until `check` finds something; returns it.
async fn until<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Which of `drivers` made the outside trade `id`.
fn driver_of(drivers: &[String], id: &str) -> Option<usize> {
    drivers.iter().position(|d| id.starts_with(&format!("sim-{d}-")))
}

/// Ticks move every pool's price, each trade a transaction of its own
/// (`sim-…`), each published with its slot; the pools' states are the last
/// published ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_moves_every_pool_and_publishes_each_change() {
    let env = env_with_simulator(Duration::from_secs(60)).await;
    let worker = worker(&env).await;
    let simulator = worker.simulator().expect("the simulator is on");
    let seeded = pools(&env).await;
    let mut landed = 0;
    for _ in 0..4 {
        match simulator.step().await.expect("tick") {
            Tick::Drove { landed: n } => landed += n,
            Tick::Idle => panic!("the only simulator holds the lease"),
        }
    }
    let moved = pools(&env).await;
    assert_eq!(moved.len(), seeded.len());
    for (after, before) in moved.iter().zip(&seeded) {
        assert_ne!(after.curve, before.curve, "{} moved", after.id);
        assert!(after.slot > 0, "{}", after.id);
    }

    let trades = sim_trades(&env).await;
    assert_eq!(trades.len(), landed, "one transaction per trade");
    assert!(trades.iter().all(|id| id.starts_with(&format!("sim-{}-", simulator.driver()))), "{trades:?}");
    let published = changes(&env).await;
    assert_eq!(published.len(), landed, "one entry per trade");
    let mut latest: HashMap<&str, &Pool> = HashMap::new();
    for entry in &published {
        assert_eq!(entry.pools.len(), 1, "one pool per trade");
        let pool = &entry.pools[0];
        assert_eq!(pool.slot, entry.slot);
        if latest.get(pool.id.as_str()).is_none_or(|p| p.slot < pool.slot) {
            latest.insert(&pool.id, pool);
        }
    }
    for pool in &moved {
        assert_eq!(latest.get(pool.id.as_str()), Some(&pool), "{}: the latest published state", pool.id);
    }
    env.cleanup().await.expect("cleanup");
}

/// Two workers with the simulator on: at every tick exactly one drives (the
/// same one), and each tick's trades are that one's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_of_two_workers_drives_the_market() {
    let env = env_with_simulator(Duration::from_secs(60)).await;
    let (a, b) = (worker(&env).await, worker(&env).await);
    let (a, b) = (a.simulator().expect("on"), b.simulator().expect("on"));
    let mut driver = None;
    for _ in 0..3 {
        let before = sim_trades(&env).await.len();
        let ticks = [a.step().await.expect("tick"), b.step().await.expect("tick")];
        let drove: Vec<usize> =
            ticks.iter().filter_map(|t| if let Tick::Drove { landed } = t { Some(*landed) } else { None }).collect();
        assert_eq!(drove.len(), 1, "exactly one drives: {ticks:?}");
        let who = if matches!(ticks[0], Tick::Drove { .. }) { a.driver() } else { b.driver() };
        assert_eq!(*driver.get_or_insert(who), who, "the same one every tick");
        let trades = sim_trades(&env).await;
        assert_eq!(trades.len() - before, drove[0], "this tick's trades");
        assert!(trades[before..].iter().all(|id| id.starts_with(&format!("sim-{who}-"))));
    }
    env.cleanup().await.expect("cleanup");
}

/// The driver that stops (as on SIGTERM) releases the lease and another
/// worker takes over; when that one dies (its task aborted: no release), the
/// lease expires and the third takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_worker_takes_over_when_the_driver_stops_or_dies() {
    let owned = env_with_simulator(Duration::from_millis(100)).await;
    let env = &owned;
    let workers = [worker(env).await, worker(env).await, worker(env).await];
    let drivers: Vec<String> = workers.iter().map(|w| w.simulator().expect("on").driver().to_owned()).collect();
    let drivers = &drivers;
    let stops: Vec<CancellationToken> = workers.iter().map(|_| CancellationToken::new()).collect();
    let mut running: Vec<Option<tokio::task::JoinHandle<()>>> = workers
        .into_iter()
        .zip(&stops)
        .map(|(w, stop)| {
            let stop = stop.clone();
            Some(tokio::spawn(async move { w.run(stop).await.expect("runs") }))
        })
        .collect();
    let first = until("a driver", || async move {
        sim_trades(env).await.first().map(|id| driver_of(drivers, id).expect("a known driver"))
    })
    .await;

    stops[first].cancel();
    running[first].take().expect("running").await.expect("stopped");
    let bus = env.bus().await.expect("bus");
    let holder: Option<String> = bus.client().get(bus.keys().lock(LEASE)).await.expect("lease");
    assert_ne!(holder.as_deref(), Some(drivers[first].as_str()), "released on stop, not left to expire");
    let stopped_at = sim_trades(env).await.len();
    let second = until("a second driver", || async move {
        sim_trades(env).await[stopped_at..].iter().find_map(|id| driver_of(drivers, id))
    })
    .await;
    assert_ne!(second, first, "the stopped driver trades no more");

    running[second].take().expect("running").abort();
    let third = (0..3).find(|i| *i != first && *i != second).expect("a third worker");
    let died_at = sim_trades(env).await.len();
    until("the third driver", || async move {
        sim_trades(env).await[died_at..].iter().any(|id| driver_of(drivers, id) == Some(third)).then_some(())
    })
    .await;
    stops[third].cancel();
    running[third].take().expect("running").await.expect("stopped");
    owned.cleanup().await.expect("cleanup");
}

/// Orders execute while the market moves under them, and every transaction
/// that landed — orders' swaps and outside trades alike — was published once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_execute_while_the_market_moves_and_every_landed_transaction_is_published() {
    let mut engine = Engine::builder().market_simulator(Duration::from_millis(100)).start().await;
    let env = &engine.env;
    until("outside trades", || async move { (sim_trades(env).await.len() >= 24).then_some(()) }).await;
    for amount in ["1", "2", "3"] {
        let id = engine
            .accepted(&format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"{amount}","slippageBps":100}}"#))
            .await;
        let order = engine.until_terminal(&id).await;
        assert_eq!(order["status"], "confirmed", "{order}");
    }
    engine.worker.take().expect("worker").stop().await;
    let db = engine.env.db().await.expect("db");
    let slots: Vec<i64> = db
        .query("SELECT slot FROM chain.transactions ORDER BY slot", &[])
        .await
        .expect("slots")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut published: Vec<i64> =
        changes(&engine.env).await.iter().map(|c| i64::try_from(c.slot).expect("slot")).collect();
    published.sort_unstable();
    assert_eq!(published, slots, "one entry per landed transaction");
    assert_eq!(slots.len() - sim_trades(&engine.env).await.len(), 3, "the orders' swaps");
    engine.stop().await;
}

/// The same seed over the same pools makes the same outside trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_simulator_makes_the_same_trades() {
    let mut trades = Vec::new();
    for _ in 0..2 {
        let env = env_with_simulator(Duration::from_secs(60)).await;
        let worker = worker(&env).await;
        worker.simulator().expect("on").step().await.expect("tick");
        let db = env.db().await.expect("db");
        let rows = db
            .query(
                "SELECT l->>'poolId', l->>'mintIn', l->>'amountIn'
                 FROM chain.transactions, jsonb_array_elements(receipt->'legs') l ORDER BY 1",
                &[],
            )
            .await
            .expect("legs");
        let legs: Vec<(String, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        assert!(!legs.is_empty());
        trades.push(legs);
        env.cleanup().await.expect("cleanup");
    }
    assert_eq!(trades[0], trades[1]);
}

/// With launches on, the driver lists a token on its schedule, with a pool
/// that opens later: the pool takes no outside trade before it opens (and
/// every one after, like the listed pools).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_launches_tokens_whose_pools_open_later() {
    let mut env = env_with_simulator(Duration::from_secs(60)).await;
    env.settings.sim_launch_every = 2;
    let worker = worker(&env).await;
    let simulator = worker.simulator().expect("the simulator is on");
    let pg = oee_store::pg::pool(&env.settings.pg()).expect("pool");
    simulator.step().await.expect("tick");
    assert_eq!(oee_store::chain::launches(&pg).await.expect("launches").len(), 0, "not on the first tick");
    simulator.step().await.expect("tick");
    let launches = oee_store::chain::launches(&pg).await.expect("launches");
    assert_eq!(launches.len(), 1, "{launches:?}");
    let launch = &launches[0];
    assert!(launch.token.symbol.starts_with("SIM") && launch.token.decimals == 6, "{launch:?}");
    let opens = launch.open_at.expect("an open time");
    assert!(opens > chrono::Utc::now(), "opens later: {opens}");
    let pool = pools(&env).await.into_iter().find(|p| p.id == launch.pool_id).expect("its pool");
    assert_eq!((pool.slot, pool.open_at), (launch.slot, Some(opens.timestamp())));
    // Published with its slot, like any pool change.
    assert!(changes(&env).await.iter().any(|c| c.slot == launch.slot && c.pools.iter().any(|p| p.id == pool.id)));
    simulator.step().await.expect("tick");
    let traded = sim_trades(&env).await;
    let db = env.db().await.expect("db");
    let on_it: i64 = db
        .query_one("SELECT count(*) FROM chain.transactions WHERE receipt::text LIKE '%' || $1 || '%'", &[&pool.id])
        .await
        .expect("count")
        .get(0);
    assert!(!traded.is_empty());
    assert_eq!(on_it, 0, "a pool that is not open takes no trade");
}
