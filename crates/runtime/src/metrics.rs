//! What both binaries' `/metrics` share: the registry, the latency buckets,
//! process gauges and the exposition. Each binary keeps its own metrics in one
//! static registry (`oee_api::metrics`, `oee_worker::metrics`), so recording is an
//! atomic add wherever it happens and nothing has to be threaded through the
//! call graph.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};
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

/// A prometheus-client registry that also keeps the name and type of every
/// metric registered in it, for `oee-api metrics --list` and `oee-worker metrics
/// --list` (what scripts/check-deploy checks the dashboard against).
/// prometheus-client cannot enumerate a registry, and its exposition leaves out
/// a labelled family until it has a series, so the list cannot be read off
/// `/metrics`. The inner registry is private: registering here is the only way
/// in, so the list and the exposition cannot disagree.
#[derive(Debug, Default)]
pub struct MetricRegistry {
    registry: Registry,
    /// Family names as exposed (unit suffix included) and their types, in order.
    families: Vec<(String, MetricType)>,
}

impl MetricRegistry {
    /// Registers `metric` as `name` (see [`Registry::register`]).
    pub fn register(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.families.push((name.to_owned(), metric.metric_type()));
        self.registry.register(name, help, metric);
    }

    /// Registers `metric` as `name_<unit>` (see [`Registry::register_with_unit`]).
    pub fn register_with_unit(&mut self, name: &str, help: &str, unit: Unit, metric: impl Metric) {
        self.families.push((format!("{name}_{}", unit.as_str()), metric.metric_type()));
        self.registry.register_with_unit(name, help, unit, metric);
    }

    /// The exposition (OpenMetrics text).
    pub fn render(&self) -> String {
        render(&self.registry)
    }

    /// Every sample name the exposition can hold, in registration order: what a
    /// PromQL query names. A counter `x` is `x_total`; a histogram `x` is
    /// `x_bucket`, `x_sum` and `x_count`; an info `x` is `x_info`; a gauge is its
    /// name. A unit is part of the name (`process_resident_memory_bytes`).
    pub fn series_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (name, kind) in &self.families {
            let suffixes: &[&str] = match kind {
                MetricType::Counter => &["_total"],
                MetricType::Histogram => &["_bucket", "_sum", "_count"],
                MetricType::Info => &["_info"],
                MetricType::Gauge | MetricType::Unknown => &[""],
            };
            names.extend(suffixes.iter().map(|suffix| format!("{name}{suffix}")));
        }
        names
    }
}

/// `--help` of `oee-api metrics --list` and `oee-worker metrics --list`.
pub const LIST_HELP: &str = "\
Print the name of every series /metrics can expose, one per line, and exit.
Names are as a PromQL query writes them: a counter x is printed as x_total; a
histogram x as x_bucket, x_sum and x_count; a gauge as x. A unit is part of
the name (process_resident_memory_bytes). Labels are not printed; every name
appears once.

The list is read from the registry /metrics is served from, so a family with
no series yet is listed too. Needs no configuration, database or Redis.
scripts/check-deploy checks the Grafana dashboard's queries against it.";

/// What `metrics --list` prints: one name a line on stdout (a reader that
/// stops early, such as `head`, is not an error).
/// What is wrong between a `--list` and an exposition: names listed twice, and
/// series the exposition writes that the list lacks (empty when they agree).
pub fn list_mismatches(names: &[String], exposition: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut wrong: Vec<String> =
        names.iter().filter(|n| !seen.insert(n.as_str())).map(|n| format!("{n} listed twice")).collect();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let sample = line.split([' ', '{']).next().unwrap_or_default();
        if !sample.is_empty() && !seen.contains(sample) {
            wrong.push(format!("{sample} is exposed but not listed"));
        }
    }
    wrong
}

pub fn print_names(names: &[String]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = names.iter().try_for_each(|name| writeln!(out, "{name}")).and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::new(e).context("writing to stdout")),
        _ => Ok(()),
    }
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
    pub fn register(registry: &mut MetricRegistry) -> Self {
        let gauges = Self::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            gauges.resident.clone(),
        );
        registry.register_with_unit(
            "process_virtual_memory",
            "Virtual memory size",
            Unit::Bytes,
            gauges.virtual_memory.clone(),
        );
        registry.register_with_unit("process_cpu", "User and system CPU time spent", Unit::Seconds, gauges.cpu.clone());
        registry.register("process_threads", "OS threads", gauges.threads.clone());
        registry.register("process_open_fds", "Open file descriptors", gauges.open_fds.clone());
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Unit::Seconds,
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
fn render(registry: &Registry) -> String {
    let mut out = String::with_capacity(16 * 1024);
    encode(&mut out, registry).expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::info::Info;
    use std::collections::BTreeSet;

    #[test]
    fn renders_process_gauges_and_counters() {
        let mut registry = MetricRegistry::default();
        let process = ProcessGauges::register(&mut registry);
        let counter: Counter = Counter::default();
        registry.register("oee_things", "Things", counter.clone());
        counter.inc_by(3);
        process.refresh();
        let text = registry.render();
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
        let mut registry = MetricRegistry::default();
        registry.register("oee_latency_seconds", "Latency", h);
        let text = registry.render();
        assert!(text.contains(r#"le="0.00025""#), "{text}");
        assert!(text.contains(r#"le="32.768""#), "{text}");
        assert!(text.contains("oee_latency_seconds_count 2"), "{text}");
    }

    /// The sample names in an exposition (`name{labels} value` or `name value`).
    fn samples(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split([' ', '{']).next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn series_names_are_the_sample_names_the_exposition_writes() {
        #[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
        struct Kind {
            kind: &'static str,
        }
        let mut registry = MetricRegistry::default();
        let family: Family<Kind, Counter> = Family::default();
        let histograms: Family<Kind, Histogram, fn() -> Histogram> = Family::new_with_constructor(latency_histogram);
        registry.register("a_counter", "A", Counter::<u64>::default());
        registry.register_with_unit("a_timer", "B", Unit::Seconds, Counter::<f64, AtomicU64>::default());
        registry.register("a_gauge", "C", Gauge::<i64>::default());
        registry.register("a_histogram_seconds", "D", latency_histogram());
        registry.register("a_family", "E", family.clone());
        registry.register("histograms_seconds", "F", histograms.clone());
        registry.register("build", "G", Info::new(vec![("version", "1")]));
        ProcessGauges::register(&mut registry);
        // An empty family is left out of the exposition, but not out of the list.
        assert!(!samples(&registry.render()).contains("a_family_total"));
        family.get_or_create(&Kind { kind: "x" }).inc();
        histograms.get_or_create(&Kind { kind: "x" }).observe(1.0);

        let names = registry.series_names();
        assert_eq!(samples(&registry.render()), names.iter().cloned().collect::<BTreeSet<_>>());
        assert!(names.contains(&"a_timer_seconds_total".to_owned()), "{names:?}");
        assert!(names.contains(&"histograms_seconds_bucket".to_owned()), "{names:?}");
        assert!(names.contains(&"build_info".to_owned()), "{names:?}");
        assert!(names.contains(&"process_resident_memory_bytes".to_owned()), "{names:?}");
    }
}
