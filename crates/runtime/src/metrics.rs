//! What both binaries' `/metrics` share: the latency buckets, process gauges and
//! the exposition. Each binary keeps its own metrics in one static registry
//! (`oee_api::metrics`, `oee_worker::metrics`), so recording is an atomic add
//! wherever it happens and nothing has to be threaded through the call graph.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// OpenMetrics text, which Prometheus asks for when it scrapes.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format, for everyone else (curl, older scrapers).
/// The body is the same: OpenMetrics text reads as valid Prometheus text (its
/// `# EOF` and `# UNIT` lines are comments there).
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type to answer a scrape with, given its `Accept` header.
pub fn content_type(accept: Option<&str>) -> &'static str {
    if accept.is_some_and(|a| a.contains("application/openmetrics-text")) { OPENMETRICS } else { PROMETHEUS_TEXT }
}

/// The label of series counted by error or failure code (both binaries use it).
#[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct CodeLabel {
    pub code: &'static str,
}

/// Latency buckets from 250 µs to ~33 s, doubling: fine enough for the
/// millisecond paths (accept, fan-out) and wide enough for realistic swaps.
pub fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 18))
}

/// Seconds of a duration, for histograms.
pub fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Seconds between `start` and now (0 if the clock says `start` is in the future).
pub fn seconds_since(start: chrono::DateTime<chrono::Utc>) -> f64 {
    (chrono::Utc::now() - start).to_std().map_or(0.0, |d| d.as_secs_f64())
}

/// The process's own gauges, read from `/proc` at each scrape.
#[derive(Debug, Default)]
pub struct ProcessGauges {
    resident: Gauge,
    virtual_memory: Gauge,
    cpu: Gauge<f64, AtomicU64>,
    threads: Gauge,
    open_fds: Gauge,
    start_time: Gauge,
}

impl ProcessGauges {
    /// Registers the gauges under their conventional `process_*` names.
    pub fn register(registry: &mut Registry) -> Self {
        let gauges = Self::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            prometheus_client::registry::Unit::Bytes,
            gauges.resident.clone(),
        );
        registry.register_with_unit(
            "process_virtual_memory",
            "Virtual memory size",
            prometheus_client::registry::Unit::Bytes,
            gauges.virtual_memory.clone(),
        );
        registry.register_with_unit(
            "process_cpu",
            "User and system CPU time spent",
            prometheus_client::registry::Unit::Seconds,
            gauges.cpu.clone(),
        );
        registry.register("process_threads", "OS threads", gauges.threads.clone());
        registry.register("process_open_fds", "Open file descriptors", gauges.open_fds.clone());
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            prometheus_client::registry::Unit::Seconds,
            gauges.start_time.clone(),
        );
        gauges
    }

    /// Reads `/proc/self`; leaves a gauge as it was when a file cannot be read.
    pub fn refresh(&self) {
        let page = 4096_i64;
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            let mut fields = statm.split_whitespace().map(|f| f.parse::<i64>().unwrap_or(0));
            if let (Some(size), Some(rss)) = (fields.next(), fields.next()) {
                self.virtual_memory.set(size * page);
                self.resident.set(rss * page);
            }
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
            && let Some((_, rest)) = stat.rsplit_once(')')
        {
            // Fields after the command name, counted from 3 (`state`).
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
            let ticks = 100.0; // USER_HZ on Linux
            if let (Some(utime), Some(stime)) = (field(14), field(15)) {
                #[allow(clippy::cast_precision_loss)]
                self.cpu.set((utime + stime) as f64 / ticks);
            }
            if let Some(threads) = field(20) {
                self.threads.set(i64::try_from(threads).unwrap_or(i64::MAX));
            }
            if let (Some(start), Some(boot)) = (field(22), boot_time()) {
                self.start_time.set(i64::try_from(boot + start / 100).unwrap_or(0));
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(i64::try_from(fds.count()).unwrap_or(i64::MAX));
        }
    }
}

fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// Encodes a registry as OpenMetrics text.
pub fn render(registry: &Registry) -> String {
    let mut out = String::with_capacity(16 * 1024);
    encode(&mut out, registry).expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[test]
    fn renders_process_gauges_and_counters() {
        let mut registry = Registry::default();
        let process = ProcessGauges::register(&mut registry);
        let counter: Counter = Counter::default();
        registry.register("oee_things", "Things", counter.clone());
        counter.inc_by(3);
        process.refresh();
        let text = render(&registry);
        assert!(text.contains("oee_things_total 3"), "{text}");
        let rss = text
            .lines()
            .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
            .and_then(|v| v.parse::<i64>().ok())
            .expect("rss");
        assert!(rss > 1024 * 1024, "a test process uses more than 1 MiB: {rss}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn scrapers_asking_for_openmetrics_get_it_and_others_prometheus_text() {
        let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(content_type(Some(prometheus)), OPENMETRICS);
        assert_eq!(content_type(Some("*/*")), PROMETHEUS_TEXT);
        assert_eq!(content_type(None), PROMETHEUS_TEXT);
    }

    #[test]
    fn buckets_span_sub_millisecond_to_half_a_minute() {
        let h = latency_histogram();
        h.observe(0.0001);
        h.observe(30.0);
        let mut registry = Registry::default();
        registry.register("oee_latency_seconds", "Latency", h);
        let text = render(&registry);
        assert!(text.contains(r#"le="0.00025""#), "{text}");
        assert!(text.contains(r#"le="32.768""#), "{text}");
        assert!(text.contains("oee_latency_seconds_count 2"), "{text}");
    }
}
