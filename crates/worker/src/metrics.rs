//! The worker's metrics, served at `GET /metrics` on `OEE_METRICS_ADDR`. Names
//! and meanings are listed in docs/OPERATIONS.md.

pub use oee_runtime::metrics::CodeLabel;
use oee_runtime::metrics::{MetricRegistry, ProcessGauges, latency_histogram};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use std::sync::LazyLock;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FinishedLabels {
    pub status: &'static str,
    /// The failure code; empty when confirmed.
    pub code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric `oee-worker` exports.
#[derive(Debug)]
pub struct WorkerMetrics {
    registry: MetricRegistry,
    process: ProcessGauges,
    pub finished: Family<FinishedLabels, Counter>,
    /// Accepted to first picked up by a worker.
    pub queue_wait: Histogram,
    /// Quoting both venues and choosing a route, per attempt.
    pub routing: Histogram,
    /// Building, sending and landing the transaction, per attempt.
    pub execution: Histogram,
    /// Accepted to terminal, by terminal status.
    pub order_duration: Histograms<StatusLabel>,
    /// Attempts that failed transiently and were retried, by failure code.
    pub retries: Family<CodeLabel, Counter>,
    /// Jobs taken over from an idle consumer.
    pub reclaims: Counter,
    pub dead_letters: Family<ReasonLabel, Counter>,
    /// Orders the sweeper re-queued because their job was lost.
    pub requeued: Counter,
    pub in_flight: Gauge,
    /// Outside trades the market simulator landed from this worker.
    pub sim_trades: Counter,
    /// Landed transactions whose pool changes could not be appended to the
    /// pool-change stream.
    pub pool_changes_lost: Counter,
    pub stream_length: Gauge,
    pub stream_pending: Gauge,
    pub stream_lag: Gauge,
    pub dead_letter_length: Gauge,
    /// Limit orders resting in this worker's books.
    pub resting: Gauge,
    /// Loading a pair's books when taking it over.
    pub book_rebuild: Histogram,
    /// Evaluating one pair's books against its pools.
    pub book_evaluation: Histogram,
    /// Limit orders this worker fired.
    pub triggered: Counter,
    /// Limit orders this worker expired.
    pub expired: Counter,
}

impl WorkerMetrics {
    fn new() -> Self {
        let mut registry = MetricRegistry::default();
        let process = ProcessGauges::register(&mut registry);
        let m = Self {
            registry: MetricRegistry::default(),
            process,
            finished: Family::default(),
            queue_wait: latency_histogram(),
            routing: latency_histogram(),
            execution: latency_histogram(),
            order_duration: Family::new_with_constructor(latency_histogram),
            retries: Family::default(),
            reclaims: Counter::default(),
            dead_letters: Family::default(),
            requeued: Counter::default(),
            in_flight: Gauge::default(),
            sim_trades: Counter::default(),
            pool_changes_lost: Counter::default(),
            stream_length: Gauge::default(),
            stream_pending: Gauge::default(),
            stream_lag: Gauge::default(),
            dead_letter_length: Gauge::default(),
            resting: Gauge::default(),
            book_rebuild: latency_histogram(),
            book_evaluation: latency_histogram(),
            triggered: Counter::default(),
            expired: Counter::default(),
        };
        let r = &mut registry;
        r.register(
            "oee_orders_finished",
            "Orders that reached a terminal status, by status and failure code",
            m.finished.clone(),
        );
        r.register(
            "oee_queue_wait_seconds",
            "Time from acceptance to a worker picking the order up",
            m.queue_wait.clone(),
        );
        r.register(
            "oee_routing_duration_seconds",
            "Time to quote both venues and choose a route, per attempt",
            m.routing.clone(),
        );
        r.register(
            "oee_execution_duration_seconds",
            "Time to build, send and land a transaction, per attempt",
            m.execution.clone(),
        );
        r.register(
            "oee_order_duration_seconds",
            "Time from acceptance to the terminal event, by status",
            m.order_duration.clone(),
        );
        r.register(
            "oee_retries",
            "Attempts that failed transiently and were retried, by failure code",
            m.retries.clone(),
        );
        r.register("oee_reclaims", "Jobs taken over from an idle or dead consumer", m.reclaims.clone());
        r.register("oee_dead_letters", "Jobs moved to the dead-letter stream, by reason", m.dead_letters.clone());
        r.register("oee_requeued", "Orders re-queued by the sweeper because their job was lost", m.requeued.clone());
        r.register("oee_resting_orders", "Limit orders resting in this worker's books", m.resting.clone());
        r.register(
            "oee_book_rebuild_seconds",
            "Time to load a pair's limit-order books from PostgreSQL on taking it over",
            m.book_rebuild.clone(),
        );
        r.register(
            "oee_book_evaluation_seconds",
            "Time to evaluate one pair's limit-order books against its pools",
            m.book_evaluation.clone(),
        );
        r.register("oee_limit_triggered", "Limit orders this worker fired", m.triggered.clone());
        r.register("oee_limit_expired", "Limit orders this worker expired", m.expired.clone());
        r.register("oee_jobs_in_flight", "Orders this worker is executing now", m.in_flight.clone());
        r.register(
            "oee_sim_trades",
            "Outside trades the market simulator landed from this worker",
            m.sim_trades.clone(),
        );
        r.register(
            "oee_pool_changes_lost",
            "Landed transactions whose pool changes could not be appended to the pool-change stream",
            m.pool_changes_lost.clone(),
        );
        r.register("oee_stream_length", "Entries in the job stream (sampled)", m.stream_length.clone());
        r.register("oee_stream_pending", "Jobs delivered but not yet acknowledged (sampled)", m.stream_pending.clone());
        r.register("oee_stream_lag", "Jobs not yet delivered to any worker (sampled)", m.stream_lag.clone());
        r.register(
            "oee_dead_letter_length",
            "Entries in the dead-letter stream (sampled)",
            m.dead_letter_length.clone(),
        );
        Self { registry, ..m }
    }

    /// The exposition, with process gauges read now.
    pub fn render(&self) -> String {
        self.process.refresh();
        self.registry.render()
    }

    /// Every sample name `/metrics` can hold, one per metric type's suffix
    /// (`oee-worker metrics --list`; see [`MetricRegistry::series_names`]).
    pub fn series_names(&self) -> Vec<String> {
        self.registry.series_names()
    }

    /// Counts an order that ended, by status and failure code, and times it.
    pub fn order_ended(&self, status: &'static str, code: &'static str, since_accepted: f64) {
        self.finished.get_or_create(&FinishedLabels { status, code }).inc();
        self.order_duration.get_or_create(&StatusLabel { status }).observe(since_accepted);
    }
}

/// This process's metrics.
pub static METRICS: LazyLock<WorkerMetrics> = LazyLock::new(WorkerMetrics::new);

/// Counts a job in flight for as long as it lives.
#[derive(Debug)]
pub struct InFlight(());

impl InFlight {
    pub fn start() -> Self {
        METRICS.in_flight.inc();
        Self(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        METRICS.in_flight.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_list_holds_every_series_the_exposition_writes_once() {
        let m = WorkerMetrics::new();
        m.order_ended("confirmed", "", 1.0);
        m.retries.get_or_create(&CodeLabel { code: "slippage" }).inc();
        m.dead_letters.get_or_create(&ReasonLabel { reason: "no_order" }).inc();
        let names = m.series_names();
        let wrong = oee_runtime::metrics::list_mismatches(&names, &m.render());
        assert!(wrong.is_empty(), "{wrong:?}");
        let unique: BTreeSet<&String> = names.iter().collect();
        for known in ["oee_orders_finished_total", "oee_order_duration_seconds_bucket", "oee_stream_lag"] {
            assert!(unique.contains(&known.to_owned()), "{known} missing: {names:?}");
        }
        assert_eq!(names, METRICS.series_names(), "the process's registry is built the same way");
    }
}
