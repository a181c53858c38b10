//! `oee-bench triggers`: from a price move to the limit orders it crosses
//! being triggered, and on to `confirmed`.
//!
//! 1. **Step.** One small outside trade (`--step`) on `--venue`, quoted before
//!    and after: the ratio by which it moves the price the orders get.
//! 2. **Moves.** `--moves` levels of `--per-move` limit orders, level `i` half
//!    a step short of where `i` trades take the price (placed ten levels at a
//!    time, left to rest a moment), then a trade per level, one at a time,
//!    each awaited until the orders it fired have ended.
//!    An order's latency runs from sending the trade whose slot fired it (the
//!    `trigger.slot` of its `routing` event; the latest trade at or before that
//!    slot) to its `routing` event arriving on the submit socket. It covers the
//!    trade request (the API lands the swap in PostgreSQL and appends the pool
//!    change to the stream before it answers), the trigger engine reading the
//!    stream and evaluating the pair's books, the guarded `open → routing`
//!    transition committed, and the event published and forwarded by the API.
//!    Each trade's own round trip is reported beside it.
//! 3. **Band.** `--band` orders spread over 0.05–0.55% beyond the market, then
//!    one trade that takes the price 1.5% further: every order fires at once.
//!    From sending that trade: when each order's `routing` and `confirmed`
//!    arrived, and confirmed orders per second up to the last one.
//!
//! Every order is checked: confirmed exactly once, never below its minimum.
//! Orders still resting at the end are cancelled, so they cannot fire later.

mod args;
mod tracker;

pub use args::TriggersArgs;

use crate::sockets::percentile;
use anyhow::Context;
use oee_client::{Client, OrderRequest, QuoteRequest, SimTradeRequest};
use oee_domain::OrderStatus;
use serde_json::{Value, json};
use std::cell::Cell;
use std::time::{Duration, Instant};
use tracker::{Ledger, Tracker};

/// Where the band starts beyond the market, and how wide it is.
const BAND_FROM: f64 = 0.0005;
const BAND_WIDTH: f64 = 0.005;
/// How far beyond the market the band's trade takes the price: the band, and
/// room for the band's own orders to move it back as they fill.
const BAND_PUSH: f64 = 0.015;
/// How long a trade's orders may take to fire and end before the run moves on
/// (a level the trade fell short of fires with the next one).
const MOVE_TIMEOUT: Duration = Duration::from_secs(2);
const BAND_TIMEOUT: Duration = Duration::from_secs(300);
/// Levels placed at once in the moves.
const LEVELS_PER_PLACING: usize = 10;
/// How long orders rest before a trade is to cross them: the trigger engine
/// reads new orders between its blocking reads of the pool changes, and a
/// Redis `BLOCK` timeout ends on the server's clock tick (100 ms at the default
/// `hz 10`), not sooner.
const SETTLE: Duration = Duration::from_millis(250);

/// One outside trade: when it was sent and answered, and its slot.
#[derive(Debug, Clone, Copy)]
struct Trade {
    sent: Instant,
    answered: Instant,
    slot: u64,
}

/// The market as the run drives it: quotes for the orders' direction, and
/// outside trades the other way.
struct Market<'a> {
    args: &'a TriggersArgs,
    client: Client,
    admin: Client,
    /// The slot of the latest outside trade.
    last_slot: Cell<u64>,
}

