//! How times are shown: relative ("3 days ago"), with the exact UTC time on hover.

use super::limits::{DAY_SECS, EXPIRY_WARNING_DAYS};

pub fn exact(ts: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ts.to_string())
}

pub fn iso(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn date(ts: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// "just now", "5 minutes ago", "in 3 days", "2 years ago".
pub fn relative(ts: i64, now: i64) -> String {
    let delta = ts - now;
    let future = delta > 0;
    let secs = delta.abs();
    if secs < 45 {
        return "just now".into();
    }
    let (n, unit) = if secs < 3600 {
        ((secs + 30) / 60, "minute")
    } else if secs < DAY_SECS {
        ((secs + 1800) / 3600, "hour")
    } else if secs < 60 * DAY_SECS {
        ((secs + DAY_SECS / 2) / DAY_SECS, "day")
    } else if secs < 365 * DAY_SECS {
        ((secs + 15 * DAY_SECS) / (30 * DAY_SECS), "month")
    } else {
        ((secs + 182 * DAY_SECS) / (365 * DAY_SECS), "year")
    };
    let n = n.max(1);
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

/// `Some(days)` when a token expires within the warning period ("expires in N days"),
/// rounding up so that a token expiring in 30 hours reads "in 2 days".
pub fn expires_soon(expires_at: Option<i64>, now: i64) -> Option<i64> {
    let at = expires_at?;
    let left = at - now;
    if left <= 0 || left >= EXPIRY_WARNING_DAYS * DAY_SECS {
        return None;
    }
    Some((left + DAY_SECS - 1) / DAY_SECS)
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_000_000_000;
        assert_eq!(relative(now - 10, now), "just now");
        assert_eq!(relative(now - 60, now), "1 minute ago");
        assert_eq!(relative(now - 5 * 60, now), "5 minutes ago");
        assert_eq!(relative(now - 3 * 3600, now), "3 hours ago");
        assert_eq!(relative(now + 3 * DAY_SECS, now), "in 3 days");
        assert_eq!(relative(now - 400 * DAY_SECS, now), "1 year ago");
        assert_eq!(relative(now - 90 * DAY_SECS, now), "3 months ago");
    }

    #[test]
    fn exact_time_is_utc() {
        assert_eq!(exact(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(date(86_400), "1970-01-02");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn expiry_warning_only_in_the_last_week() {
        let now = 1_000_000_000;
        assert_eq!(expires_soon(None, now), None);
        assert_eq!(expires_soon(Some(now + 30 * 3600), now), Some(2));
        assert_eq!(expires_soon(Some(now + 6 * DAY_SECS), now), Some(6));
        assert_eq!(expires_soon(Some(now + 7 * DAY_SECS), now), None);
        assert_eq!(expires_soon(Some(now - 1), now), None);
    }
}
