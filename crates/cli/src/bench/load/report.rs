//! The run's report: built once from the tally, written as JSON, Markdown and a
//! short summary for the terminal.
//!
//! Rates are over the measured window, which starts when the warmup ends:
//! accepted/s up to the last accept reply, terminal/s and confirmed/s up to the
//! last terminal event, so a backlog the engine works off after the last
//! submit lowers terminal/s rather than hiding. The achieved send rate is
//! between the first and the last measured send.

use super::args::{Model, Plan};
use super::sequence::Findings;
use super::stats::{Orders, Second, Tally};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
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

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// The latency rows, in the order both renderings show them.
    fn latency_rows(&self) -> [(&'static str, Option<Percentiles>); 6] {
        let l = &self.latency_ms;
        [
            ("accept", l.accept),
            ("submit → terminal", l.submit_to_terminal),
            ("submit → confirmed", l.submit_to_confirmed),
            ("submit → failed", l.submit_to_failed),
            ("worker → client (per event)", l.worker_to_client),
            ("send lag (generator)", l.send_lag),
        ]
    }

    fn load_line(&self) -> String {
        let c = &self.config;
        let model = match (c.target_rate, c.concurrency) {
            (Some(rate), _) => format!("open loop at {}/s", number(rate)),
            (None, Some(n)) => format!("closed loop, concurrency {n}"),
            _ => String::new(),
        };
        let transport = match (c.connections, c.http_connections) {
            (Some(n), _) => format!("submit WebSocket ×{n}"),
            (None, Some(n)) => format!("HTTP (≤{n} connections)"),
            _ => c.transport.to_owned(),
        };
        let bound = match (c.count, c.duration_secs) {
            (Some(n), Some(d)) => format!("{n} orders or {d} s"),
            (Some(n), None) => format!("{n} orders"),
            (None, Some(d)) => format!("{d} s"),
            (None, None) => String::new(),
        };
        format!(
            "{model}, {bound}, {transport}, follow {}, {} pair(s), {} URL(s), {} build",
            c.follow,
            c.pairs.len(),
            c.urls.len(),
            self.environment.build
        )
    }

    /// The figures as a Markdown section.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let title = if self.label.is_empty() { "oee-bench load".to_owned() } else { self.label.clone() };
        let _ = writeln!(md, "### {title}\n");
        let _ = writeln!(md, "```sh\n{}\n```\n", self.command);
        let _ = writeln!(md, "{}; started {}.\n", self.load_line(), self.started_at);
        let (o, t, r, e) = (&self.orders, &self.throughput, &self.run, &self.events);
        let _ = writeln!(md, "| figure | value |\n|---|---|");
        let mut row = |name: &str, value: String| {
            let _ = writeln!(md, "| {name} | {value} |");
        };
        row("orders sent", sent_line(o.sent, r));
        row("accepted", format!("{} ({})", o.accepted, per_sec(t.accepted_per_sec)));
        row("confirmed / failed", format!("{} / {}", o.confirmed, o.failed));
        row("terminal/s (confirmed/s)", format!("{} ({})", opt(t.terminal_per_sec), opt(t.confirmed_per_sec)));
        row(
            "rejected / submit errors / unanswered",
            format!("{} / {} / {}", o.rejected, o.submit_errors, o.unanswered),
        );
        row(
            "followed / unfinished at timeout / stream broken",
            format!("{} / {} / {}", o.followed, o.unfinished, o.stream_broken),
        );
        row("events received", e.found.events.to_string());
        row(
            "lost / duplicated / out of order / after terminal / missing terminal",
            format!(
                "{} / {} / {} / {} / {}",
                e.found.lost,
                e.found.duplicated,
                e.found.out_of_order,
                e.found.after_terminal,
                e.found.missing_terminal
            ),
        );
        row("reconnects", e.reconnects.to_string());
        row("run", run_line(r));
        let _ =
            writeln!(md, "\n| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|");
        for (name, p) in self.latency_rows() {
            match p {
                Some(p) => {
                    let _ = writeln!(
                        md,
                        "| {name} | {} | {} | {} | {} | {} | {} |",
                        p.count,
                        ms(p.p50),
                        ms(p.p90),
                        ms(p.p99),
                        ms(p.p999),
                        ms(p.max)
                    );
                }
                None => {
                    let _ = writeln!(md, "| {name} | 0 | – | – | – | – | – |");
                }
            }
        }
        let errors = self.error_rows();
        if !errors.is_empty() {
            let _ = writeln!(md, "\n| error | count |\n|---|---|");
            for (kind, key, count) in errors {
                let _ = writeln!(md, "| {kind}: {key} | {count} |");
            }
        }
        md
    }

    fn error_rows(&self) -> Vec<(&'static str, &str, u64)> {
        let e = &self.errors;
        let groups: [(&'static str, &BTreeMap<String, u64>); 3] =
            [("submit", &e.submit), ("follow", &e.follow), ("order failed", &e.order_failures)];
        groups.into_iter().flat_map(|(kind, map)| map.iter().map(move |(k, &n)| (kind, k.as_str(), n))).collect()
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let (o, t, r, e) = (&self.orders, &self.throughput, &self.run, &self.events);
        let _ = writeln!(s, "{}", self.load_line());
        let _ = writeln!(s, "run       {}", run_line(r));
        let _ = writeln!(s, "sent      {}", sent_line(o.sent, r));
        let _ = writeln!(
            s,
            "accepted  {} ({}); rejected {}, submit errors {}, unanswered {}",
            o.accepted,
            per_sec(t.accepted_per_sec),
            o.rejected,
            o.submit_errors,
            o.unanswered
        );
        let _ = writeln!(
            s,
            "finished  {} confirmed, {} failed ({} terminal/s); followed {}, unfinished {}, stream broken {}",
            o.confirmed,
            o.failed,
            opt(t.terminal_per_sec),
            o.followed,
            o.unfinished,
            o.stream_broken
        );
        let _ = writeln!(
            s,
            "events    {} received; {} lost, {} duplicated, {} out of order, {} after terminal, {} missing terminal{}",
            e.found.events,
            e.found.lost,
            e.found.duplicated,
            e.found.out_of_order,
            e.found.after_terminal,
            e.found.missing_terminal,
            if e.clean { " — clean" } else { " — NOT CLEAN" }
        );
        let _ = writeln!(s, "latency (ms)                     count      p50      p90      p99    p99.9      max");
        for (name, p) in self.latency_rows() {
            if let Some(p) = p {
                let _ = writeln!(
                    s,
                    "  {name:<30} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8}",
                    p.count,
                    ms(p.p50),
                    ms(p.p90),
                    ms(p.p99),
                    ms(p.p999),
                    ms(p.max)
                );
            }
        }
        for (kind, key, count) in self.error_rows() {
            let _ = writeln!(s, "error     {kind}: {key} × {count}");
        }
        for warning in &self.environment.warnings {
            let _ = writeln!(s, "warning   {warning}");
        }
        s
    }
}

fn run_line(r: &RunFigures) -> String {
    let ended = match r.ended {
        Ended::Completed => "",
        Ended::Interrupted => "interrupted; ",
        Ended::Stalled => "stalled (no order finished within the timeout); ",
    };
    let drain = if r.drain_timed_out { " (timed out)" } else { "" };
    format!("{ended}{} s submitting, {} s draining{drain}", r.submit_secs, r.drain_secs)
}

fn sent_line(sent: u64, r: &RunFigures) -> String {
    let rate = match (r.achieved_rate, r.target_rate) {
        (Some(achieved), Some(target)) => format!(" at {}/s (target {}/s)", number(achieved), number(target)),
        (Some(achieved), None) => format!(" at {}/s", number(achieved)),
        _ => String::new(),
    };
    format!("{sent}{rate} over {} s", r.submit_secs)
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

fn per_sec(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{}/s", number(x)))
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), number)
}

