//! The domain's hot paths, per order: validating a submission and encoding its
//! status events (each is encoded once, then stored and published as is).
//! Run with `cargo bench -p oee-domain --bench hot_paths`.

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use oee_domain::{
    Channel, Dex, ErrorInfo, EventDetail, EventHead, FailureCode, Instruction, LegRecord, QuoteRecord, RawOrder,
    RouteRecord, StatusEvent, TokenRegistry, Units, parse_order,
};
use std::hint::black_box;
use uuid::Uuid;

fn validation(c: &mut Criterion) {
    let registry = TokenRegistry::default();
    let body = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","slippageBps":100,"userId":"trader-42"}"#;
    let aliased = br#"{"orderType":"market","tokenIn":"So11111111111111111111111111111111111111112","tokenOut":"usdc","amount":1.5,"slippage":0.01}"#;
    let message = r#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","clientRef":"abc","idempotencyKey":"k-1"}"#;
    c.bench_function("validate/http body", |b| {
        b.iter(|| parse_order(black_box(body), &registry, Channel::Http).expect("valid"))
    });
    c.bench_function("validate/http body with aliases and a mint", |b| {
        b.iter(|| parse_order(black_box(aliased), &registry, Channel::Http).expect("valid"))
    });
    c.bench_function("validate/websocket message", |b| {
        b.iter(|| {
            let raw = RawOrder::parse(black_box(message.as_bytes())).expect("json");
            raw.validate(&registry, Channel::WebSocket).expect("valid")
        })
    });
    let bad = br#"{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.1234567891"}"#;
    c.bench_function("validate/refused (too many decimals)", |b| {
        b.iter(|| parse_order(black_box(bad), &registry, Channel::Http).expect_err("refused"))
    });
}

fn route() -> RouteRecord {
    let quote = |dex, out: &str| QuoteRecord {
        dex,
        amount_out: out.into(),
        fee: "0.00375".into(),
        price_impact_bps: 3,
        price: "147.210331".into(),
    };
    RouteRecord {
        dex: "meteora".into(),
        legs: vec![LegRecord {
            dex: Dex::Meteora,
            amount_in: "1.5".into(),
            amount_out: "220.815496".into(),
            share_bps: 10_000,
        }],
        quotes: vec![quote(Dex::Meteora, "220.815496"), quote(Dex::Raydium, "214.120034")],
        min_amount_out: "219.711418".into(),
        wrap_sol: true,
        unwrap_sol: false,
        reason: "meteora returns 6.695462 USDC (3.1%) more than raydium".into(),
    }
}

fn events(c: &mut Criterion) {
    let id = Uuid::now_v7();
    let at: DateTime<Utc> = Utc::now();
    let lifecycle = [
        EventDetail::Pending,
        EventDetail::Routing { attempt: 1, last_error: None, trigger: None },
        EventDetail::Building { attempt: 1, route: Box::new(route()) },
        EventDetail::Submitted {
            attempt: 1,
            tx_hash: "5".repeat(88),
            instructions: vec![
                Instruction::SetComputeUnitLimit { units: 200_000 },
                Instruction::WrapSol { amount: "1.5".into() },
                Instruction::Swap { dex: Dex::Meteora, pool: "meteora:SOL-USDC".into(), amount_in: "1.5".into() },
            ],
        },
        EventDetail::Confirmed {
            attempt: 1,
            tx_hash: "5".repeat(88),
            dex: "meteora".into(),
            executed_price: "147.21".into(),
            amount_out: Units { atoms: 220_815_496, decimals: 6 },
        },
    ];
    let events: Vec<StatusEvent> =
        lifecycle.into_iter().zip(1..).map(|(d, seq)| StatusEvent::new(id, seq, at, d)).collect();
    c.bench_function("encode/an order's five events", |b| {
        b.iter(|| black_box(&events).iter().map(|e| e.to_json().len()).sum::<usize>())
    });
    c.bench_function("encode/building (route record)", |b| b.iter(|| black_box(&events[2]).to_json()));
    let failed = StatusEvent::new(
        id,
        9,
        at,
        EventDetail::Failed { error: ErrorInfo::new(FailureCode::SlippageExceeded, "the pool moved"), attempts: 3 },
    );
    c.bench_function("encode/failed", |b| b.iter(|| black_box(&failed).to_json()));
    let json = events[4].to_json();
    c.bench_function("decode/event head (what fan-out reads)", |b| b.iter(|| EventHead::parse(black_box(&json))));
}

criterion_group!(benches, validation, events);
criterion_main!(benches);
