//! What a limit-order book with a million orders resting costs: heap bytes per
//! order (counted by a wrapping global allocator, here and not in the library),
//! the time to build it one order at a time and from an unsorted list, removal
//! and insertion at that size, and `triggered`'s latency over a thousand price
//! moves that each bring about ten orders within reach.
//!
//! Run with `cargo run --release -p oee-router --example book`. The figures are
//! for reading, not asserted: they depend on the machine and its load.
#![allow(clippy::print_stdout)] // the report is the point

use ethnum::U256;
use oee_domain::TokenRegistry;
use oee_router::{Book, Market, Rate, Resting, VenueError, seed_pools, triggered};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use std::time::{Duration, Instant};

#[global_allocator]
static HEAP: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ORDERS: usize = 1_000_000;
const MOVES: usize = 1_000;
/// Orders each move should bring within the marginal rate, on average.
const CROSSED_PER_MOVE: usize = 10;
/// Removals and insertions timed on the full book.
const CHURN: usize = 100_000;
const NOW: i64 = 1_800_000_000;
/// Rates as fixed point: atoms out per atom in, times 2^40.
const SHIFT: u32 = 40;

/// Bytes on the heap now.
fn live() -> usize {
    let stats = HEAP.stats();
    stats.bytes_allocated - stats.bytes_deallocated
}

/// splitmix64: a seeded, reproducible stream of numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn fixed(rate: Rate) -> u128 {
    u128::try_from((U256::from(rate.num()) << SHIFT) / U256::from(rate.den())).unwrap_or(u128::MAX)
}

fn best(markets: &[Result<Market, VenueError>], mint_in: &str) -> Rate {
    markets.iter().flatten().filter_map(|m| m.marginal_rate(mint_in)).max().expect("SOL/USDC trades")
}

/// One outside trade on each pool buying SOL with USDC: the price SOL sells at rises.
fn move_up(markets: &mut [Result<Market, VenueError>], usdc: &str, rng: &mut Rng) {
    for market in markets.iter_mut().flatten() {
        let amount = rng.between(500_000_000, 3_000_000_000); // 500 to 3,000 USDC
        let _ = market.pool.swap(usdc, amount, NOW);
    }
}

/// Orders selling 0.01 to 10 SOL, requiring rates spread evenly from `from`
/// over `span` (Q40), in random order with random ids and expiries.
fn orders(rng: &mut Rng, from: u128, span: u128) -> Vec<Resting> {
    (0..ORDERS)
        .map(|_| {
            let amount_in = rng.between(10_000_000, 10_000_000_000);
            let rate = from + span * u128::from(rng.next() >> 32) / (1 << 32) + 1;
            let min = (u128::from(amount_in) * rate).div_ceil(1 << SHIFT);
            Resting {
                id: u128::from(rng.next()) << 64 | u128::from(rng.next()),
                amount_in,
                min_amount_out: u64::try_from(min).expect("fits"),
                expires_at_ms: NOW * 1_000 + i64::try_from(rng.between(0, 86_400_000)).expect("fits"),
            }
        })
        .collect()
}

fn per_op(elapsed: Duration, ops: usize) -> u128 {
    elapsed.as_nanos() / u128::try_from(ops).expect("fits")
}

fn main() {
    let registry = TokenRegistry::default();
    let (sol, usdc) = (registry.by_symbol("SOL").expect("SOL"), registry.by_symbol("USDC").expect("USDC"));
    let markets: Vec<Result<Market, VenueError>> = seed_pools(&registry, NOW)
        .into_iter()
        .filter(|p| p.pairs(&sol.mint, &usdc.mint))
        .map(|pool| Ok(Market { pool, now: NOW }))
        .collect();

    // Where the moves will take the best rate, so that the orders can be spread
    // with about ten in each move's reach.
    let mut rng = Rng(16);
    let start = fixed(best(&markets, &sol.mint));
    let mut ahead = markets.clone();
    for _ in 0..MOVES {
        move_up(&mut ahead, &usdc.mint, &mut rng);
    }
    let reach = fixed(best(&ahead, &sol.mint)) - start;
    let span = reach * u128::try_from(ORDERS / (MOVES * CROSSED_PER_MOVE)).expect("fits");

    let before = live();
    let list = orders(&mut rng, start, span);
    let clock = Instant::now();
    let mut book = Book::new(sol.clone(), usdc.clone());
    for order in &list {
        book.insert(*order);
    }
    let inserted = clock.elapsed();
    let list_bytes = list.capacity() * size_of::<Resting>();
    drop(list);
    let inserted_bytes = live() - before;
    println!(
        "insert {ORDERS} one by one: {} ms ({} ns each); heap {} bytes per order",
        inserted.as_millis(),
        per_op(inserted, ORDERS),
        inserted_bytes / ORDERS
    );
    drop(book);

    let mut rng = Rng(16);
    let before = live();
    let list = orders(&mut rng, start, span);
    let clock = Instant::now();
    let mut book = Book::from_orders(sol.clone(), usdc.clone(), list);
    let built = clock.elapsed();
    let built_bytes = live() - before;
    println!(
        "from_orders {ORDERS} unsorted: {} ms; heap {} bytes per order (the list, {list_bytes} bytes, is consumed)",
        built.as_millis(),
        built_bytes / ORDERS
    );

    let victims: Vec<Resting> = book.iter().step_by(ORDERS / CHURN).copied().collect();
    let clock = Instant::now();
    for order in &victims {
        book.remove(order.id);
    }
    let removed = clock.elapsed();
    let clock = Instant::now();
    for order in &victims {
        book.insert(*order);
    }
    let reinserted = clock.elapsed();
    println!(
        "at {ORDERS} resting: remove by id {} ns each, insert {} ns each ({} of each)",
        per_op(removed, victims.len()),
        per_op(reinserted, victims.len()),
        victims.len()
    );

    let mut markets = markets;
    let mut rng = Rng(16);
    let mut latencies = Vec::with_capacity(MOVES);
    let (mut fired, mut most) = (0, 0);
    for _ in 0..MOVES {
        move_up(&mut markets, &usdc.mint, &mut rng);
        let clock = Instant::now();
        let firing = triggered(&book, &markets);
        latencies.push(clock.elapsed());
        fired += firing.len();
        most = most.max(firing.len());
        for f in &firing {
            book.remove(f.order.id);
        }
    }
    latencies.sort_unstable();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)].as_micros();
    println!(
        "triggered over {MOVES} moves with {ORDERS} resting: {} fired ({} per move on average, {most} at most); \
         p50 {} µs, p99 {} µs, max {} µs",
        fired,
        fired / MOVES,
        at(50),
        at(99),
        latencies.last().map_or(0, Duration::as_micros)
    );
}
