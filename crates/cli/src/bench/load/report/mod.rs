//! The run's report: built once from the tally, then rendered three ways.
//!
//! Rates are over the measured window, which starts when the warmup ends:
//! accepted/s up to the last accept reply, terminal/s and confirmed/s up to the
//! last terminal event, so a backlog the engine works off after the last
//! submit lowers terminal/s rather than hiding. The achieved send rate is
//! between the first and the last measured send.
//!
//! - `json` — the whole report as JSON, the shape `scripts/lib/bench_report.py` reads;
//! - `markdown` — a Markdown section, as docs/BENCHMARKS.md records runs;
//! - `summary` — a few lines for the terminal;
//! - `text` — the phrasing the Markdown and the summary share.

mod json;
mod markdown;
mod summary;
mod text;

use super::args::{Model, Plan};
use super::sequence::Findings;
use super::stats::{Orders, Second, Tally};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Why the submitting stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Ended {
    /// The count or the duration was reached.
    Completed,
    /// Ctrl-C.
    Interrupted,
    /// Closed loop: no outstanding order finished within `--timeout`.
    Stalled,
}

/// What the machine allowed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub build: &'static str,
    pub threads: u16,
    /// The soft open-file limit after raising it.
    pub nofile_limit: Option<u64>,
    /// `net.ipv4.ip_local_port_range`.
    pub ephemeral_ports: Option<String>,
    pub warnings: Vec<String>,
}

