//! Recent activity across every account and replica, from the system of
//! record: orders accepted per time bucket, how many of them have ended and
//! how, and how long they took from acceptance to their terminal status.
//!
//! One range scan of the `orders_created` index over the window, so its cost
//! grows with the orders in the window (an operator's view, polled every few
//! seconds, not a hot path).

use super::OrderStore;
use crate::StoreError;
use chrono::{DateTime, Utc};

/// One bucket of orders by acceptance time.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityBucket {
    /// The bucket's start (inclusive).
    pub start: DateTime<Utc>,
    pub accepted: u64,
    pub confirmed: u64,
    pub failed: u64,
    /// Median and 99th percentile of acceptance → terminal status, over the
    /// bucket's ended orders, in whole milliseconds rounded up; `None` when
    /// none has ended.
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

impl OrderStore {
    /// Orders accepted since `since`, in buckets of `bucket_secs` seconds
    /// (only buckets with orders), oldest first.
    pub async fn activity(&self, since: DateTime<Utc>, bucket_secs: u32) -> Result<Vec<ActivityBucket>, StoreError> {
        const SQL: &str = "
            SELECT to_timestamp(floor(extract(epoch FROM created_at)::float8 / $2::float8) * $2::float8) AS start,
                   count(*) AS accepted,
                   count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   ceil(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at) * 1000)
                       FILTER (WHERE status IN ('confirmed', 'failed')))::bigint AS p50,
                   ceil(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at) * 1000)
                       FILTER (WHERE status IN ('confirmed', 'failed')))::bigint AS p99
            FROM orders WHERE created_at >= $1::timestamptz
            GROUP BY 1 ORDER BY 1";
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(SQL).await?;
        let rows = client.query(&stmt, &[&since, &f64::from(bucket_secs)]).await?;
        let count = |n: i64| n.unsigned_abs();
        Ok(rows
            .iter()
            .map(|row| ActivityBucket {
                start: row.get(0),
                accepted: count(row.get(1)),
                confirmed: count(row.get(2)),
                failed: count(row.get(3)),
                p50_ms: row.get::<_, Option<i64>>(4).map(count),
                p99_ms: row.get::<_, Option<i64>>(5).map(count),
            })
            .collect())
    }
}
