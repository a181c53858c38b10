//! The report as a few lines for the terminal, aligned for reading at a glance.

use super::Report;
use super::text::{error_rows, latency_rows, load_line, ms, opt, per_sec, run_line, sent_line};
use std::fmt::Write as _;

/// A few lines for the terminal.
pub fn render(report: &Report) -> String {
    let mut s = String::new();
    let (o, t, r, e) = (&report.orders, &report.throughput, &report.run, &report.events);
    let _ = writeln!(s, "{}", load_line(report));
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
    for (name, p) in latency_rows(report) {
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
    for (kind, key, count) in error_rows(report) {
        let _ = writeln!(s, "error     {kind}: {key} × {count}");
    }
    for warning in &report.environment.warnings {
        let _ = writeln!(s, "warning   {warning}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;

    #[test]
    fn the_summary_flags_loss() {
        let summary = report().summary();
        assert!(summary.contains("2 lost"));
        assert!(summary.contains("NOT CLEAN"));
        assert!(summary.contains("accepted  3 ("));
    }
}
