//! Failovers of real stores under load: a Redis primary killed under three
//! Sentinels, a Redis Cluster primary killed (its replica takes its slots),
//! and a PostgreSQL primary killed and its standby promoted, with synchronous
//! and with asynchronous replication. The engine is given every Sentinel, the
//! cluster's nodes, or both PostgreSQL hosts, and must follow the promotion by
//! itself.
//!
//! The load is a careful client's (`oee_testkit::load`): an `Idempotency-Key`
//! on every order, kept across 503s, and followers that reconnect with
//! `fromSeq`. Each test prints what the failover cost: how long submissions
//! were refused, the slowest answer, and (with asynchronous replication) what
//! the new primary no longer has.

use oee_router::Latency;
use oee_testkit::load::{LoadPlan, LoadReport, SteadyLoad};
use oee_testkit::stores::{PrivatePostgres, RedisCluster, Replication, SentinelRedis};
use oee_testkit::{Engine, EngineBuilder};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const ORDER: &str = r#"{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"5"}"#;

/// Bound on any one request's answer while a store fails over: the store
/// timeout (1 s) plus a connect's worth; a hang would exceed it.
const ANSWER_BOUND: Duration = Duration::from_secs(5);

/// Settings shared by the failover tests: realistic venues (so orders are in
/// flight when the store goes), short store timeouts and a quick sweeper (so
/// jobs lost with the old primary are found again within the test).
fn failover_engine(builder: EngineBuilder) -> EngineBuilder {
    builder.apis(2).configure(|s| {
        s.venue_latency = Latency::Realistic;
        s.worker_concurrency = 64;
        s.store_timeout = Duration::from_millis(1_000);
        s.tx_validity = Duration::from_secs(3);
        s.reclaim_idle = Duration::from_millis(3_000);
        s.sweep_age = Duration::from_millis(2_000);
    })
}

fn plan(engine: &Engine) -> LoadPlan {
    LoadPlan {
        apis: (0..engine.apis.len()).map(|i| engine.url(i, "")).collect(),
        bodies: vec![ORDER.to_owned()],
        pause: Duration::from_millis(20),
        follow_every: 4,
    }
}

