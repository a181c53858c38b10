//! What an admin key can see and do beyond orders: the job queue
//! (`GET /api/queue/stats`), throughput and latency over the last minutes
//! (`GET /api/activity`), and one outside trade on the simulated market
//! (`POST /api/admin/sim/trades`).

use oee_domain::Dex;
use serde::{Deserialize, Serialize};

/// The job stream's state (`GET /api/queue/stats`): totals over its
/// partitions, each consumer over every partition, and each partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// The stream's key or, with several partitions, the pattern of their keys.
    pub stream: String,
    pub length: u64,
    /// Delivered to a worker, not yet acknowledged.
    pub pending: u64,
    /// Not yet delivered to any worker.
    pub lag: u64,
    pub dead_letters: u64,
    pub consumers: Vec<Consumer>,
    /// Each partition of the stream, in order (an engine older than
    /// partitions sends none).
    #[serde(default)]
    pub partitions: Vec<Partition>,
}

/// One partition of the job stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    /// The partition's key.
    pub stream: String,
    pub length: u64,
    /// Delivered to a worker, not yet acknowledged.
    pub pending: u64,
    /// Not yet delivered to any worker.
    pub lag: u64,
}

/// One worker's consumer of the job stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

/// Throughput and latency over a window, in buckets by acceptance time
/// (`GET /api/activity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub from: String,
    pub to: String,
    pub bucket_seconds: u32,
    pub buckets: Vec<ActivityBucket>,
}

/// The orders accepted in one bucket, and what became of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityBucket {
    pub start: String,
    pub accepted: u64,
    pub confirmed: u64,
    pub failed: u64,
    pub in_flight: u64,
    /// Acceptance → terminal status, over the bucket's ended orders; `None` when none has ended.
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

/// One outside trade to make on a venue's pool (`POST /api/admin/sim/trades`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTradeRequest {
    pub token_in: String,
    pub token_out: String,
    pub venue: Dex,
    /// In token units, exact decimal text.
    pub amount_in: String,
}

/// What an outside trade did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTrade {
    /// The slot it landed in.
    pub slot: u64,
    /// In tokenOut units.
    pub amount_out: String,
    /// tokenOut per tokenIn.
    pub price: String,
}
