//! The API's metrics, served at `GET /metrics`. Names and meanings are listed in
//! docs/OPERATIONS.md; the Grafana dashboard in deploy/grafana reads them.

pub use oee_runtime::metrics::CodeLabel;
use oee_runtime::metrics::{MetricRegistry, ProcessGauges, latency_histogram};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use std::sync::LazyLock;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabel {
    pub store: &'static str,
}

/// Every metric `oee-api` exports.
#[derive(Debug)]
pub struct ApiMetrics {
    registry: MetricRegistry,
    process: ProcessGauges,
    /// Orders created (an idempotent repeat is not counted again).
    pub accepted: Family<ChannelLabel, Counter>,
    /// Submissions refused, by error code.
    pub rejected: Family<CodeLabel, Counter>,
    pub requests: Family<RequestLabels, Counter>,
    /// Submit latency as the server sees it: request in → response out.
    pub accept_latency: Histogram,
    pub sockets: Family<KindLabel, Gauge>,
    /// Event frames written to sockets.
    pub events_sent: Counter,
    /// Sockets closed with 1013 because the client did not keep up.
    pub slow_closes: Counter,
    /// An event's timestamp to its arrival at this replica's subscriber.
    pub pubsub_delay: Histogram,
    /// Requests answered 503 because a store was down.
    pub store_unavailable: Family<StoreLabel, Counter>,
    /// Outside trades (`POST /api/admin/sim/trades`) whose pool changes could
    /// not be appended to the pool-change stream.
    pub pool_changes_lost: Counter,
}

impl ApiMetrics {
    fn new() -> Self {
        let mut registry = MetricRegistry::default();
        let process = ProcessGauges::register(&mut registry);
        let m = Self {
            process,
            accepted: Family::default(),
            rejected: Family::default(),
            requests: Family::default(),
            accept_latency: latency_histogram(),
            sockets: Family::default(),
            events_sent: Counter::default(),
            slow_closes: Counter::default(),
            pubsub_delay: latency_histogram(),
            store_unavailable: Family::default(),
            pool_changes_lost: Counter::default(),
            registry: MetricRegistry::default(),
        };
        registry.register("oee_orders_accepted", "Orders accepted, by channel", m.accepted.clone());
        registry.register("oee_orders_rejected", "Order submissions refused, by error code", m.rejected.clone());
        registry.register("oee_http_requests", "HTTP requests, by method, route and status", m.requests.clone());
        registry.register(
            "oee_accept_duration_seconds",
            "Time to accept an order: request received to response sent",
            m.accept_latency.clone(),
        );
        registry.register("oee_ws_sockets_open", "Open WebSockets, by kind (follow, submit)", m.sockets.clone());
        registry.register(
            "oee_ws_events_sent",
            "Frames (status events and submit replies) written to WebSockets",
            m.events_sent.clone(),
        );
        registry.register(
            "oee_ws_slow_closes",
            "WebSockets closed with 1013 because the client did not read",
            m.slow_closes.clone(),
        );
        registry.register(
            "oee_pubsub_delay_seconds",
            "Time from a status event's timestamp to its arrival at this replica via pub/sub",
            m.pubsub_delay.clone(),
        );
        registry.register(
            "oee_store_unavailable",
            "Requests answered 503 because a store was unavailable",
            m.store_unavailable.clone(),
        );
        registry.register(
            "oee_pool_changes_lost",
            "Landed transactions whose pool changes could not be appended to the pool-change stream",
            m.pool_changes_lost.clone(),
        );
        Self { registry, ..m }
    }

    /// The exposition, with process gauges read now.
    pub fn render(&self) -> String {
        self.process.refresh();
        self.registry.render()
    }

    /// Every sample name `/metrics` can hold, one per metric type's suffix
    /// (`oee-api metrics --list`; see [`MetricRegistry::series_names`]).
    pub fn series_names(&self) -> Vec<String> {
        self.registry.series_names()
    }
}

/// This process's metrics.
pub static METRICS: LazyLock<ApiMetrics> = LazyLock::new(ApiMetrics::new);

/// Counts an open socket of `kind` for as long as it lives.
#[derive(Debug)]
pub struct OpenSocket(&'static str);

impl OpenSocket {
    pub fn new(kind: &'static str) -> Self {
        METRICS.sockets.get_or_create(&KindLabel { kind }).inc();
        Self(kind)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        METRICS.sockets.get_or_create(&KindLabel { kind: self.0 }).dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_list_holds_every_series_the_exposition_writes_once() {
        let m = ApiMetrics::new();
        m.accepted.get_or_create(&ChannelLabel { channel: "http" }).inc();
        m.rejected.get_or_create(&CodeLabel { code: "invalid_amount" }).inc();
        m.requests.get_or_create(&RequestLabels { method: "GET", route: "/health", status: 200 }).inc();
        m.sockets.get_or_create(&KindLabel { kind: "follow" }).inc();
        m.store_unavailable.get_or_create(&StoreLabel { store: "redis" }).inc();
        let names = m.series_names();
        let wrong = oee_runtime::metrics::list_mismatches(&names, &m.render());
        assert!(wrong.is_empty(), "{wrong:?}");
        let unique: BTreeSet<&String> = names.iter().collect();
        for known in
            ["oee_orders_accepted_total", "oee_accept_duration_seconds_bucket", "process_resident_memory_bytes"]
        {
            assert!(unique.contains(&known.to_owned()), "{known} missing: {names:?}");
        }
        assert_eq!(names, METRICS.series_names(), "the process's registry is built the same way");
    }
}
