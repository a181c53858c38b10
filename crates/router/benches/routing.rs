//! Quote and route costs, with the venues' latency switched off: what routing costs
//! the worker's CPU. Run with `cargo bench -p oee-router --bench routing`.

use criterion::{Criterion, criterion_group, criterion_main};
use oee_domain::{Dex, OrderSpec, OrderType, TokenRegistry};
use oee_router::{
    Latency, Ledger, Market, MemoryLedger, SimulatedNetwork, VenueProfile, best_split, seed_pools, simulated,
};
use std::hint::black_box;
use std::sync::Arc;

const NOW: i64 = 1_800_000_000;

fn spec(registry: &TokenRegistry, token_in: &str, token_out: &str, amount_in: u64) -> OrderSpec {
    OrderSpec {
        order_type: OrderType::Market,
        token_in: registry.resolve(token_in).expect("token").clone(),
        token_out: registry.resolve(token_out).expect("token").clone(),
        amount_in,
        slippage_bps: 50,
        user_id: "bench".into(),
        limit: None,
        sniper: None,
    }
}

fn market(registry: &TokenRegistry, dex: Dex, id: &str) -> Market {
    let pool = seed_pools(registry, NOW).into_iter().find(|p| p.dex == dex && p.id.ends_with(id)).expect("pool");
    Market { pool, now: NOW }
}

fn quotes(c: &mut Criterion) {
    let registry = TokenRegistry::default();
    let sol = registry.by_symbol("SOL").expect("sol").mint.clone();
    let raydium = market(&registry, Dex::Raydium, "SOL-USDC");
    let meteora = market(&registry, Dex::Meteora, "SOL-USDC");
    c.bench_function("quote/raydium-cpmm/1 SOL", |b| {
        b.iter(|| raydium.quote(black_box(&sol), black_box(1_000_000_000)))
    });
    c.bench_function("quote/meteora-dlmm/1 SOL", |b| {
        b.iter(|| meteora.quote(black_box(&sol), black_box(1_000_000_000)))
    });
    c.bench_function("quote/meteora-dlmm/20000 SOL (many bins)", |b| {
        b.iter(|| meteora.quote(black_box(&sol), black_box(20_000_000_000_000)))
    });
    let usdc = registry.by_symbol("USDC").expect("usdc").mint.clone();
    c.bench_function("best_split/SOL-USDC/1M USDC (searched)", |b| {
        b.iter(|| best_split(&meteora, &raydium, black_box(&usdc), black_box(1_000_000_000_000)))
    });
    c.bench_function("best_split/SOL-USDC/1 SOL (early exit)", |b| {
        b.iter(|| best_split(&meteora, &raydium, black_box(&sol), black_box(1_000_000_000)))
    });
}

fn routes(c: &mut Criterion) {
    let registry = TokenRegistry::default();
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let ledger = Arc::new(MemoryLedger::default());
    runtime.block_on(ledger.seed(seed_pools(&registry, NOW))).expect("seed");
    let network = Arc::new(SimulatedNetwork::new(
        ledger,
        VenueProfile { latency: Latency::Instant, failure_rate: 0.0 },
        Arc::new(|| NOW),
    ));
    let router = simulated(&registry, network);
    let small = spec(&registry, "SOL", "USDC", 1_500_000_000);
    let large = spec(&registry, "USDC", "SOL", 1_000_000_000_000);
    c.bench_function("route/SOL-USDC/1.5 SOL (single venue)", |b| {
        b.iter(|| runtime.block_on(router.route(black_box(&small))))
    });
    c.bench_function("route/USDC-SOL/1M USDC (split)", |b| {
        b.iter(|| runtime.block_on(router.route(black_box(&large))))
    });
}

criterion_group!(benches, quotes, routes);
criterion_main!(benches);
