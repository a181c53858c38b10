//! `--expires-at` and `--open-at`: a moment, as an RFC 3339 time
//! (`2026-12-01T12:00:00Z`, any offset) or as a delay from now (`+90s`,
//! `+10m`, `+2h`, `+7d`), which the command turns into a time once, when its
//! arguments are read.

use chrono::{DateTime, TimeDelta, Utc};

/// Reads `text` as a time, `now` giving the delays their start.
pub fn parse_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Some(delay) = text.strip_prefix('+') {
        return delay_of(delay).map(|delay| now + delay);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is neither an RFC 3339 time (2026-12-01T12:00:00Z) nor a delay (+10m)"))
}

/// For clap: a time, relative to the moment the arguments are read.
pub fn at(text: &str) -> Result<DateTime<Utc>, String> {
    parse_at(text, Utc::now())
}

/// `90s`, `10m`, `2h`, `7d`.
fn delay_of(text: &str) -> Result<TimeDelta, String> {
    let malformed = || format!("`+{text}` is not a delay: write +90s, +10m, +2h or +7d");
    let unit = text.chars().last().ok_or_else(malformed)?;
    let count: i64 = text[..text.len() - unit.len_utf8()].parse().map_err(|_| malformed())?;
    let delay = match unit {
        's' => TimeDelta::try_seconds(count),
        'm' => TimeDelta::try_minutes(count),
        'h' => TimeDelta::try_hours(count),
        'd' => TimeDelta::try_days(count),
        _ => None,
    };
    delay.filter(|_| count >= 0).ok_or_else(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times with any offset read as UTC; delays count from `now`; anything
    /// else is refused with both forms named.
    #[test]
    fn times_and_delays() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").expect("time").with_timezone(&Utc);
        let at = |text: &str| parse_at(text, now).map(oee_domain::format_time);
        assert_eq!(at("2026-12-01T13:00:00+01:00"), Ok("2026-12-01T12:00:00.000Z".to_owned()));
        assert_eq!(at("+90s"), Ok("2026-11-21T10:01:30.000Z".to_owned()));
        assert_eq!(at("+10m"), Ok("2026-11-21T10:10:00.000Z".to_owned()));
        assert_eq!(at("+2h"), Ok("2026-11-21T12:00:00.000Z".to_owned()));
        assert_eq!(at("+7d"), Ok("2026-11-28T10:00:00.000Z".to_owned()));
        for bad in ["tomorrow", "+", "+10", "+10w", "+-5m", "2026-12-01"] {
            assert!(at(bad).is_err(), "{bad}");
        }
        assert!(at("soon").is_err_and(|e| e.contains("RFC 3339") && e.contains("+10m")));
    }
}
