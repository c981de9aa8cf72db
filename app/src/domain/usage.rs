//! Usage history rules: requests are counted per token and UTC day, kept for
//! `HISTORY_DAYS`, and the token page draws the last `CHART_DAYS` of them as bars.

use super::limits::DAY_SECS;

/// How long daily counts are kept.
pub const HISTORY_DAYS: i64 = 400;
/// How many days the token page's chart shows.
pub const CHART_DAYS: i64 = 90;
/// How many distinct client addresses are kept per token.
pub const RECENT_IPS: usize = 5;

/// The UTC day a moment falls on, as the Unix time of that day's midnight.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY_SECS) * DAY_SECS
}

/// Days before this one (midnight UTC) are pruned at `now`.
pub fn prune_before(now: i64) -> i64 {
    day_of(now) - (HISTORY_DAYS - 1) * DAY_SECS
}

/// The first day the chart shows at `now`; the chart ends with today.
pub fn chart_start(now: i64) -> i64 {
    day_of(now) - (CHART_DAYS - 1) * DAY_SECS
}

/// The chart's numbers: one count per day from `chart_start(now)` to today, the total, and
/// the busiest day (the earliest of equals), from stored `(day, count)` rows in any order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DailySeries {
    /// Midnight UTC of the first day.
    pub start: i64,
    pub counts: Vec<i64>,
}

impl DailySeries {
    pub fn build(rows: &[(i64, i64)], now: i64) -> Self {
        let start = chart_start(now);
        let mut counts = vec![0; CHART_DAYS as usize];
        for &(day, count) in rows {
            let offset = (day_of(day) - start).div_euclid(DAY_SECS);
            if (0..CHART_DAYS).contains(&offset) {
                counts[offset as usize] += count.max(0);
            }
        }
        Self { start, counts }
    }

    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }

    pub fn day(&self, index: usize) -> i64 {
        self.start + index as i64 * DAY_SECS
    }

    /// `(day, count)` of the busiest day, None when nothing was recorded.
    pub fn busiest(&self) -> Option<(i64, i64)> {
        let (mut best, mut at) = (0, None);
        for (i, &c) in self.counts.iter().enumerate() {
            if c > best {
                best = c;
                at = Some(i);
            }
        }
        at.map(|i| (self.day(i), best))
    }

    /// The days with requests, oldest first.
    pub fn nonzero(&self) -> Vec<(i64, i64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (self.day(i), *c))
            .collect()
    }

    /// The sentence that says what the chart shows.
    pub fn summary(&self) -> String {
        let total = self.total();
        let noun = if total == 1 { "request" } else { "requests" };
        match self.busiest() {
            None => format!("No requests in the last {CHART_DAYS} days."),
            Some((day, n)) => format!(
                "{} {noun} in the last {CHART_DAYS} days; busiest day {} with {}.",
                thousands(total),
                super::timefmt::date(day),
                thousands(n)
            ),
        }
    }
}

/// Bar heights for a chart `height` units tall: proportional to the busiest day, and at
/// least one unit for any day with requests so a quiet day is still visible.
pub fn bar_heights(counts: &[i64], height: i64) -> Vec<i64> {
    let max = counts.iter().copied().max().unwrap_or(0);
    if max <= 0 {
        return vec![0; counts.len()];
    }
    counts
        .iter()
        .map(|&c| {
            if c <= 0 {
                0
            } else {
                ((c * height + max / 2) / max).clamp(1, height)
            }
        })
        .collect()
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_764_763_200; // 2025-12-03 12:00:00 UTC

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(day_of(NOON), NOON - 12 * 3600);
        assert_eq!(day_of(NOON - 12 * 3600), NOON - 12 * 3600);
        assert_eq!(day_of(NOON - 12 * 3600 - 1), NOON - 36 * 3600);
        assert_eq!(day_of(-1), -DAY_SECS);
    }

    #[test]
    fn the_window_keeps_400_days_including_today() {
        let today = day_of(NOON);
        let cutoff = prune_before(NOON);
        assert_eq!((today - cutoff) / DAY_SECS + 1, HISTORY_DAYS);
        assert_eq!(chart_start(NOON), today - 89 * DAY_SECS);
    }

    #[test]
    fn the_series_places_counts_on_their_day_and_ignores_the_rest() {
        let today = day_of(NOON);
        let rows = [
            (today, 5),
            (today - DAY_SECS, 7),
            (today - 89 * DAY_SECS, 1),
            (today - 90 * DAY_SECS, 100),
            (today + DAY_SECS, 100),
        ];
        let s = DailySeries::build(&rows, NOON);
        assert_eq!(s.counts.len(), 90);
        assert_eq!(s.counts[89], 5);
        assert_eq!(s.counts[88], 7);
        assert_eq!(s.counts[0], 1);
        assert_eq!(s.total(), 13);
        assert_eq!(s.busiest(), Some((today - DAY_SECS, 7)));
        assert_eq!(s.nonzero().len(), 3);
        assert_eq!(
            s.summary(),
            "13 requests in the last 90 days; busiest day 2025-12-02 with 7."
        );
    }

    #[test]
    fn an_empty_series_says_so() {
        let s = DailySeries::build(&[], NOON);
        assert_eq!(s.total(), 0);
        assert_eq!(s.busiest(), None);
        assert_eq!(s.summary(), "No requests in the last 90 days.");
    }

    #[test]
    fn bars_scale_to_the_busiest_day_and_small_days_stay_visible() {
        assert_eq!(bar_heights(&[0, 0], 100), vec![0, 0]);
        assert_eq!(bar_heights(&[0, 1, 50, 100], 100), vec![0, 1, 50, 100]);
        assert_eq!(bar_heights(&[1, 10_000], 60), vec![1, 60]);
        assert_eq!(bar_heights(&[3, 3], 60), vec![60, 60]);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-1_000), "-1,000");
    }
}