/// Milliseconds with sensible precision.
fn ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2}")
    } else if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::{Plan, tests::parse_plan};
    use super::super::stats::{Recorder, histogram};
    use super::super::{Job, sequence::SeqCheck, wire::Event};
    use super::*;
    use std::time::Duration;

    fn plan() -> Plan {
        parse_plan(&["--rate", "100", "--count", "3", "--label", "smoke"]).expect("valid plan")
    }

    /// A small run: three orders, two confirmed, one failed, one event lost.
    fn report() -> Report {
        let origin = Instant::now();
        let recorder = Recorder::new(origin, Duration::ZERO);
        for index in 0..3u64 {
            let intended = origin + Duration::from_millis(10 * index);
            let job = Job { index, intended, follow: true, done: None, slot: None };
            recorder.sent(&job, intended);
            recorder.accepted(&job, intended + Duration::from_millis(2));
            let confirmed = index < 2;
            let event = Event {
                seq: 5,
                terminal: true,
                confirmed,
                at_ms: None,
                failure: (!confirmed).then_some("SLIPPAGE_EXCEEDED"),
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

    #[test]
    fn the_json_report_has_the_documented_keys() {
        let json: serde_json::Value = serde_json::from_str(&report().json()).expect("valid JSON");
        for key in [
            "tool",
            "version",
            "label",
            "command",
            "startedAt",
            "config",
            "environment",
            "run",
            "orders",
            "throughput",
            "events",
            "latencyMs",
            "errors",
            "timeline",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["label"], "smoke");
        assert_eq!(json["config"]["model"], "open");
        assert_eq!(json["config"]["targetRate"], 100.0);
        assert_eq!(json["config"]["pairs"].as_array().map(Vec::len), Some(12));
        assert_eq!(json["orders"]["sent"], 3);
        assert_eq!(json["orders"]["confirmed"], 2);
        assert_eq!(json["orders"]["failed"], 1);
        assert_eq!(json["orders"]["rejected"], 1);
        assert_eq!(json["events"]["received"], 13);
        assert_eq!(json["events"]["lost"], 2);
        assert_eq!(json["events"]["outOfOrder"], 1);
        assert_eq!(json["events"]["clean"], false);
        let mut keys: Vec<&str> = json["events"].as_object().expect("events").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "afterTerminal",
                "clean",
                "duplicated",
                "invalid",
                "lost",
                "missingTerminal",
                "outOfOrder",
                "received",
                "reconnects",
                "untracked"
            ]
        );
        let mut order_keys: Vec<&str> =
            json["orders"].as_object().expect("orders").keys().map(String::as_str).collect();
        order_keys.sort_unstable();
        assert_eq!(
            order_keys,
            [
                "accepted",
                "confirmed",
                "failed",
                "followed",
                "rejected",
                "sent",
                "streamBroken",
                "submitErrors",
                "unanswered",
                "unfinished",
                "warmup"
            ]
        );
        assert_eq!(json["run"]["ended"], "completed");
        assert_eq!(json["run"]["achievedRate"], 100.0);
        for key in ["accept", "submitToTerminal", "submitToConfirmed", "submitToFailed", "workerToClient", "sendLag"] {
            assert!(json["latencyMs"].get(key).is_some(), "missing latencyMs.{key}");
        }
        assert!(json["latencyMs"]["workerToClient"].is_null());
        for key in ["count", "min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(json["latencyMs"]["accept"].get(key).is_some(), "missing percentile {key}");
        }
        assert_eq!(json["latencyMs"]["submitToFailed"]["count"], 1);
        assert_eq!(json["errors"]["submit"]["HTTP 503 UNAVAILABLE"], 1);
        assert_eq!(json["errors"]["orderFailures"]["SLIPPAGE_EXCEEDED"], 1);
        let second = &json["timeline"][0];
        for key in ["second", "sent", "accepted", "confirmed", "failed", "errors"] {
            assert!(second.get(key).is_some(), "missing timeline.{key}");
        }
        assert_eq!(second["sent"], 3);
    }

    #[test]
    fn the_markdown_report_has_its_tables() {
        let md = report().markdown();
        assert!(md.starts_with("### smoke\n"));
        assert!(md.contains("| figure | value |\n|---|---|\n"));
        assert!(md.contains("| confirmed / failed | 2 / 1 |"));
        assert!(
            md.contains("| lost / duplicated / out of order / after terminal / missing terminal | 2 / 0 / 1 / 1 / 0 |")
        );
        assert!(md.contains("| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |"));
        assert!(md.contains("| accept | 3 | 2.00 | 2.00 | 2.00 | 2.00 | 2.00 |"), "{md}");
        assert!(md.contains("| worker → client (per event) | 0 | – | – | – | – | – |"));
        assert!(md.contains("| submit: HTTP 503 UNAVAILABLE | 1 |"));
        assert!(md.contains("| order failed: SLIPPAGE_EXCEEDED | 1 |"));
        // Every table row has as many cells as its header.
        for line in md.lines().filter(|l| l.starts_with("| accept |") || l.starts_with("| submit →")) {
            assert_eq!(line.matches('|').count(), 8, "{line}");
        }
    }

    #[test]
    fn the_summary_flags_loss() {
        let summary = report().summary();
        assert!(summary.contains("2 lost"));
        assert!(summary.contains("NOT CLEAN"));
        assert!(summary.contains("accepted  3 ("));
    }
}
