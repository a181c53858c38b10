//! Route choice and execution against the simulated venues.

use oee_domain::{Dex, OrderSpec, OrderType, TokenRegistry};
use oee_router::{
    Latency, RouteError, Router, SimulatedVenue, SwapRequest, Venue, VenueError, VenueProfile, simulated,
    transaction_id,
};
use std::sync::Arc;
use uuid::Uuid;

const CALM: VenueProfile = VenueProfile { latency: Latency::Instant, failure_rate: 0.0 };

fn spec(token_in: &str, token_out: &str, amount_in: u64, slippage_bps: u16) -> OrderSpec {
    let reg = TokenRegistry::default();
    OrderSpec {
        order_type: OrderType::Market,
        token_in: reg.resolve(token_in).expect("token").clone(),
        token_out: reg.resolve(token_out).expect("token").clone(),
        amount_in,
        slippage_bps,
        user_id: "t".into(),
    }
}

#[tokio::test]
async fn picks_the_venue_with_the_most_output() {
    let router = simulated(&TokenRegistry::default(), CALM);
    for (a, b, amount) in
        [("SOL", "USDC", 1_500_000_000), ("USDC", "SOL", 150_000_000), ("BONK", "SOL", 10_000_000_000_000)]
    {
        let plan = router.route(&spec(a, b, amount, 50)).await.expect("route");
        assert_eq!(plan.quotes.len(), 2, "{a}->{b}: both venues quote");
        let best = plan.quotes.iter().map(|q| q.amount_out).max().expect("quotes");
        assert_eq!(plan.expected_out, best);
        let chosen = plan.quotes.iter().find(|q| q.dex == plan.dex).expect("chosen quote");
        assert_eq!(chosen.amount_out, best);
        assert_eq!(plan.record.dex, plan.dex.as_str());
        assert_eq!(plan.record.legs.len(), 1);
        assert!(plan.record.reason.starts_with(plan.dex.as_str()), "{}", plan.record.reason);
        assert!(plan.record.reason.contains("% more"), "{}", plan.record.reason);
    }
}

#[tokio::test]
async fn the_venues_differ_by_a_few_percent() {
    let router = simulated(&TokenRegistry::default(), CALM);
    let plan = router.route(&spec("SOL", "USDC", 1_000_000_000, 50)).await.expect("route");
    let (hi, lo) = (plan.quotes[0].amount_out, plan.quotes[1].amount_out);
    let spread_bps = (hi - lo) * 10_000 / lo;
    assert!((150..=600).contains(&spread_bps), "spread {spread_bps} bps");
}

#[tokio::test]
async fn min_amount_out_applies_the_slippage_tolerance() {
    let router = simulated(&TokenRegistry::default(), CALM);
    let plan = router.route(&spec("SOL", "USDC", 2_000_000_000, 100)).await.expect("route");
    assert_eq!(plan.min_amount_out, plan.expected_out * 9_900 / 10_000);
    assert!(plan.record.wrap_sol && !plan.record.unwrap_sol);
    let back = router.route(&spec("USDC", "SOL", 2_000_000, 100)).await.expect("route");
    assert!(!back.record.wrap_sol && back.record.unwrap_sol);
}

#[tokio::test]
async fn a_pair_no_venue_lists_has_no_route() {
    let router = simulated(&TokenRegistry::default(), CALM);
    assert!(!router.has_route(&spec("BONK", "USDC", 1, 1).token_in.mint, &spec("BONK", "USDC", 1, 1).token_out.mint));
    let err = router.route(&spec("BONK", "USDC", 100_000, 50)).await.expect_err("no pool");
    assert!(matches!(err, RouteError::NoRoute(_)), "{err:?}");
    assert!(router.has_route(&spec("USDC", "SOL", 1, 1).token_in.mint, &spec("USDC", "SOL", 1, 1).token_out.mint));
}

#[tokio::test]
async fn a_swap_fails_when_the_pool_moved_past_the_minimum() {
    let router = simulated(&TokenRegistry::default(), CALM);
    let mine = spec("SOL", "USDC", 1_000_000_000, 1);
    let plan = router.route(&mine).await.expect("route");
    // Someone else buys USDC with a lot of SOL on the same venue first.
    let whale = spec("SOL", "USDC", 5_000_000_000_000, 5_000);
    let whale_plan = router.route(&whale).await.expect("route");
    assert_eq!(whale_plan.dex, plan.dex);
    router.execute(&whale, &whale_plan, "whale").await.expect("whale lands");
    let err = router.execute(&mine, &plan, &transaction_id(Uuid::nil(), 1)).await.expect_err("slippage");
    assert!(matches!(err, VenueError::SlippageExceeded { .. }), "{err:?}");
    assert_eq!(router.landed(&transaction_id(Uuid::nil(), 1)).await, Ok(None));
}

#[tokio::test]
async fn a_transaction_lands_at_most_once() {
    let venue = Arc::new(SimulatedVenue::new(Dex::Raydium, &TokenRegistry::default(), CALM));
    let router = Router::new(vec![venue.clone()]);
    let order = spec("SOL", "USDC", 1_000_000_000, 50);
    let plan = router.route(&order).await.expect("route");
    let tx = transaction_id(Uuid::now_v7(), 1);
    let first = router.execute(&order, &plan, &tx).await.expect("lands");
    let again = router.execute(&order, &plan, &tx).await.expect("recorded");
    assert_eq!(first, again);
    // The pool moved once, not twice: a fresh quote equals the one after one swap.
    let after = router.route(&order).await.expect("route");
    let request = SwapRequest {
        tx_id: "probe",
        mint_in: &order.token_in.mint,
        mint_out: &order.token_out.mint,
        amount_in: order.amount_in,
        min_amount_out: 0,
    };
    assert_eq!(venue.execute(&request).await.expect("probe").amount_out, after.expected_out);
    assert_eq!(router.landed(&tx).await.expect("ledger"), Some(first));
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
    let router = simulated(&TokenRegistry::default(), VenueProfile { latency: Latency::Instant, failure_rate: 1.0 });
    let order = spec("SOL", "USDC", 1_000_000_000, 50);
    let plan = router.route(&order).await.expect("quotes do not fail");
    let err = router.execute(&order, &plan, "tx").await.expect_err("always fails");
    assert!(err.is_transient(), "{err:?}");
}
