//! The wall clock, as the events' `at` stamps measure it.

use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock in Unix microseconds.
pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
