//! When orders go out, and which of them are followed.
//!
//! The open loop sends order `i` at `start + i / rate` exactly, computed in
//! integers from the start rather than by adding intervals, so the schedule
//! neither drifts nor depends on how late the previous send was. A send that
//! happens late (the generator or its connection pool was busy) keeps its
//! scheduled time as the origin of its latency: that is what avoids coordinated
//! omission, where a stalled server also stalls the measuring and hides the
//! stall from the percentiles.

use std::time::Duration;

/// Parses a non-negative decimal with at most `decimals` fractional digits into
/// an integer scaled by `10^decimals` (`"2.5"` with 3 decimals is 2500).
pub fn parse_fixed(text: &str, decimals: u32) -> Option<u64> {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let places = u32::try_from(fraction.len()).ok().filter(|&n| n <= decimals)?;
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: u64 = if fraction.is_empty() { 0 } else { fraction.parse().ok()? };
    whole.checked_mul(10u64.pow(decimals))?.checked_add(fraction.checked_mul(10u64.pow(decimals - places))?)
}

/// An open-loop rate, held exactly as orders per 1000 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    per_kilosecond: u64,
}

impl Rate {
    /// Orders per second, e.g. `5000` or `0.5` (at most 3 decimals).
    pub fn parse(text: &str) -> Result<Self, String> {
        match parse_fixed(text, 3) {
            Some(per_kilosecond) if per_kilosecond > 0 && per_kilosecond <= 10_000_000_000 => {
                Ok(Self { per_kilosecond })
            }
            _ => Err(format!("{text:?} is not a rate in orders per second (more than 0, at most 3 decimals)")),
        }
    }

    pub fn per_second(self) -> f64 {
        self.per_kilosecond as f64 / 1000.0
    }

    /// When order `index` is due, from the start of the run.
    pub fn offset(self, index: u64) -> Duration {
        let nanos = u128::from(index) * 1_000_000_000_000 / u128::from(self.per_kilosecond);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How many orders fall due before `window` has passed: the `i` with
    /// `offset(i) < window`, i.e. `ceil(window * rate)`.
    pub fn orders_within(self, window: Duration) -> u64 {
        let scaled = window.as_nanos() * u128::from(self.per_kilosecond);
        u64::try_from(scaled.div_ceil(1_000_000_000_000)).unwrap_or(u64::MAX)
    }
}

/// The open loop's schedule: which orders go out, and when.
#[derive(Debug, Clone, Copy)]
pub struct OpenSchedule {
    pub rate: Rate,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
}

impl OpenSchedule {
    /// When order `index` is due, or `None` once the run's bounds are reached.
    pub fn due(&self, index: u64) -> Option<Duration> {
        if self.count.is_some_and(|count| index >= count) {
            return None;
        }
        let at = self.rate.offset(index);
        if self.duration.is_some_and(|d| at >= d) {
            return None;
        }
        Some(at)
    }
}

/// The share of accepted orders that are followed, in parts per million.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowShare {
    ppm: u64,
}

const MILLION: u64 = 1_000_000;

impl FollowShare {
    pub const ALL: Self = Self { ppm: MILLION };
    pub const NONE: Self = Self { ppm: 0 };

    /// `all`, `none`, or a share from 0 to 1 with up to 6 decimals.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(Self::ALL),
            "none" => Ok(Self::NONE),
            share => match parse_fixed(share, 6) {
                Some(ppm) if ppm <= MILLION => Ok(Self { ppm }),
                _ => Err(format!("{text:?} is not all, none, or a share from 0 to 1")),
            },
        }
    }

    pub const fn is_none(self) -> bool {
        self.ppm == 0
    }

    /// Whether order `index` is followed. The sample is spread evenly and is
    /// exact: of any `n` consecutive orders, `n × share` rounded either way.
    pub fn follows(self, index: u64) -> bool {
        let before = u128::from(index) * u128::from(self.ppm) / u128::from(MILLION);
        let after = (u128::from(index) + 1) * u128::from(self.ppm) / u128::from(MILLION);
        after > before
    }
}