/// Every accepted order confirmed once in the database at `db`, nothing else
/// stored, every follower's stream complete, and the ledger check.
async fn assert_nothing_lost(engine: &Engine, report: LoadReport, db: &tokio_postgres::Client) {
    for id in &report.accepted {
        let order = engine.until_terminal(id).await;
        assert_eq!(order["status"], "confirmed", "{order}");
    }
    let stored: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.expect("count").get(0);
    assert_eq!(stored, report.accepted.len() as i64, "one order per key, none from refused requests");
    for (id, follower) in report.followers {
        let followed = follower.await.expect("follower");
        followed.assert_complete_from(1);
        assert_eq!(followed.statuses().last(), Some(&"confirmed"), "{id}");
    }
    let wrong = oee_testkit::ledger_violations(db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

fn assert_bounded(report: &LoadReport) {
    assert!(report.slowest() < ANSWER_BOUND, "a request hung: {:?}", report.slowest());
    assert_eq!(report.count(Some(500)), 0, "no 500s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_primary_killed_under_sentinel_fails_over_and_nothing_accepted_is_lost() {
    let mut redis = SentinelRedis::start();
    let url = redis.url();
    let engine = failover_engine(Engine::builder()).configure(move |s| s.redis_url = url.clone()).start().await;
    let load = SteadyLoad::start(plan(&engine));
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let killed = redis.kill_primary();
    let fault = Instant::now();
    let promoted = redis.wait_for_new_primary(killed, Duration::from_secs(30));
    tokio::time::sleep(Duration::from_secs(3)).await; // load on the new primary
    let report = load.stop().await;

    assert_redis_failover_cost_nothing("redis failover: sentinels promoted", promoted, fault, &engine, report).await;
    engine.stop().await;
}

/// Prints what a Redis failover cost the load (`promoted`: how long the
/// promotion took after the kill at `fault`), then asserts that no request
/// hung and nothing accepted was lost.
async fn assert_redis_failover_cost_nothing(
    what: &str,
    promoted: Duration,
    fault: Instant,
    engine: &Engine,
    report: LoadReport,
) {
    let recovered = report.recovered_after(fault).expect("submissions went on after the kill");
    let (refused, refusing) = report.refusals_after(fault);
    eprintln!(
        "{what} in {promoted:?}; first acceptance {recovered:?} after the kill; \
         {refused} requests refused (503 or cut) over {refusing:?}; slowest answer {:?}; {} orders accepted",
        report.slowest(),
        report.accepted.len()
    );
    assert_bounded(&report);
    assert!(report.accepted.len() >= 40, "the load ran: {}", report.accepted.len());
    let db = engine.env.db().await.expect("db");
    assert_nothing_lost(engine, report, &db).await;
}

/// A three-primary Redis Cluster, the job stream in three partitions (one per
/// primary): the primary holding partition 0 — the jobs, active-set entries
/// and channels of a third of the orders — dies with SIGKILL under load, and
/// its replica takes over its slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_primary_killed_mid_load_fails_over_and_nothing_accepted_is_lost() {
    let mut redis = RedisCluster::start();
    let url = redis.url();
    let engine = failover_engine(Engine::builder())
        .configure(move |s| {
            s.redis_url = url.clone();
            s.job_partitions = 3;
        })
        .start()
        .await;
    let keys = engine.env.settings.redis().keys();
    let slots: HashSet<u16> = keys.all_partitions().map(|p| oee_store::keys::slot(&keys.stream(p))).collect();
    let primaries: HashSet<Option<u16>> = slots.iter().map(|slot| redis.primary_of(*slot)).collect();
    assert_eq!(primaries.len(), 3, "each partition on a primary of its own");
    let load = SteadyLoad::start(plan(&engine));
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let slot = oee_store::keys::slot(&keys.stream(0));
    let killed = redis.kill_primary_of(slot);
    let fault = Instant::now();
    let promoted = redis.wait_for_failover(slot, killed, Duration::from_secs(30));
    tokio::time::sleep(Duration::from_secs(3)).await; // load on the new primary
    let report = load.stop().await;

    assert_redis_failover_cost_nothing("redis cluster failover: replica promoted", promoted, fault, &engine, report)
        .await;
    // The old primary comes back as a replica of its successor.
    redis.restart(killed);
    redis.wait_until_healthy(Duration::from_secs(30));
    engine.stop().await;
}

/// Sharded subscriptions live on the primary that owns their slot: when it
/// dies, the hub must subscribe again on its successor, or live events of the
/// orders in that partition would stop (followers would only catch up from the
/// log every few seconds). A follower that joined before the failover, and one
/// that joins after it, both hear a publish on the promoted replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_cluster_failover_followers_hear_live_events_again() {
    let mut redis = RedisCluster::start();
    let mut env = oee_testkit::TestEnv::new().await.expect("env");
    env.settings.redis_url = redis.url();
    env.settings.job_partitions = 3;
    let settings = env.settings.redis();
    let keys = settings.keys();
    let hub = oee_api::ws::hub::Hub::start(
        oee_store::redis::subscriber(&settings).await.expect("subscriber"),
        keys.clone(),
        Duration::from_secs(5),
    );
    let bus = env.bus().await.expect("bus");
    let in_partition_0 = || std::iter::repeat_with(uuid::Uuid::now_v7).find(|id| keys.partition_of(*id) == 0);
    let before = in_partition_0().expect("an id");
    let mut early = hub.follow(before).await;
    assert!(early.live, "subscribed");

    let slot = oee_store::keys::slot(&keys.channel(before));
    let killed = redis.kill_primary_of(slot);
    redis.wait_for_failover(slot, killed, Duration::from_secs(30));
    let after = in_partition_0().expect("an id");
    let mut late = hub.follow(after).await;

    for (id, follower, who) in [(before, &mut early, "joined before"), (after, &mut late, "joined after")] {
        let heard = async {
            // Publishing fails until the engine's client has the new primary.
            loop {
                let json =
                    oee_domain::StatusEvent::new(id, 1, chrono::Utc::now(), oee_domain::EventDetail::Pending).to_json();
                if bus.fanout.publish(id, &json).await.is_ok()
                    && let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), follower.events.recv()).await
                {
                    return;
                }
            }
        };
        let heard = tokio::time::timeout(Duration::from_secs(20), heard).await;
        assert!(heard.is_ok(), "a follower that {who} the failover never heard a live event");
    }
    env.cleanup().await.expect("cleanup");
}

