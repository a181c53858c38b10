//! Route choice and execution against the simulated venues on an in-memory chain.

use oee_domain::{Dex, Instruction, OrderSpec, OrderType, TokenRegistry};
use oee_router::Network;
use oee_router::{
    Latency, Ledger, Market, MemoryLedger, RouteError, Router, SimulatedNetwork, VenueError, VenueProfile, plan,
    seed_pools, simulated, transaction_id,
};
use std::sync::Arc;
use uuid::Uuid;

const CALM: VenueProfile = VenueProfile { latency: Latency::Instant, failure_rate: 0.0 };
const T0: i64 = 1_800_000_000;

fn spec(token_in: &str, token_out: &str, amount_in: u64, slippage_bps: u16) -> OrderSpec {
    let reg = TokenRegistry::default();
    OrderSpec {
        order_type: OrderType::Market,
        token_in: reg.resolve(token_in).expect("token").clone(),
        token_out: reg.resolve(token_out).expect("token").clone(),
        amount_in,
        slippage_bps,
        user_id: "t".into(),
        limit: None,
        sniper: None,
    }
}

/// A router over a fresh in-memory chain whose clock stands still at `T0`.
async fn market(profile: VenueProfile) -> (Router, Arc<MemoryLedger>) {
    let registry = TokenRegistry::default();
    let ledger = Arc::new(MemoryLedger::default());
    ledger.seed(seed_pools(&registry, T0)).await.expect("seed");
    let network = Arc::new(SimulatedNetwork::new(ledger.clone(), profile, Arc::new(|| T0)));
    (simulated(&registry, network), ledger)
}

#[tokio::test]
async fn picks_the_venue_with_the_most_output() {
    let (router, _) = market(CALM).await;
    for (a, b, amount) in
        [("SOL", "USDC", 1_500_000_000), ("USDC", "SOL", 150_000_000), ("BONK", "SOL", 10_000_000_000_000)]
    {
        let plan = router.route(&spec(a, b, amount, 50)).await.expect("route");
        assert_eq!(plan.quotes.len(), 2, "{a}->{b}: both venues quote");
        let best = plan.quotes.iter().map(|q| q.amount_out).max().expect("quotes");
        assert!(plan.expected_out >= best, "never worse than the best venue");
        assert_eq!(plan.record.legs.iter().map(|l| l.share_bps).sum::<u32>(), 10_000);
        assert!(plan.record.reason.contains("% more"), "{}", plan.record.reason);
    }
}

#[tokio::test]
async fn the_venues_differ_by_a_few_percent() {
    let (router, _) = market(CALM).await;
    for (a, b, amount) in [("SOL", "USDC", 1_000_000_000u64), ("JUP", "USDC", 100_000_000), ("RAY", "SOL", 10_000_000)]
    {
        let plan = router.route(&spec(a, b, amount, 50)).await.expect("route");
        let (hi, lo) = (plan.quotes[0].amount_out, plan.quotes[1].amount_out);
        let spread_bps = (hi - lo) * 10_000 / lo;
        assert!((150..=600).contains(&spread_bps), "{a}/{b}: spread {spread_bps} bps");
    }
}

#[tokio::test]
async fn a_large_order_is_split_when_that_returns_more() {
    let (router, ledger) = market(CALM).await;
    // 1M USDC moves either pool far; sharing it between them returns more.
    let order = spec("USDC", "SOL", 1_000_000_000_000, 500);
    let plan = router.route(&order).await.expect("route");
    assert_eq!(plan.record.dex, "split", "{}", plan.record.reason);
    assert_eq!(plan.legs.len(), 2);
    assert_eq!(plan.legs.iter().map(|l| l.amount_in).sum::<u64>(), order.amount_in);
    let best_single = plan.quotes.iter().map(|q| q.amount_out).max().expect("quotes");
    assert!(plan.expected_out > best_single);
    assert!(plan.record.reason.starts_with("split "), "{}", plan.record.reason);
    // Both legs land in one transaction, or neither does.
    let tx = router.build(&order, &plan, &transaction_id(Uuid::now_v7(), 1));
    let receipt = router.send(&tx).await.expect("lands");
    assert_eq!(receipt.dex_label(), "split");
    assert_eq!(receipt.amount_out(), plan.expected_out, "nothing moved between quote and swap");
    assert_eq!(ledger.receipts().len(), 1);
}

#[tokio::test]
async fn a_venue_too_shallow_for_the_whole_order_still_takes_part_of_it() {
    let (router, _) = market(CALM).await;
    // 300,000 SOL is more than Meteora's SOL/USDC bins can absorb, so it cannot quote
    // the whole order — but taking part of it more than doubles the output.
    let order = spec("SOL", "USDC", 300_000_000_000_000, 5_000);
    let plan = router.route(&order).await.expect("route");
    assert_eq!(plan.quotes.len(), 1, "only raydium quotes the whole order");
    assert_eq!(plan.record.dex, "split", "{}", plan.record.reason);
    assert!(plan.expected_out > 2 * plan.quotes[0].amount_out);
}

