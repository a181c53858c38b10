//! Overload shedding: while the job stream's lag (jobs no worker has taken yet)
//! is above `OEE_MAX_QUEUE_LAG`, new orders are refused with 503 `OVERLOADED`
//! and `Retry-After`, before anything is stored. Accepted orders then keep a
//! bounded wait instead of joining a backlog that grows without limit;
//! autoscaling on the same lag is how capacity grows meanwhile.
//!
//! The lag is sampled in the background, so a submission costs one atomic read:
//! shedding reacts within [`SAMPLE_EVERY`]. A sample that fails (Redis down)
//! counts as no lag: queueing the order fails on its own then, with 503
//! `UNAVAILABLE`.

use crate::error::ApiError;
use oee_domain::ErrorCode;
use oee_store::JobQueue;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the lag is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Refuses new orders while the queue is too far behind.
#[derive(Debug, Clone)]
pub struct Shedder {
    /// The most lag accepted; 0: never shed.
    limit: u64,
    lag: Arc<AtomicU64>,
}

impl Shedder {
    /// Starts sampling `jobs`' lag until `stop` (not at all with `limit` 0).
    pub fn start(jobs: JobQueue, limit: u64, stop: CancellationToken) -> Self {
        let lag = Arc::new(AtomicU64::new(0));
        if limit > 0 {
            tokio::spawn(sample(jobs, lag.clone(), stop));
        }
        Self { limit, lag }
    }

    /// Fails with `OVERLOADED` while the last lag read is above the limit.
    pub fn check(&self) -> Result<(), ApiError> {
        let lag = self.lag.load(Ordering::Relaxed);
        if self.limit > 0 && lag > self.limit {
            return Err(ApiError::new(
                ErrorCode::Overloaded,
                format!("{lag} orders are waiting for a worker (the limit is {}); retry shortly", self.limit),
            ));
        }
        Ok(())
    }
}

async fn sample(jobs: JobQueue, lag: Arc<AtomicU64>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let now = jobs.lag().await.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "could not read the queue's lag");
            0
        });
        lag.store(now, Ordering::Relaxed);
        tokio::select! {
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
            () = stop.cancelled() => {}
        }
    }
}