/// The run's timing, besides the tally.
#[derive(Debug)]
pub struct RunInfo {
    pub command: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub origin: Instant,
    pub measure_from: Instant,
    pub submit_ended: Instant,
    pub finished: Instant,
    pub ended: Ended,
    pub drain_timed_out: bool,
    pub environment: Environment,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub label: String,
    pub command: String,
    pub started_at: String,
    pub config: Config,
    pub environment: Environment,
    pub run: RunFigures,
    pub orders: Orders,
    pub throughput: Throughput,
    pub events: EventFigures,
    pub latency_ms: LatencyFigures,
    pub errors: ErrorFigures,
    pub timeline: Vec<Second>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub urls: Vec<String>,
    pub transport: &'static str,
    pub connections: Option<u32>,
    pub http_connections: Option<u32>,
    pub model: &'static str,
    pub target_rate: Option<f64>,
    pub concurrency: Option<u32>,
    pub count: Option<u64>,
    pub duration_secs: Option<f64>,
    pub warmup_secs: f64,
    pub timeout_secs: f64,
    pub follow: String,
    pub pairs: Vec<String>,
    pub slippage_bps: u32,
    pub max_in_flight: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFigures {
    pub ended: Ended,
    pub submit_secs: f64,
    pub drain_secs: f64,
    pub total_secs: f64,
    pub drain_timed_out: bool,
    pub planned_orders: Option<u64>,
    pub target_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throughput {
    pub accepted_per_sec: Option<f64>,
    pub terminal_per_sec: Option<f64>,
    pub confirmed_per_sec: Option<f64>,
    pub accept_window_secs: Option<f64>,
    pub terminal_window_secs: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFigures {
    /// What the sequence checks found, over every stream.
    #[serde(flatten)]
    pub found: Findings,
    pub reconnects: u64,
    pub untracked: u64,
    /// No loss of any kind.
    pub clean: bool,
}

/// Latency percentiles in milliseconds (`null` when nothing was measured).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyFigures {
    pub accept: Option<Percentiles>,
    pub submit_to_terminal: Option<Percentiles>,
    pub submit_to_confirmed: Option<Percentiles>,
    pub submit_to_failed: Option<Percentiles>,
    pub worker_to_client: Option<Percentiles>,
    pub send_lag: Option<Percentiles>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// Milliseconds from a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Some(Self {
            count: h.len(),
            min: ms(h.min()),
            mean: (h.mean()).round() / 1000.0,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFigures {
    pub submit: BTreeMap<String, u64>,
    pub follow: BTreeMap<String, u64>,
    pub order_failures: BTreeMap<String, u64>,
    pub samples: BTreeMap<String, String>,
}

fn secs(from: Instant, to: Instant) -> f64 {
    round3(to.saturating_duration_since(from).as_secs_f64())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `count` over the window from `from` to `to`, when the window is not empty.
fn rate(count: u64, from: Instant, to: Option<Instant>) -> (Option<f64>, Option<f64>) {
    match to {
        Some(to) if to > from => {
            let window = to.duration_since(from).as_secs_f64();
            (Some(round1(count as f64 / window)), Some(round3(window)))
        }
        _ => (None, None),
    }
}

impl Report {
    pub fn build(plan: &Plan, run: RunInfo, tally: &Tally) -> Self {
        let (target_rate, concurrency) = match plan.model {
            Model::Open(rate) => (Some(rate.per_second()), None),
            Model::Closed(c) => (None, Some(c)),
        };
        let w = &tally.window;
        let achieved_rate = match (plan.model, w.first_send, w.last_send) {
            // Open loop: the spacing of the sends, to compare with the target.
            (Model::Open(_), Some(first), Some(last)) if w.sent > 1 && last > first => {
                Some(round1((w.sent - 1) as f64 / last.duration_since(first).as_secs_f64()))
            }
            // Closed loop: what the clients managed while submitting.
            (Model::Closed(_), _, _) => rate(w.sent, run.measure_from, Some(run.submit_ended)).0,
            _ => None,
        };
        // Accepting lasts at least as long as submitting, so a run that stalls
        // does not read as a burst.
        let accept_end = w.last_accept.map(|last| last.max(run.submit_ended));
        let (accepted_per_sec, accept_window_secs) = rate(w.accepted, run.measure_from, accept_end);
        let (terminal_per_sec, terminal_window_secs) = rate(w.terminal, run.measure_from, w.last_terminal);
        let (confirmed_per_sec, _) = rate(w.confirmed, run.measure_from, w.last_terminal);
        let f = &tally.findings;
        let o = &tally.orders;
        let l = &tally.latency;
        Self {
            tool: "oee-bench load",
            version: env!("CARGO_PKG_VERSION"),
            label: plan.label.clone(),
            command: run.command,
            started_at: run.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            config: Config {
                urls: plan.targets.iter().map(|t| t.base.clone()).collect(),
                transport: plan.transport.name(),
                connections: (plan.transport == super::args::Transport::Ws).then_some(plan.connections),
                http_connections: (plan.transport == super::args::Transport::Http).then_some(plan.http_connections),
                model: if target_rate.is_some() { "open" } else { "closed" },
                target_rate,
                concurrency,
                count: plan.count,
                duration_secs: plan.duration.map(|d| d.as_secs_f64()),
                warmup_secs: plan.warmup.as_secs_f64(),
                timeout_secs: plan.timeout.as_secs_f64(),
                follow: plan.follow.to_string(),
                pairs: plan.mix.names(),
                slippage_bps: plan.slippage_bps,
                max_in_flight: plan.max_in_flight,
            },
            environment: run.environment,
            run: RunFigures {
                ended: run.ended,
                submit_secs: secs(run.origin, run.submit_ended),
                drain_secs: secs(run.submit_ended, run.finished),
                total_secs: secs(run.origin, run.finished),
                drain_timed_out: run.drain_timed_out,
                planned_orders: plan.planned_orders(),
                target_rate,
                achieved_rate,
            },
            orders: *o,
            throughput: Throughput {
                accepted_per_sec,
                terminal_per_sec,
                confirmed_per_sec,
                accept_window_secs,
                terminal_window_secs,
            },
            events: EventFigures {
                found: *f,
                reconnects: tally.reconnects,
                untracked: tally.untracked_events,
                clean: !f.any_loss(),
            },
            latency_ms: LatencyFigures {
                accept: Percentiles::of(&l.accept),
                submit_to_terminal: Percentiles::of(&l.to_terminal),
                submit_to_confirmed: Percentiles::of(&l.to_confirmed),
                submit_to_failed: Percentiles::of(&l.to_failed),
                worker_to_client: Percentiles::of(&l.worker_to_client),
                send_lag: Percentiles::of(&l.send_lag),
            },
            errors: ErrorFigures {
                submit: tally.errors.submit.clone(),
                follow: tally.errors.follow.clone(),
                order_failures: tally.errors.order_failures.clone(),
                samples: tally.errors.samples.clone(),
            },
            timeline: tally.timeline.clone(),
        }
    }

    /// The report as JSON (see `json`).
    pub fn json(&self) -> String {
        json::render(self)
    }

    /// The report as a Markdown section (see `markdown`).
    pub fn markdown(&self) -> String {
        markdown::render(self)
    }

    /// The report as a few lines for the terminal (see `summary`).
    pub fn summary(&self) -> String {
        summary::render(self)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::args::{Plan, tests::parse_plan};
    use super::super::stats::{Recorder, histogram};
    use super::super::{Job, sequence::SeqCheck};
    use super::*;
    use oee_client::frame::EventHead;
    use oee_domain::{FailureCode, OrderStatus};
    use std::time::Duration;

    pub(super) fn plan() -> Plan {
        parse_plan(&["--rate", "100", "--count", "3", "--label", "smoke"]).expect("valid plan")
    }

    /// A small run: three orders, two confirmed, one failed, one event lost.
    pub(super) fn report() -> Report {
        let origin = Instant::now();
        let recorder = Recorder::new(origin, Duration::ZERO);
        for index in 0..3u64 {
            let intended = origin + Duration::from_millis(10 * index);
            let job = Job { index, intended, follow: true, done: None, slot: None };
            recorder.sent(&job, intended);
            recorder.accepted(&job, intended + Duration::from_millis(2));
            let confirmed = index < 2;
            let event = EventHead {
                seq: 5,
                status: if confirmed { OrderStatus::Confirmed } else { OrderStatus::Failed },
                at: None,
                failure: (!confirmed).then_some(FailureCode::SlippageExceeded),
            };
            recorder.terminal(&job, intended + Duration::from_millis(40), &event);
            let mut check = SeqCheck::default();
            for seq in [1, 2, 3, 5] {
                check.observe(seq, seq == 5);
            }
            if index == 0 {
                check.observe(4, false);
            }
            recorder.stream_done(&check, false);
        }
        recorder.rejected("HTTP 503 UNAVAILABLE".into(), "{}".into());
        let end = origin + Duration::from_millis(60);
        let run = RunInfo {
            command: "oee-bench load --rate 100 --count 3".into(),
            started_at: chrono::Utc::now(),
            origin,
            measure_from: origin,
            submit_ended: origin + Duration::from_millis(20),
            finished: end,
            ended: Ended::Completed,
            drain_timed_out: false,
            environment: Environment { build: "debug", threads: 2, ..Environment::default() },
        };
        Report::build(&plan(), run, &recorder.take())
    }

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut h = histogram();
        for micros in 1..=1000u64 {
            h.record(micros * 10).expect("in range");
        }
        let p = Percentiles::of(&h).expect("not empty");
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 5.0).abs() < 0.01, "p50 {}", p.p50);
        assert!((p.p90 - 9.0).abs() < 0.01, "p90 {}", p.p90);
        assert!((p.p99 - 9.9).abs() < 0.01, "p99 {}", p.p99);
        assert!((p.p999 - 9.99).abs() < 0.01, "p999 {}", p.p999);
        assert!((p.max - 10.0).abs() < 0.01 && (p.min - 0.01).abs() < 0.001);
        assert!((p.mean - 5.005).abs() < 0.01, "mean {}", p.mean);
        assert_eq!(Percentiles::of(&histogram()), None);
    }
}