#[tokio::test]
async fn min_amount_out_applies_the_slippage_tolerance() {
    let (router, _) = market(CALM).await;
    let plan = router.route(&spec("SOL", "USDC", 2_000_000_000, 100)).await.expect("route");
    assert_eq!(plan.min_amount_out, plan.expected_out * 9_900 / 10_000);
}

#[tokio::test]
async fn a_pair_no_venue_lists_has_no_route() {
    let (router, _) = market(CALM).await;
    let order = spec("BONK", "USDC", 100_000, 50);
    let err = router.route(&order).await.expect_err("no pool");
    assert!(matches!(err, RouteError::NoRoute(_)), "{err:?}");
}

#[tokio::test]
async fn a_swap_fails_when_the_pool_moved_past_the_minimum() {
    let (router, _) = market(CALM).await;
    let mine = spec("SOL", "USDC", 1_000_000_000, 1);
    let plan = router.route(&mine).await.expect("route");
    // A whale sells into the same pool first.
    let whale = spec("SOL", "USDC", 2_000_000_000_000, 5_000);
    let mut whale_plan = router.route(&whale).await.expect("route");
    whale_plan.legs.retain(|l| l.pool_id == plan.legs[0].pool_id);
    whale_plan.legs[0].amount_in = whale.amount_in;
    whale_plan.min_amount_out = 0;
    router.send(&router.build(&whale, &whale_plan, "whale")).await.expect("whale lands");
    let tx = router.build(&mine, &plan, &transaction_id(Uuid::nil(), 1));
    let err = router.send(&tx).await.expect_err("slippage");
    assert!(matches!(err, VenueError::SlippageExceeded { .. }), "{err:?}");
    assert_eq!(router.landed(&tx.id).await, Ok(None), "a refused transaction does not land");
}

#[tokio::test]
async fn a_transaction_lands_at_most_once() {
    let (router, ledger) = market(CALM).await;
    let order = spec("SOL", "USDC", 1_000_000_000, 50);
    let plan = router.route(&order).await.expect("route");
    let tx = router.build(&order, &plan, &transaction_id(Uuid::now_v7(), 1));
    let first = router.send(&tx).await.expect("lands");
    let again = router.send(&tx).await.expect("recorded");
    assert_eq!(first, again);
    assert_eq!(ledger.receipts().len(), 1, "sent twice, landed once");
    assert_eq!(router.landed(&tx.id).await.expect("ledger"), Some(first));
}

#[tokio::test]
async fn concurrent_swaps_on_one_pool_equal_applying_them_one_by_one() {
    let registry = TokenRegistry::default();
    let (router, ledger) = market(CALM).await;
    let mut tasks = Vec::new();
    for n in 0..64u64 {
        let router = router.clone();
        tasks.push(tokio::spawn(async move {
            let (a, b) = if n % 3 == 0 { ("USDC", "SOL") } else { ("SOL", "USDC") };
            let amount = if a == "SOL" { 1_000_000_000 + n * 37_000_000 } else { 100_000_000 + n * 1_000_000 };
            let order = spec(a, b, amount, 5_000);
            let plan = router.route(&order).await.expect("route");
            router.send(&router.build(&order, &plan, &format!("tx-{n}"))).await
        }));
    }
    for task in tasks {
        task.await.expect("join").expect("lands with a wide tolerance");
    }
    // Replaying every receipt in slot order on fresh pools gives the same state.
    let receipts = ledger.receipts();
    assert_eq!(receipts.len(), 64);
    let replay = oee_router::chain::replay(seed_pools(&registry, T0), &receipts).expect("replays");
    let ids: Vec<String> = replay.iter().map(|p| p.id.clone()).collect();
    let live = ledger.pools(&ids).await.expect("pools");
    for pool in &replay {
        assert_eq!(live.iter().find(|p| p.id == pool.id), Some(pool), "{} ends in the same state", pool.id);
    }
}

#[tokio::test]
async fn the_transaction_wraps_and_unwraps_native_sol() {
    let (router, _) = market(CALM).await;
    let sell = spec("SOL", "USDC", 1_000_000_000, 50);
    let plan = router.route(&sell).await.expect("route");
    let tx = router.build(&sell, &plan, "t1");
    assert!(plan.record.wrap_sol && !plan.record.unwrap_sol);
    assert!(matches!(tx.instructions[0], Instruction::SetComputeUnitLimit { .. }));
    assert!(matches!(tx.instructions[1], Instruction::SetComputeUnitPrice { .. }));
    assert!(tx.instructions.iter().any(|i| matches!(i, Instruction::WrapSol { amount } if amount == "1")));
    assert!(!tx.instructions.contains(&Instruction::UnwrapSol));

    let buy = spec("USDC", "SOL", 100_000_000, 50);
    let plan = router.route(&buy).await.expect("route");
    let tx = router.build(&buy, &plan, "t2");
    assert!(!plan.record.wrap_sol && plan.record.unwrap_sol);
    assert_eq!(tx.instructions.last(), Some(&Instruction::UnwrapSol));
    assert!(!tx.instructions.iter().any(|i| matches!(i, Instruction::WrapSol { .. })));

    let wsol = spec("WSOL", "USDC", 1_000_000_000, 50);
    let plan = router.route(&wsol).await.expect("route");
    assert!(!plan.record.wrap_sol, "wrapped SOL needs no wrapping");
}

