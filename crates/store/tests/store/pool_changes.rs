//! The pool-change stream: every transaction landed through a
//! `PublishingLedger` appends one entry with its slot and the states it left
//! its pools in; a replayed commit appends nothing; a failed append does not
//! fail the commit; a reader that notes its position first misses nothing.

use chrono::Utc;
use oee_domain::TokenRegistry;
use oee_router::{Ledger, Pool, SwapLeg, Transaction};
use oee_store::{PgLedger, PoolChanges, PublishingLedger};
use oee_testkit::{PATIENCE, TestEnv};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A seeded chain behind a publishing ledger, the stream it publishes on,
/// and the PostgreSQL pool to read the chain's pools with.
async fn chain(env: &TestEnv) -> (PublishingLedger<PgLedger>, PoolChanges, oee_store::PgPool) {
    let pg = oee_store::pg::pool(&env.settings.pg()).expect("pool");
    let bus = env.bus().await.expect("bus");
    let changes = PoolChanges::new(bus.client().clone(), bus.keys());
    let ledger = PublishingLedger::new(PgLedger::new(pg.clone()), changes.clone());
    ledger.seed(oee_router::seed_pools(&TokenRegistry::default(), Utc::now().timestamp())).await.expect("seed");
    (ledger, changes, pg)
}

/// Selling `sol` whole SOL on each of `pools`, as one transaction.
fn sell_sol(id: &str, pools: &[&str], sol: u64) -> Transaction {
    let mint = TokenRegistry::default().by_symbol("SOL").expect("sol").mint.clone();
    let legs = pools
        .iter()
        .map(|pool| SwapLeg { pool_id: (*pool).to_owned(), mint_in: mint.clone(), amount_in: sol * 1_000_000_000 })
        .collect();
    Transaction { id: id.into(), legs, min_amount_out: 0, valid_until: i64::MAX, instructions: Vec::new() }
}

/// The chain's current state of the pools named `ids`, as `all_pools` reads it.
async fn stored(pg: &oee_store::PgPool, ids: &[&str]) -> Vec<Pool> {
    let all = oee_store::chain::all_pools(pg).await.expect("all pools");
    all.into_iter().filter(|p| ids.contains(&p.id.as_str())).collect()
}

/// A landed swap appends exactly one entry: its slot, and the new state of
/// each pool it changed, equal to what `all_pools` reads afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landed_swap_appends_one_entry_with_its_slot_and_the_pools_new_states() {
    let env = TestEnv::new().await.expect("env");
    let (ledger, changes, pg) = chain(&env).await;
    let start = changes.last_id().await.expect("last id");
    assert_eq!(start, "0-0", "seeding publishes nothing");

    let split = ["meteora:SOL-USDC", "raydium:SOL-USDC"];
    let landed = ledger.commit(&sell_sol("split", &split, 20), Utc::now().timestamp()).await.expect("lands");
    let entries = changes.read_after(&start, 100, None).await.expect("read");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.slot, landed.receipt.slot);
    assert_eq!(entry.pools, stored(&pg, &split).await, "the states the chain holds, slots included");
    assert!(entry.pools.iter().all(|p| p.slot == landed.receipt.slot));
    assert_eq!(changes.last_id().await.expect("last id"), entry.id);
    env.cleanup().await.expect("cleanup");
}

/// Sending a landed transaction again returns its receipt and appends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_commit_appends_nothing() {
    let env = TestEnv::new().await.expect("env");
    let (ledger, changes, _) = chain(&env).await;
    let tx = sell_sol("once", &["raydium:SOL-USDC"], 5);
    let first = ledger.commit(&tx, Utc::now().timestamp()).await.expect("lands");
    let after_first = changes.last_id().await.expect("last id");
    let again = ledger.commit(&tx, Utc::now().timestamp()).await.expect("answers");
    assert_eq!(again.receipt, first.receipt, "the recorded receipt");
    assert!(again.pools.is_empty(), "nothing changed");
    assert_eq!(changes.read_after(&after_first, 100, None).await.expect("read"), []);
    assert_eq!(changes.read_after("0-0", 100, None).await.expect("read").len(), 1);
    env.cleanup().await.expect("cleanup");
}

