//! Time as FFO reads and writes it: the instants sources send, the points in
//! time people type (`2026-03-01`, an RFC 3339 time, `30d` back from now),
//! and the one way FFO prints an instant. Every computation on a value that
//! came from outside is checked: no input overflows or panics.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Why a time argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error(
        "{what} {value:?} is not a time; use YYYY-MM-DD, an RFC 3339 time (2026-03-01T12:00:00Z), or a span back from now like 30d, 12h, 2w"
    )]
    Unreadable { what: String, value: String },
    #[error(
        "{what} {value:?} is out of range; spans go back at most {max} days and times lie between years 1 and 9999"
    )]
    OutOfRange { what: String, value: String, max: i64 },
}

/// The longest span back from now a person can ask for (about 1,000 years):
/// far beyond any history, far inside chrono's range.
pub const MAX_SPAN_DAYS: i64 = 366_000;

/// The one printed form of an instant: RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses the timestamps sources send: RFC 3339, Jira's `+0000` offsets
/// without a colon and with milliseconds, bare dates, epoch milliseconds.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S %z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    if s.len() >= 12 && s.len() <= 16 && s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis);
    }
    None
}

/// A span back from now as people write it: `30d`, `12h`, `2w`, `3m`
/// (months of 30 days). `None` when `s` is not a span.
fn span(s: &str) -> Option<Result<Duration, ()>> {
    let unit = s.chars().last()?;
    let hours_per_unit: i64 = match unit {
        'h' => 1,
        'd' => 24,
        'w' => 24 * 7,
        'm' => 24 * 30,
        _ => return None,
    };
    let digits = &s[..s.len() - 1];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = match digits.parse() {
        Ok(n) => n,
        Err(_) => return Some(Err(())),
    };
    let hours = match n.checked_mul(hours_per_unit) {
        Some(h) if h <= MAX_SPAN_DAYS * 24 => h,
        _ => return Some(Err(())),
    };
    Some(Duration::try_hours(hours).ok_or(()))
}

/// A point in time a person typed (`since`, `until`, `as_of`): a date, an
/// RFC 3339 time, or a span back from `now`. `what` names the argument in
/// the error.
pub fn parse_point(s: &str, what: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let s = s.trim();
    let out_of_range = || TimeError::OutOfRange { what: what.to_string(), value: s.to_string(), max: MAX_SPAN_DAYS };
    if let Some(span) = span(s) {
        let span = span.map_err(|()| out_of_range())?;
        return now.checked_sub_signed(span).ok_or_else(out_of_range);
    }
    if s.len() <= 64
        && let Some(t) = parse_time(s)
    {
        return Ok(t);
    }
    Err(TimeError::Unreadable { what: what.to_string(), value: s.chars().take(80).collect() })
}

/// Days between two instants, rounded down, never negative.
pub fn days_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> i64 {
    later.signed_duration_since(earlier).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_the_forms_sources_send() {
        let t = |s| parse_time(s).map(rfc3339);
        assert_eq!(t("2026-02-11T14:02:11.000+0000").as_deref(), Some("2026-02-11T14:02:11Z"));
        assert_eq!(t("2011-12-14T10:26:06.030+1300").as_deref(), Some("2011-12-13T21:26:06Z"));
        assert_eq!(t("2019-09-27T16:27:56.612666101Z").as_deref(), Some("2019-09-27T16:27:56Z"));
        assert_eq!(t("2026-03-01").as_deref(), Some("2026-03-01T00:00:00Z"));
        assert_eq!(t("2026-03-01 10:15").as_deref(), Some("2026-03-01T10:15:00Z"));
        assert_eq!(t("1700000000000").as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(t("yesterday"), None);
        assert_eq!(t("99999999999999999999"), None);
    }

    #[test]
    fn spans_back_from_now_are_checked() {
        let now = parse_time("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(rfc3339(parse_point("2d", "since", now).unwrap()), "2026-11-29T00:00:00Z");
        assert_eq!(rfc3339(parse_point("12h", "since", now).unwrap()), "2026-11-30T12:00:00Z");
        assert_eq!(rfc3339(parse_point("2026-01-05", "since", now).unwrap()), "2026-01-05T00:00:00Z");
        for hostile in ["99999999999w", "9223372036854775807d", "-9223372036854775808d", "99999999999999999999999m"] {
            let e = parse_point(hostile, "since", now).unwrap_err();
            assert!(matches!(e, TimeError::OutOfRange { .. } | TimeError::Unreadable { .. }), "{hostile}: {e}");
        }
        assert!(matches!(parse_point("-5d", "since", now), Err(TimeError::Unreadable { .. })));
        assert!(parse_point("tomorrow", "until", now).unwrap_err().to_string().contains("until"));
    }
}