impl Market<'_> {
    /// What one order's amount gets now (tokenOut per tokenIn), from a quote
    /// that has seen the latest outside trade.
    async fn price(&self) -> anyhow::Result<f64> {
        let slot = self.last_slot.get();
        let request = QuoteRequest::new(&self.args.token_in, &self.args.token_out, &self.args.amount);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let quote = self.client.quote(&request).await.context("quoting")?;
            if quote.slot >= slot {
                let out: f64 = quote.amount_out.parse().context("the quote's amountOut")?;
                let amount: f64 = self.args.amount.parse().context("--amount")?;
                return Ok(out / amount);
            }
            anyhow::ensure!(Instant::now() < deadline, "quotes did not reach slot {slot} within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sells `amount` of tokenOut on the venue.
    async fn trade(&self, amount: &str) -> anyhow::Result<Trade> {
        let request = SimTradeRequest {
            token_in: self.args.token_out.clone(),
            token_out: self.args.token_in.clone(),
            venue: self.args.venue,
            amount_in: amount.to_owned(),
        };
        let sent = Instant::now();
        let landed = self.admin.sim_trade(&request).await.context("an outside trade")?;
        self.last_slot.set(landed.slot);
        Ok(Trade { sent, answered: Instant::now(), slot: landed.slot })
    }

    /// Limit orders at these prices.
    fn orders(&self, prices: &[f64], user: &str) -> Vec<OrderRequest> {
        prices
            .iter()
            .map(|&price| {
                OrderRequest::limit(&self.args.token_in, &self.args.token_out, &self.args.amount, price_text(price))
                    .user_id(format!("{}-{user}", self.args.user))
            })
            .collect()
    }
}

pub async fn run(args: TriggersArgs) -> anyhow::Result<()> {
    let client = |key: &Option<String>| {
        let builder = Client::builder().url(&args.url).request_timeout(Duration::from_secs(30));
        match key {
            Some(key) => builder.api_key(key.clone()).build(),
            None => builder.build(),
        }
    };
    let market =
        Market { args: &args, client: client(&args.key)?, admin: client(&args.admin_key)?, last_slot: Cell::new(0) };
    let tracker = Tracker::connect(&market.client).await?;

    let before = market.price().await?;
    market.trade(&args.step).await?;
    let after = market.price().await?;
    let step = after / before;
    anyhow::ensure!(
        step > 1.000_001,
        "a trade of {} {} on {} moved the price of {} → {} from {before} only to {after}: is it the venue they fill on?",
        args.step,
        args.token_out,
        args.venue,
        args.token_in,
        args.token_out
    );

    let moves = run_moves(&market, &tracker, step).await?;
    let band = run_band(&market, &tracker, step).await?;
    let leftover = cancel_resting(&market.client, &tracker).await;

    let report = json!({
        "label": args.label,
        "command": crate::load::command_line(),
        "orders": format!("{} {} → {}", args.amount, args.token_in, args.token_out),
        "venue": args.venue.as_str(),
        "step": {"amount": args.step, "ratio": step},
        "moves": moves,
        "band": band,
        "cancelledAtEnd": leftover,
    });
    print!("{}", text(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_string() + "\n")
            .with_context(|| format!("writing the JSON report to {}", path.display()))?;
    }
    Ok(())
}

/// The moves: levels of orders, each half a step short of where one more
/// trade takes the price; then a trade per level, each awaited until its
/// orders have fired and ended.
async fn run_moves(market: &Market<'_>, tracker: &Tracker, step: f64) -> anyhow::Result<Value> {
    let (levels, per) = (market.args.moves, market.args.per_move);
    if levels == 0 {
        return Ok(Value::Null);
    }
    let mut placed: Vec<usize> = Vec::with_capacity((levels * per) as usize);
    let mut trades = Vec::with_capacity(levels as usize);
    while trades.len() < levels as usize {
        // A few levels at a time, from the price as it is then: the orders
        // filled so far move it back a little, which must not add up to a
        // level's distance.
        let chunk = LEVELS_PER_PLACING.min(levels as usize - trades.len());
        let now = market.price().await?;
        let prices: Vec<f64> = (1..=chunk)
            .flat_map(|i| (0..per).map(move |j| now * step.powf(i as f64 - 0.5) * (1.0 + f64::from(j) * 1e-7)))
            .collect();
        let chunk_orders = tracker.place(market.orders(&prices, "moves")).await?;
        // Resting, not just arrived: the trigger engine has read them.
        tokio::time::sleep(SETTLE).await;
        for due in chunk_orders.chunks(per as usize) {
            placed.extend_from_slice(due);
            trades.push(market.trade(&market.args.step).await?);
            // This level fired, and everything fired so far has ended.
            tracker
                .wait_until(MOVE_TIMEOUT, |l| {
                    due.iter().all(|&i| l.orders[i].triggered.is_some())
                        && placed.iter().all(|&i| l.orders[i].triggered.is_none() || l.orders[i].ended.is_some())
                })
                .await;
        }
    }
    let ledger = tracker.ledger();
    let (mut latency, mut confirmed) = (Vec::new(), Vec::new());
    let mut unattributed = 0;
    for &i in &placed {
        let order = &ledger.orders[i];
        let Some((at, slot)) = order.triggered else { continue };
        match trades.iter().rev().find(|t| t.slot <= slot) {
            Some(trade) => {
                latency.push(ms(at - trade.sent));
                confirmed.extend(order.confirmed_at.map(|done| ms(done - trade.sent)));
            }
            None => unattributed += 1,
        }
    }
    let mut round_trips: Vec<f64> = trades.iter().map(|t| ms(t.answered - t.sent)).collect();
    Ok(json!({
        "trades": trades.len(),
        "orders": placed.len(),
        "triggered": latency.len() + unattributed,
        "unattributed": unattributed,
        "latencyMs": percentiles(&mut latency),
        "confirmedMs": percentiles(&mut confirmed),
        "tradeMs": percentiles(&mut round_trips),
        "outcome": outcome(&ledger, &placed),
    }))
}

/// The band: many orders, one trade crossing them all.
async fn run_band(market: &Market<'_>, tracker: &Tracker, step: f64) -> anyhow::Result<Value> {
    let n = market.args.band;
    if n == 0 {
        return Ok(Value::Null);
    }
    let now = market.price().await?;
    let prices: Vec<f64> =
        (0..n).map(|j| now * (1.0 + BAND_FROM + BAND_WIDTH * f64::from(j) / f64::from(n.max(2) - 1))).collect();
    let placed = tracker.place(market.orders(&prices, "band")).await?;
    tokio::time::sleep(SETTLE).await;
    // Price moves multiply: this many steps' worth in one trade.
    let steps = (1.0 + BAND_PUSH).ln() / step.ln();
    let step_amount: f64 = market.args.step.parse().context("--step")?;
    let amount = format!("{:.3}", step_amount * steps);
    let trade = market.trade(&amount).await?;
    let ended = tracker.wait_until(BAND_TIMEOUT, |l| placed.iter().all(|&i| l.orders[i].ended.is_some())).await;
    let ledger = tracker.ledger();
    let since = |at: Instant| ms(at - trade.sent);
    let mut triggered: Vec<f64> =
        placed.iter().filter_map(|&i| ledger.orders[i].triggered.map(|(at, _)| since(at))).collect();
    let mut confirmed: Vec<f64> = placed.iter().filter_map(|&i| ledger.orders[i].confirmed_at.map(since)).collect();
    let last_confirmed = confirmed.iter().copied().fold(0.0_f64, f64::max);
    let last_triggered = triggered.iter().copied().fold(0.0_f64, f64::max);
    Ok(json!({
        "orders": placed.len(),
        "tradeAmount": amount,
        "tradeSlot": trade.slot,
        "tradeMs": ms(trade.answered - trade.sent),
        "allEnded": ended,
        "lastTriggeredMs": last_triggered,
        "lastConfirmedMs": last_confirmed,
        "confirmedPerSec": if last_confirmed > 0.0 { confirmed.len() as f64 / (last_confirmed / 1000.0) } else { 0.0 },
        "triggeredMs": percentiles(&mut triggered),
        "confirmedMs": percentiles(&mut confirmed),
        "outcome": outcome(&ledger, &placed),
    }))
}

/// How the orders ended, and whether each was confirmed exactly once and at
/// least at its minimum.
fn outcome(ledger: &Ledger, placed: &[usize]) -> Value {
    let orders = placed.iter().map(|&i| &ledger.orders[i]);
    let count = |f: &dyn Fn(&tracker::Tracked) -> bool| orders.clone().filter(|o| f(o)).count();
    let confirmed = count(&|o| o.ended == Some(OrderStatus::Confirmed));
    let duplicated = count(&|o| o.confirmations > 1);
    let below_min = count(&|o| o.below_min);
    json!({
        "triggered": count(&|o| o.triggered.is_some()),
        "confirmed": confirmed,
        "failed": count(&|o| o.ended == Some(OrderStatus::Failed)),
        "otherEnd": count(&|o| o.ended.is_some_and(|s| s != OrderStatus::Confirmed && s != OrderStatus::Failed)),
        "stillOpen": count(&|o| o.ended.is_none()),
        "reopened": count(&|o| o.reopened > 0),
        "duplicated": duplicated,
        "belowMin": below_min,
        "clean": duplicated == 0 && below_min == 0 && confirmed == count(&|o| o.triggered.is_some()),
    })
}

/// Cancels the orders that never fired; how many.
async fn cancel_resting(client: &Client, tracker: &Tracker) -> usize {
    let open: Vec<uuid::Uuid> = tracker
        .ledger()
        .orders
        .iter()
        .filter(|o| o.triggered.is_none() && o.ended.is_none())
        .filter_map(|o| o.id)
        .collect();
    for id in &open {
        let _ = client.cancel(*id).await;
    }
    open.len()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// p50, p90, p99 and max of a sample (nearest rank), or null without one.
fn percentiles(sample: &mut [f64]) -> Value {
    if sample.is_empty() {
        return Value::Null;
    }
    sample.sort_by(f64::total_cmp);
    json!({
        "n": sample.len(),
        "p50": percentile(sample, 50),
        "p90": percentile(sample, 90),
        "p99": percentile(sample, 99),
        "max": sample[sample.len() - 1],
    })
}

/// A price as the API takes it: fixed-point decimal text with ten significant
/// digits (at most 18 decimals).
fn price_text(price: f64) -> String {
    let (mut decimals, mut scaled) = (10_usize, price);
    while scaled >= 1.0 && decimals > 0 {
        scaled /= 10.0;
        decimals -= 1;
    }
    while scaled > 0.0 && scaled < 0.1 && decimals < 18 {
        scaled *= 10.0;
        decimals += 1;
    }
    let text = format!("{price:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

/// The report for a person.
fn text(report: &Value) -> String {
    let pcts = |v: &Value| match v {
        Value::Null => "–".to_owned(),
        v => format!(
            "p50 {:.1} / p90 {:.1} / p99 {:.1} / max {:.1} ms (n={})",
            v["p50"].as_f64().unwrap_or(f64::NAN),
            v["p90"].as_f64().unwrap_or(f64::NAN),
            v["p99"].as_f64().unwrap_or(f64::NAN),
            v["max"].as_f64().unwrap_or(f64::NAN),
            v["n"]
        ),
    };
    let field = |key: &str| report[key].as_str().unwrap_or_default().to_owned();
    let mut out = format!("{}: {} on {}\n", field("label"), field("orders"), field("venue"));
    let moves = &report["moves"];
    if !moves.is_null() {
        out += &format!(
            "moves: {} trades, {} orders, {} triggered\n  trade sent → routing received: {}\n  trade sent → confirmed received: {}\n  trade round trip: {}\n  {}\n",
            moves["trades"],
            moves["orders"],
            moves["triggered"],
            pcts(&moves["latencyMs"]),
            pcts(&moves["confirmedMs"]),
            pcts(&moves["tradeMs"]),
            moves["outcome"]
        );
    }
    let band = &report["band"];
    if !band.is_null() {
        out += &format!(
            "band: {} orders, one trade of {}: all triggered after {:.0} ms, all confirmed after {:.0} ms: {:.0} confirmed/s\n  trade sent → routing received: {}\n  trade sent → confirmed received: {}\n  {}\n",
            band["orders"],
            band["tradeAmount"],
            band["lastTriggeredMs"].as_f64().unwrap_or(f64::NAN),
            band["lastConfirmedMs"].as_f64().unwrap_or(f64::NAN),
            band["confirmedPerSec"].as_f64().unwrap_or(f64::NAN),
            pcts(&band["triggeredMs"]),
            pcts(&band["confirmedMs"]),
            band["outcome"]
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prices keep ten significant digits in fixed-point text, whatever their size.
    #[test]
    fn prices_are_fixed_point_text() {
        assert_eq!(price_text(0.006_768_123_456_7), "0.006768123457");
        assert_eq!(price_text(151.25), "151.25");
        assert_eq!(price_text(7_673_556.297), "7673556.297");
        assert_eq!(price_text(1.361_918_6e-7), "0.00000013619186");
    }
}