/// A primary with a standby, the engine given both hosts (and waiting for
/// `standby_acks` standbys); the primary dies with SIGKILL under load and the
/// standby is promoted a second later. With asynchronous replication the
/// standby is down for the second before the kill, so it lacks that second.
/// Returns the engine, the load's report and a connection to the new primary.
async fn promote_under_load(
    replication: Replication,
    standby_acks: usize,
) -> (Engine, LoadReport, [PrivatePostgres; 2], tokio_postgres::Client) {
    let primary = PrivatePostgres::start();
    primary.create_engine_database().await;
    let standby = primary.standby(replication).await;
    let url = PrivatePostgres::failover_url(&[&primary, &standby], "oee");
    let engine = failover_engine(Engine::builder())
        .configure(move |s| {
            s.database_url = url.clone();
            s.pg_standby_acks = standby_acks;
        })
        .start()
        .await;
    let load = SteadyLoad::start(plan(&engine));
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    if replication == Replication::Asynchronous {
        standby.crash();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    primary.kill9();
    let fault = Instant::now();
    // What a failover manager does: notice (here, after a second), promote.
    tokio::time::sleep(Duration::from_secs(1)).await;
    if replication == Replication::Asynchronous {
        standby.start_server();
    }
    standby.promote();
    let promoted = fault.elapsed();
    // The new primary gets a standby of its own, as a failover manager
    // arranges (an engine waiting for standby acknowledgements stalls, with
    // 503s, until it has one).
    let second = standby.standby(replication).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let report = load.stop().await;
    drop(primary);

    let recovered = report.recovered_after(fault).expect("submissions resumed after the promotion");
    let (refused, refusing) = report.refusals_after(fault);
    eprintln!(
        "postgres failover ({replication:?}, standby acks {standby_acks}): promoted {promoted:?} after the kill; \
         first acceptance {recovered:?} after it; {refused} requests refused (503 or cut) over {refusing:?}; \
         slowest answer {:?}; {} orders accepted",
        report.slowest(),
        report.accepted.len()
    );
    assert_bounded(&report);
    assert!(report.accepted.len() >= 40, "the load ran: {}", report.accepted.len());
    let db = standby.connect("oee").await;
    (engine, report, [standby, second], db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_synchronous_replication_a_promoted_standby_has_everything_acknowledged() {
    let (engine, report, _stores, db) = promote_under_load(Replication::Synchronous, 0).await;
    assert_nothing_lost(&engine, report, &db).await;
    engine.stop().await;
}

/// What clients were told that the new primary does not hold.
#[derive(Debug, Default)]
struct Untrue {
    /// Acceptances (202) of orders the new primary does not have.
    acceptances: usize,
    /// Terminal events followers received that the new primary's log lacks
    /// or holds differently.
    terminals: usize,
    /// Other events likewise.
    steps: usize,
}

/// Checks that what the new primary at `db` holds is consistent (every order
/// it has finishes, the ledger check), and counts what clients were told
/// that it does not hold.
async fn untrue_after_promotion(engine: &Engine, report: LoadReport, db: &tokio_postgres::Client) -> Untrue {
    let stored: HashSet<String> =
        db.query("SELECT id::text FROM orders", &[]).await.expect("orders").iter().map(|r| r.get(0)).collect();
    let mut untrue = Untrue::default();
    for id in &report.accepted {
        if stored.contains(id) {
            let order = engine.until_terminal(id).await;
            assert_eq!(order["status"], "confirmed", "{order}");
        } else {
            untrue.acceptances += 1;
            let (status, body) = engine.get(0, &format!("/api/orders/{id}")).await;
            assert_eq!(status, 404, "a lost acceptance is gone, not half there: {body}");
        }
    }
    for (id, follower) in report.followers {
        let followed = follower.await.expect("follower");
        let uuid: uuid::Uuid = id.parse().expect("uuid");
        let held = oee_testkit::order_log(db, uuid).await.expect("events");
        for seen in &followed.events {
            let seq = usize::try_from(seen["seq"].as_u64().expect("seq")).expect("seq");
            if held.get(seq - 1) != Some(seen) {
                if oee_testkit::status_of(seen).is_some_and(|s| s.is_terminal()) {
                    untrue.terminals += 1;
                } else {
                    untrue.steps += 1;
                }
            }
        }
    }
    let wrong = oee_testkit::ledger_violations(db).await.expect("ledger");
    assert!(wrong.is_empty(), "{wrong:#?}");
    untrue
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_asynchronous_replication_a_promotion_loses_the_tail_but_executes_nothing_twice() {
    let (engine, report, _stores, db) = promote_under_load(Replication::Asynchronous, 0).await;
    let accepted = report.accepted.len();
    let untrue = untrue_after_promotion(&engine, report, &db).await;
    eprintln!("asynchronous replication, not waiting for the standby: of {accepted} acceptances, told {untrue:?}");
    // The standby missed a second of a steady load: acceptances are lost.
    assert!(untrue.acceptances > 0, "the standby lagged, so the tail was lost: {untrue:?}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_asynchronous_replication_and_standby_acks_no_client_is_told_what_the_new_primary_lacks() {
    let (engine, report, _stores, db) = promote_under_load(Replication::Asynchronous, 1).await;
    let accepted = report.accepted.len();
    let untrue = untrue_after_promotion(&engine, report, &db).await;
    eprintln!("asynchronous replication, OEE_PG_STANDBY_ACKS=1: of {accepted} acceptances, told {untrue:?}");
    assert_eq!((untrue.acceptances, untrue.terminals, untrue.steps), (0, 0, 0), "{untrue:?}");
    engine.stop().await;
}