/// A pool changes only through a transaction: with no swap, the same state
/// quotes the same across any stretch of time (the market simulator's ticks
/// included), and the route chosen over it is the same.
#[test]
fn quotes_do_not_change_without_a_transaction() {
    let registry = TokenRegistry::default();
    let pools = seed_pools(&registry, T0);
    let (sol, usdc) = (&registry.by_symbol("SOL").expect("sol").mint, &registry.by_symbol("USDC").expect("usdc").mint);
    for pool in &pools {
        for (mint_in, amount) in [(&pool.mint_base, 1_000_000), (&pool.mint_quote, 1_000_000)] {
            let now = pool.quote(mint_in, amount, T0);
            for later in [T0 + 4, T0 + 5, T0 + 6, T0 + 3_600] {
                assert_eq!(pool.quote(mint_in, amount, later), now, "{} at {later}", pool.id);
            }
        }
    }
    let order = spec("SOL", "USDC", 25_000_000_000, 50);
    let markets = |now: i64| -> Vec<Result<Market, VenueError>> {
        pools.iter().filter(|p| p.pairs(sol, usdc)).map(|p| Ok(Market { pool: p.clone(), now })).collect()
    };
    let before = plan(&order, markets(T0)).expect("route");
    let after = plan(&order, markets(T0 + 5)).expect("route");
    assert_eq!(before.record, after.record, "the route across a tick boundary");
}

#[tokio::test]
async fn meteora_runs_out_of_liquidity() {
    let (router, _) = market(CALM).await;
    // 12M USDC into a stable pair with 10M per side: Meteora's bins run dry, while
    // the constant-product pool always quotes (at a terrible price).
    let order = spec("USDC", "USDT", 12_000_000_000_000, 5_000);
    let plan = router.route(&order).await.expect("raydium still quotes");
    assert!(plan.quotes.iter().all(|q| q.dex == Dex::Raydium), "{plan:?}");
    // Meteora still takes the part its bins can fill.
    assert_eq!(plan.record.dex, "split", "{}", plan.record.reason);
}

#[test]
fn transaction_ids_are_deterministic_per_order_and_attempt() {
    let id = Uuid::now_v7();
    assert_eq!(transaction_id(id, 1), transaction_id(id, 1));
    assert_ne!(transaction_id(id, 1), transaction_id(id, 2));
    assert_ne!(transaction_id(id, 1), transaction_id(Uuid::now_v7(), 1));
    assert!((86..=88).contains(&transaction_id(id, 1).len()));
}

#[tokio::test]
async fn injected_failures_are_transient() {
    let (router, _) = market(VenueProfile { latency: Latency::Instant, failure_rate: 1.0 }).await;
    let order = spec("SOL", "USDC", 1_000_000_000, 50);
    let plan = router.route(&order).await.expect("quotes do not fail");
    let err = router.send(&router.build(&order, &plan, "tx")).await.expect_err("always fails");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn quotes_come_from_recent_pool_states_and_own_swaps_refresh_them() {
    let registry = TokenRegistry::default();
    let ledger = Arc::new(MemoryLedger::default());
    ledger.seed(seed_pools(&registry, T0)).await.expect("seed");
    let cached = SimulatedNetwork::new(ledger.clone(), CALM, Arc::new(|| T0))
        .with_pool_cache(std::time::Duration::from_secs(60));
    let uncached = SimulatedNetwork::new(ledger.clone(), CALM, Arc::new(|| T0));
    let pool_id = "raydium:SOL-USDC";
    let before = cached.pool(pool_id).await.expect("read").expect("pool");

    // Another process trades on the pool: the cached network does not see it yet.
    let sol = registry.resolve("SOL").expect("SOL").mint.clone();
    let trade = |id: &str| oee_router::Transaction {
        id: id.to_owned(),
        legs: vec![oee_router::SwapLeg { pool_id: pool_id.into(), mint_in: sol.clone(), amount_in: 5_000_000_000 }],
        min_amount_out: 0,
        valid_until: i64::MAX,
        instructions: Vec::new(),
    };
    ledger.commit(&trade("elsewhere"), T0).await.expect("lands");
    let moved = uncached.pool(pool_id).await.expect("read").expect("pool");
    assert_ne!(moved, before, "the trade moved the pool");
    assert_eq!(cached.pool(pool_id).await.expect("read").expect("pool"), before, "served from the cache");

    // A swap sent through the cached network leaves its pools' new states there.
    cached.send(&trade("own")).await.expect("lands");
    let after = uncached.pool(pool_id).await.expect("read").expect("pool");
    assert_eq!(cached.pool(pool_id).await.expect("read").expect("pool"), after, "refreshed by the own swap");
    assert_ne!(after, moved);
}
