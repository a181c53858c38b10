//! The report as a Markdown section: a table of figures, one of latencies,
//! and one of errors when there were any.

use super::Report;
use super::text::{error_rows, latency_rows, load_line, ms, opt, per_sec, run_line, sent_line};
use std::fmt::Write as _;

/// The figures as a Markdown section.
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let title = if report.label.is_empty() { "oee-bench load".to_owned() } else { report.label.clone() };
    let _ = writeln!(md, "### {title}\n");
    let _ = writeln!(md, "```sh\n{}\n```\n", report.command);
    let _ = writeln!(md, "{}; started {}.\n", load_line(report), report.started_at);
    let (o, t, r, e) = (&report.orders, &report.throughput, &report.run, &report.events);
    let _ = writeln!(md, "| figure | value |\n|---|---|");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(md, "| {name} | {value} |");
    };
    row("orders sent", sent_line(o.sent, r));
    row("accepted", format!("{} ({})", o.accepted, per_sec(t.accepted_per_sec)));
    row("confirmed / failed", format!("{} / {}", o.confirmed, o.failed));
    row("terminal/s (confirmed/s)", format!("{} ({})", opt(t.terminal_per_sec), opt(t.confirmed_per_sec)));
    row("rejected / submit errors / unanswered", format!("{} / {} / {}", o.rejected, o.submit_errors, o.unanswered));
    row(
        "followed / unfinished at timeout / stream broken",
        format!("{} / {} / {}", o.followed, o.unfinished, o.stream_broken),
    );
    row("events received", e.found.events.to_string());
    row(
        "lost / duplicated / out of order / after terminal / missing terminal",
        format!(
            "{} / {} / {} / {} / {}",
            e.found.lost, e.found.duplicated, e.found.out_of_order, e.found.after_terminal, e.found.missing_terminal
        ),
    );
    row("reconnects", e.reconnects.to_string());
    row("run", run_line(r));
    let _ = writeln!(md, "\n| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|");
    for (name, p) in latency_rows(report) {
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
    let errors = error_rows(report);
    if !errors.is_empty() {
        let _ = writeln!(md, "\n| error | count |\n|---|---|");
        for (kind, key, count) in errors {
            let _ = writeln!(md, "| {kind}: {key} | {count} |");
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;

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
}
