//! Phrasing shared by the Markdown and the terminal summary: the load line,
//! the run and send lines, the latency and error rows, and number formats.

use super::{Ended, Percentiles, Report, RunFigures};
use std::collections::BTreeMap;

/// The latency rows, in the order both renderings show them.
pub fn latency_rows(report: &Report) -> [(&'static str, Option<Percentiles>); 6] {
    let l = &report.latency_ms;
    [
        ("accept", l.accept),
        ("submit → terminal", l.submit_to_terminal),
        ("submit → confirmed", l.submit_to_confirmed),
        ("submit → failed", l.submit_to_failed),
        ("worker → client (per event)", l.worker_to_client),
        ("send lag (generator)", l.send_lag),
    ]
}

pub fn load_line(report: &Report) -> String {
    let c = &report.config;
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
        report.environment.build
    )
}

pub fn error_rows(report: &Report) -> Vec<(&'static str, &str, u64)> {
    let e = &report.errors;
    let groups: [(&'static str, &BTreeMap<String, u64>); 3] =
        [("submit", &e.submit), ("follow", &e.follow), ("order failed", &e.order_failures)];
    groups.into_iter().flat_map(|(kind, map)| map.iter().map(move |(k, &n)| (kind, k.as_str(), n))).collect()
}

pub fn run_line(r: &RunFigures) -> String {
    let ended = match r.ended {
        Ended::Completed => "",
        Ended::Interrupted => "interrupted; ",
        Ended::Stalled => "stalled (no order finished within the timeout); ",
    };
    let drain = if r.drain_timed_out { " (timed out)" } else { "" };
    format!("{ended}{} s submitting, {} s draining{drain}", r.submit_secs, r.drain_secs)
}

pub fn sent_line(sent: u64, r: &RunFigures) -> String {
    let rate = match (r.achieved_rate, r.target_rate) {
        (Some(achieved), Some(target)) => format!(" at {}/s (target {}/s)", number(achieved), number(target)),
        (Some(achieved), None) => format!(" at {}/s", number(achieved)),
        _ => String::new(),
    };
    format!("{sent}{rate} over {} s", r.submit_secs)
}

pub fn number(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

pub fn per_sec(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{}/s", number(x)))
}

pub fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), number)
}

/// Milliseconds with sensible precision.
pub fn ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2}")
    } else if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}
