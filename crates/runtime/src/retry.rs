//! The retry back-off: how long an order waits before each attempt after its
//! first. One home for the formula, so the worker that waits and the settings
//! check that bounds the longest job agree.
//!
//! Before attempt `n` (from 2) an order waits `base · 2^(n-2)` plus a jitter of
//! up to half that, drawn afresh each time, so orders that failed together do
//! not retry together.

use rand::Rng;
use std::time::Duration;

/// The most attempts an order gets (`OEE_MAX_ATTEMPTS` is at most this).
pub const MAX_ATTEMPTS: u32 = 3;

/// How many times an order is tried and how long it waits in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, `1..=MAX_ATTEMPTS`.
    pub max_attempts: u32,
    /// Back-off before the second attempt; doubles after, plus up to 50% jitter.
    pub base_delay: Duration,
}

impl RetryPolicy {
    /// The wait before `attempt` (2 or later), jitter included.
    pub fn delay_before(&self, attempt: u32) -> Duration {
        let exp = self.exponential(attempt);
        exp + Duration::from_millis(rand::rng().random_range(0..=Self::jitter_ms(exp)))
    }

    /// The longest [`RetryPolicy::delay_before`] can be for `attempt`.
    pub fn longest_delay_before(&self, attempt: u32) -> Duration {
        let exp = self.exponential(attempt);
        exp + Duration::from_millis(Self::jitter_ms(exp))
    }

    /// The longest an order can spend waiting between attempts, over all of them.
    pub fn longest_total_delay(&self) -> Duration {
        (2..=self.max_attempts).map(|a| self.longest_delay_before(a)).sum()
    }

    /// `base · 2^(attempt-2)`, without jitter.
    fn exponential(&self, attempt: u32) -> Duration {
        self.base_delay.saturating_mul(1 << attempt.saturating_sub(2).min(16))
    }

    /// The jitter's upper bound for a back-off of `exp`: half of it, in whole milliseconds.
    fn jitter_ms(exp: Duration) -> u64 {
        u64::try_from(exp.as_millis() / 2).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(250) };

    /// Each retry waits the doubled base plus at most half of it again.
    #[test]
    fn delays_double_with_at_most_half_again_as_jitter() {
        for _ in 0..100 {
            let second = POLICY.delay_before(2);
            assert!((Duration::from_millis(250)..=Duration::from_millis(375)).contains(&second), "{second:?}");
            let third = POLICY.delay_before(3);
            assert!((Duration::from_millis(500)..=Duration::from_millis(750)).contains(&third), "{third:?}");
        }
    }

    /// The longest total wait is the sum of each retry's longest wait.
    #[test]
    fn longest_total_delay_sums_the_retries() {
        assert_eq!(POLICY.longest_total_delay(), Duration::from_millis(375 + 750));
        assert_eq!(RetryPolicy { max_attempts: 1, ..POLICY }.longest_total_delay(), Duration::ZERO);
    }
}
