//! Crash recovery with real processes: a worker is killed with SIGKILL while it has
//! swaps in flight; another worker takes its jobs over. Every order must end in
//! exactly one terminal status with a gapless log, and the shared chain must hold
//! at most one landed swap per order.

use crate::processes::{Killed, count, spawn_worker};
use oee_router::Latency;
use oee_testkit::TestEnv;
use std::process::Command;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A test's stores and a first worker process with orders in flight.
struct Scene {
    env: TestEnv,
    db: tokio_postgres::Client,
    first: Killed,
}

/// Starts a worker process with realistic latency, queues `bodies`, and returns
/// once at least `in_flight` orders have a swap sent but not landed.
async fn scene(concurrency: usize, bodies: Vec<String>, in_flight: i64) -> Scene {
    let mut env = TestEnv::new().await.expect("env");
    env.settings.venue_latency = Latency::Realistic;
    env.settings.worker_concurrency = concurrency;
    env.settings.tx_validity = Duration::from_secs(3);
    env.settings.reclaim_idle = Duration::from_millis(2_000);
    let db = env.db().await.expect("db");
    let first = Killed(spawn_worker(&env));
    for body in bodies {
        env.queue_order(&body).await.expect("order queued");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while count(&db, "SELECT count(*) FROM orders WHERE status = 'submitted'").await < in_flight {
        assert!(tokio::time::Instant::now() < deadline, "orders never got in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Scene { env, db, first }
}

/// Runs a second worker (in this process) until every order is terminal, then
/// checks the ledger.
async fn finish_with_another_worker(env: &TestEnv, db: &tokio_postgres::Client) {
    let second = oee_worker::build(&env.settings).await.expect("worker");
    let stop = CancellationToken::new();
    let run = tokio::spawn({
        let stop = stop.clone();
        async move { second.run(stop).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count(db, "SELECT count(*) FROM orders WHERE status NOT IN ('confirmed', 'failed')").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "orders left unfinished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    run.await.expect("join").expect("worker ran");
    let wrong = oee_testkit::ledger_violations(db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_orders_are_finished_by_another_without_swapping_twice() {
    let bodies = (1..=12).map(|n| format!(r#"{{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"{n}"}}"#)).collect();
    let Scene { env, db, mut first } = scene(16, bodies, 4).await;
    // Kill the worker while swaps are in flight (sent, not yet landed).
    first.0.kill().expect("SIGKILL");
    first.0.wait().expect("reaped");
    let in_flight = count(&db, "SELECT count(*) FROM orders WHERE status NOT IN ('confirmed', 'failed')").await;
    assert!(in_flight > 0, "the kill left orders unfinished");

    // Another worker takes the jobs over once they sit idle.
    finish_with_another_worker(&env, &db).await;
    // The killed worker's sent attempts never landed; they were waited out and retried.
    let retried = count(&db, "SELECT count(*) FROM orders WHERE attempts >= 2 AND status = 'confirmed'").await;
    assert!(retried >= 1, "the recovery path ran: a sent attempt was waited out and retried");
    assert_eq!(env.bus().await.expect("bus").jobs.stats().await.expect("stats").pending, 0, "every job acknowledged");
    env.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_with_sigterm_finishes_its_orders_and_nothing_is_redone() {
    let bodies = (10..20).map(|n| format!(r#"{{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"{n}"}}"#)).collect();
    let Scene { env, db, mut first } = scene(4, bodies, 2).await;
    let pid = first.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let exited = tokio::task::spawn_blocking(move || {
        let status = first.0.wait().expect("wait");
        (status, first)
    });
    let (status, _reaped) =
        tokio::time::timeout(Duration::from_secs(30), exited).await.expect("exits in time").expect("join");
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    // Everything it had started, it finished: nothing is left mid-flight.
    let mid_flight =
        count(&db, "SELECT count(*) FROM orders WHERE status IN ('routing', 'building', 'submitted')").await;
    assert_eq!(mid_flight, 0, "in-flight orders were finished within the grace period");

    // Another worker does the rest; nothing finished is done again.
    finish_with_another_worker(&env, &db).await;
    assert_eq!(count(&db, "SELECT count(*) FROM orders WHERE status <> 'confirmed'").await, 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM orders WHERE attempts <> 1").await,
        0,
        "no order needed a second attempt"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM chain.transactions").await, 10, "one swap per order");
    env.cleanup().await.expect("cleanup");
}