/// A reader that notes the stream's position, then waits, sees the change
/// that lands after: as a trigger engine does before loading from PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_after_a_position_noted_before_a_change_sees_it() {
    let env = TestEnv::new().await.expect("env");
    let (ledger, changes, pg) = chain(&env).await;
    ledger.commit(&sell_sol("before", &["raydium:SOL-USDC"], 1), Utc::now().timestamp()).await.expect("lands");
    let noted = changes.last_id().await.expect("last id");
    // A blocking read has a client of its own.
    let redis = env.settings.redis();
    let blocking = oee_store::redis::blocking_client(&redis).await.expect("client");
    let reader = PoolChanges::new(blocking, &redis.keys());
    let waiting = tokio::spawn({
        let noted = noted.clone();
        async move { reader.read_after(&noted, 10, Some(PATIENCE)).await }
    });
    let landed =
        ledger.commit(&sell_sol("after", &["meteora:SOL-USDC"], 1), Utc::now().timestamp()).await.expect("lands");
    let seen = waiting.await.expect("reader").expect("read");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].slot, &seen[0].pools), (landed.receipt.slot, &stored(&pg, &["meteora:SOL-USDC"]).await));
    assert_eq!(changes.read_after(&noted, 10, None).await.expect("read"), seen, "and again without waiting");
    env.cleanup().await.expect("cleanup");
}

/// When the append fails (here the key holds something else) the swap has
/// still landed: the commit succeeds and the failure is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_append_is_counted_and_does_not_fail_the_commit() {
    let env = TestEnv::new().await.expect("env");
    let (ledger, changes, _) = chain(&env).await;
    let lost = Arc::new(AtomicU64::new(0));
    let ledger = ledger.on_append_failure({
        let lost = lost.clone();
        move || {
            lost.fetch_add(1, Ordering::Relaxed);
        }
    });
    let bus = env.bus().await.expect("bus");
    let _: () = fred::prelude::KeysInterface::set(bus.client(), bus.keys().pools(), "not a stream", None, None, false)
        .await
        .expect("set");
    let landed = ledger.commit(&sell_sol("lands", &["raydium:SOL-USDC"], 1), Utc::now().timestamp()).await;
    assert!(landed.is_ok(), "{landed:?}");
    assert_eq!(ledger.receipt("lands").await.expect("receipt"), landed.ok().map(|l| l.receipt));
    assert_eq!(lost.load(Ordering::Relaxed), 1);
    assert!(changes.read_after("0-0", 10, None).await.is_err(), "the key is not a stream");
    env.cleanup().await.expect("cleanup");
}

/// Appends trim the stream to about its bound, oldest entries first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_trimmed_to_about_its_bound() {
    let env = TestEnv::new().await.expect("env");
    let bus = env.bus().await.expect("bus");
    let changes = PoolChanges::new(bus.client().clone(), bus.keys()).with_max_len(10);
    let pool = oee_router::seed_pools(&TokenRegistry::default(), 0).remove(0);
    for slot in 1..=500 {
        changes.append(slot, std::slice::from_ref(&pool)).await.expect("append");
    }
    let kept = changes.read_after("0-0", 1_000, None).await.expect("read");
    // Redis trims whole nodes of up to 100 entries (`stream-node-max-entries`).
    assert!((10..=200).contains(&kept.len()), "{} entries kept", kept.len());
    assert_eq!(kept.last().map(|e| e.slot), Some(500), "the newest stay");
    env.cleanup().await.expect("cleanup");
}

/// A lease is renewed and released only by its holder; once released, another
/// takes it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_renewed_and_released_only_by_its_holder() {
    let env = TestEnv::new().await.expect("env");
    let locks = env.bus().await.expect("bus").locks;
    let ttl = PATIENCE;
    assert!(locks.try_acquire("chore", "a", ttl).await.expect("acquire"));
    assert!(!locks.try_acquire("chore", "b", ttl).await.expect("acquire"), "held by a");
    assert!(locks.renew("chore", "a", ttl).await.expect("renew"));
    assert!(!locks.renew("chore", "b", ttl).await.expect("renew"), "b does not hold it");
    assert!(!locks.release("chore", "b").await.expect("release"), "b cannot release a's lease");
    assert!(locks.release("chore", "a").await.expect("release"));
    assert!(!locks.renew("chore", "a", ttl).await.expect("renew"), "released");
    assert!(locks.try_acquire("chore", "b", ttl).await.expect("acquire"), "free at once");
    env.cleanup().await.expect("cleanup");
}
