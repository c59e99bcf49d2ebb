//! Instants as Unix seconds, read from and written as RFC 3339.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const DAY: i64 = 86_400;

/// Parses an RFC 3339 timestamp (`2026-11-29T09:00:00Z`, `2026-12-13T00:00:00.000Z`).
#[must_use]
pub fn parse(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok().map(OffsetDateTime::unix_timestamp)
}

/// `2026-11-29T09:00:00Z`; an instant past the calendar's range (year 9999) reads
/// `far in the future` (or `far in the past`), never a number.
#[must_use]
pub fn format(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(
        || {
            if secs > 0 { "far in the future".to_owned() } else { "far in the past".to_owned() }
        },
    )
}

/// `at` moved by `secs`, saturating at the ends of `i64` rather than wrapping.
#[must_use]
pub fn shift(at: i64, secs: i64) -> i64 {
    at.saturating_add(secs)
}

/// `2026-11-29`.
#[must_use]
pub fn date(secs: i64) -> String {
    format(secs).chars().take(10).collect()
}

/// Days from `from` until `to`, counting a part of a day as a day (`expires in 14 days` until
/// 13 days and a moment are left; 0 once `to` has come, negative after).
#[must_use]
pub fn days_until(from: i64, to: i64) -> i64 {
    // In i128: an absurd instant (a policy's "Before" of i64::MAX / 86,400 days) neither wraps
    // nor panics; the result saturates.
    let days = (i128::from(to) - i128::from(from) + i128::from(DAY) - 1).div_euclid(i128::from(DAY));
    i64::try_from(days).unwrap_or(if days > 0 { i64::MAX } else { i64::MIN })
}

/// The time now, in Unix seconds.
#[must_use]
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_counts_days() {
        let t = parse("2026-11-29T09:00:00Z").unwrap();
        assert_eq!(format(t), "2026-11-29T09:00:00Z");
        assert_eq!(parse("2026-12-13T00:00:00.000Z").map(date).as_deref(), Some("2026-12-13"));
        assert_eq!(days_until(t, t + 14 * DAY - 60), 14);
        assert_eq!(days_until(t, t + 14 * DAY), 14);
        assert_eq!(days_until(t, t + 14 * DAY + 1), 15);
        assert_eq!(days_until(t, t), 0);
        assert_eq!(days_until(t, t - DAY - 1), -1);
        assert_eq!(parse("soon"), None);
    }

    #[test]
    fn absurd_instants_neither_wrap_nor_panic() {
        assert_eq!(days_until(0, i64::MAX), i64::MAX / DAY + 1);
        assert!(days_until(i64::MAX, i64::MIN) < -(i64::MAX / DAY));
        assert_eq!(days_until(i64::MIN, i64::MAX), (i64::MAX / DAY) * 2 + 2);
        assert_eq!(format(i64::MAX), "far in the future");
        assert_eq!(format(i64::MIN), "far in the past");
        assert_eq!(shift(i64::MAX - 1, 10), i64::MAX);
    }
}