impl std::fmt::Display for FollowShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ppm {
            0 => f.write_str("none"),
            MILLION => f.write_str("all"),
            ppm => write!(f, "{}", ppm as f64 / MILLION as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_parsing_is_exact() {
        assert_eq!(parse_fixed("5000", 3), Some(5_000_000));
        assert_eq!(parse_fixed("0.5", 3), Some(500));
        assert_eq!(parse_fixed(".25", 3), Some(250));
        assert_eq!(parse_fixed("1.", 3), Some(1000));
        assert_eq!(parse_fixed("1.2345", 3), None);
        assert_eq!(parse_fixed("-1", 3), None);
        assert_eq!(parse_fixed("1e3", 3), None);
        assert_eq!(parse_fixed(".", 3), None);
        assert_eq!(parse_fixed("", 3), None);
        assert_eq!(parse_fixed("99999999999999999999", 3), None);
    }

    #[test]
    fn rates_must_be_positive() {
        assert!(Rate::parse("0").is_err());
        assert!(Rate::parse("0.000").is_err());
        assert!(Rate::parse("abc").is_err());
        assert_eq!(Rate::parse("0.001").map(Rate::per_second), Ok(0.001));
    }

    #[test]
    fn offsets_are_evenly_spaced_from_the_start() {
        let rate = Rate::parse("200").expect("rate");
        assert_eq!(rate.offset(0), Duration::ZERO);
        assert_eq!(rate.offset(1), Duration::from_millis(5));
        assert_eq!(rate.offset(1999), Duration::from_millis(9995));
        // No drift over many orders, even where 1/rate is not exact.
        let third = Rate::parse("3").expect("rate");
        assert_eq!(third.offset(3), Duration::from_secs(1));
        assert_eq!(third.offset(3_000_000), Duration::from_secs(1_000_000));
        assert_eq!(third.offset(1), Duration::from_nanos(333_333_333));
        let fractional = Rate::parse("0.5").expect("rate");
        assert_eq!(fractional.offset(3), Duration::from_secs(6));
    }

    #[test]
    fn a_window_holds_ceil_of_window_times_rate() {
        let rate = Rate::parse("200").expect("rate");
        assert_eq!(rate.orders_within(Duration::from_secs(10)), 2000);
        assert_eq!(rate.orders_within(Duration::from_millis(10_001)), 2001);
        assert_eq!(rate.orders_within(Duration::ZERO), 0);
        let third = Rate::parse("3").expect("rate");
        assert_eq!(third.orders_within(Duration::from_secs(10)), 30);
        assert_eq!(third.orders_within(Duration::from_millis(10_100)), 31);
    }

    #[test]
    fn the_schedule_stops_at_the_first_bound() {
        let rate = Rate::parse("200").expect("rate");
        let by_time = OpenSchedule { rate, count: None, duration: Some(Duration::from_secs(10)) };
        assert_eq!(by_time.due(1999), Some(Duration::from_millis(9995)));
        assert_eq!(by_time.due(2000), None);
        let by_count = OpenSchedule { rate, count: Some(10), duration: Some(Duration::from_secs(10)) };
        assert!(by_count.due(9).is_some());
        assert_eq!(by_count.due(10), None);
        // The schedule agrees with the count computed up front.
        let sent = (0..).take_while(|&i| by_time.due(i).is_some()).count();
        assert_eq!(sent as u64, rate.orders_within(Duration::from_secs(10)));
    }

    #[test]
    fn the_follow_sample_is_exact_and_spread() {
        assert!((0..1000).all(|i| FollowShare::ALL.follows(i)));
        assert!((0..1000).all(|i| !FollowShare::NONE.follows(i)));
        let tenth = FollowShare::parse("0.1").expect("share");
        assert_eq!((0..1000).filter(|&i| tenth.follows(i)).count(), 100);
        // Evenly spread: exactly one in every block of ten.
        assert!((0..100).all(|block| (block * 10..block * 10 + 10).filter(|&i| tenth.follows(i)).count() == 1));
        let third = FollowShare::parse("0.333333").expect("share");
        assert_eq!((0..3_000_000).filter(|&i| third.follows(i)).count(), 999_999);
        assert!(FollowShare::parse("1.5").is_err());
        assert!(FollowShare::parse("some").is_err());
        assert_eq!(FollowShare::parse("1"), Ok(FollowShare::ALL));
        assert_eq!(FollowShare::parse("ALL").map(|s| s.to_string()), Ok("all".to_owned()));
        assert_eq!(tenth.to_string(), "0.1");
    }
}
